"""An audit event's own organization index repeats the leading column of the audit indexes: dropped
(one fewer index to write per row; a full-size plan import writes millions at once).

Only the index goes: Django's own operation for the field would also drop and re-add its
foreign key, which checks every existing row again while the table is locked."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_audit_immutable_triggers"),
        ("organizations", "0003_organization_output_done_share"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="organization",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "audit_auditevent_organization_id_4b1fe3b9"',
                    reverse_sql='CREATE INDEX IF NOT EXISTS "audit_auditevent_organization_id_4b1fe3b9" ON "audit_auditevent" ("organization_id")',
                ),
            ],
        ),
    ]

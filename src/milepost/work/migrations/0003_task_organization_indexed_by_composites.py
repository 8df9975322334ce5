"""A task's own organization index repeats the leading column of the task indexes: dropped
(one fewer index to write per row; a full-size plan import writes millions at once).

Only the index goes: Django's own operation for the field would also drop and re-add its
foreign key, which checks every existing row again while the table is locked."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0003_organization_output_done_share"),
        ("work", "0002_task_org_status_id_idx"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="task",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "work_task_organization_id_ed76add0"',
                    reverse_sql='CREATE INDEX IF NOT EXISTS "work_task_organization_id_ed76add0" ON "work_task" ("organization_id")',
                ),
            ],
        ),
    ]

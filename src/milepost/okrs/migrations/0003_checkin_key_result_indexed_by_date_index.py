"""A check-in's own key result index repeats the leading column of checkin_kr_date_idx: dropped
(one fewer index to write per row; a full-size plan import writes millions at once).

Only the index goes: Django's own operation for the field would also drop and re-add its
foreign key, which checks every existing row again while the table is locked."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("okrs", "0002_add_objective_recurring"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="checkin",
                    name="key_result",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="checkins",
                        to="okrs.keyresult",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "okrs_checkin_key_result_id_5d8a6b9f"',
                    reverse_sql='CREATE INDEX IF NOT EXISTS "okrs_checkin_key_result_id_5d8a6b9f" ON "okrs_checkin" ("key_result_id")',
                ),
            ],
        ),
    ]

"""A task's own organization index repeats the leading column of the task indexes: dropped.

One fewer index to write per row (a full-size plan import writes millions at once); see
`milepost.migration_ops.drop_field_index`."""

import django.db.models.deletion
from django.db import migrations, models

from milepost.migration_ops import drop_field_index


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0003_organization_output_done_share"),
        ("work", "0002_task_org_status_id_idx"),
    ]

    operations = [
        drop_field_index(
            model_name="task",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="organizations.organization",
            ),
            table="work_task",
            index="work_task_organization_id_ed76add0",
        ),
    ]

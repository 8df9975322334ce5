"""A check-in's own key result index repeats the leading column of checkin_kr_date_idx: dropped.

One fewer index to write per row (a full-size plan import writes millions at once); see
`milepost.migration_ops.drop_field_index`."""

import django.db.models.deletion
from django.db import migrations, models

from milepost.migration_ops import drop_field_index


class Migration(migrations.Migration):
    dependencies = [("okrs", "0002_add_objective_recurring")]

    operations = [
        drop_field_index(
            model_name="checkin",
            name="key_result",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="checkins",
                to="okrs.keyresult",
            ),
            table="okrs_checkin",
            index="okrs_checkin_key_result_id_5d8a6b9f",
        ),
    ]

"""An audit event's own organization index repeats the leading column of the audit indexes: dropped.

One fewer index to write per row (a full-size plan import writes millions at once); see
`milepost.migration_ops.drop_field_index`."""

import django.db.models.deletion
from django.db import migrations, models

from milepost.migration_ops import drop_field_index


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_audit_immutable_triggers"),
        ("organizations", "0003_organization_output_done_share"),
    ]

    operations = [
        drop_field_index(
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
            table="audit_auditevent",
            index="audit_auditevent_organization_id_4b1fe3b9",
        ),
    ]

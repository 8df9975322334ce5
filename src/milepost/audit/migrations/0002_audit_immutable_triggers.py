"""Database triggers that refuse UPDATE and DELETE of audit events (see
milepost.audit.immutability). PostgreSQL and SQLite; other databases rely on the ORM guard."""

from django.db import migrations


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(statement, params=None)

    return run


def forward(apps, schema_editor):
    from milepost.audit.immutability import FORWARD

    _run(FORWARD)(apps, schema_editor)


def backward(apps, schema_editor):
    from milepost.audit.immutability import BACKWARD

    _run(BACKWARD)(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]

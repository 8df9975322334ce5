"""Migration operations Milepost's migrations share."""

from __future__ import annotations

from django.db import migrations, models


def drop_field_index(
    *, model_name: str, name: str, field: models.Field[object, object], table: str, index: str
) -> migrations.SeparateDatabaseAndState:
    """A field stops carrying an index of its own (``field`` is its new declaration, with
    ``db_index=False``) where a composite index leading with its column serves its lookups:
    fewer indexes to write per row.

    Only the index is dropped (by the name Django gave it, the same on SQLite and PostgreSQL).
    Django's own `AlterField` would also drop and re-add a foreign key's constraint, which
    checks every existing row again while the table is locked. Reversible."""
    named = field.clone()
    named.set_attributes_from_name(name)  # its column, as the model gives it
    column = named.column
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{index}"',
                reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
            )
        ],
    )

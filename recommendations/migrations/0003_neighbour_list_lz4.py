"""Neighbour lists compressed with LZ4 on PostgreSQL: each row holds about 3 kB of JSON, and
the default pglz compression doubled the time of storing a million of them (measured: COPY of
20,000 lists 1.27 s with pglz, 0.69 s with lz4, same size). Other databases, and PostgreSQL
servers built without LZ4, keep their default."""

from django.db import migrations

COLUMNS = ("neighbours", "distances")


def _has_lz4(cursor) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
    )
    return cursor.fetchone() is not None


def use_lz4(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("recommendations", "NeighbourList")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        if _has_lz4(cursor):
            for column in COLUMNS:
                cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION lz4')


def use_default(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("recommendations", "NeighbourList")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        if _has_lz4(cursor):
            for column in COLUMNS:
                cursor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION DEFAULT')


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0002_neighbour_list")]

    operations = [migrations.RunPython(use_lz4, use_default)]

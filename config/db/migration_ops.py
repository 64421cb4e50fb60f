"""Migration operations shared by the apps' migrations."""

from django.db import migrations


def postgres_only_sql(create: str, drop: str) -> migrations.RunPython:
    """Run `create` forwards and `drop` backwards, on PostgreSQL only.

    For what SQLite has no counterpart of (a trigger that NOTIFYs): there the
    operation does nothing, and the code around it polls instead.
    """

    def run(sql: str):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)

        return apply

    return migrations.RunPython(run(create), run(drop))

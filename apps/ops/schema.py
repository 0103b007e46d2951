"""Dropping and re-creating single-column indexes in a migration without rebuilding the table.

Django's AlterField of `db_index` on SQLite copies the whole table (minutes at millions of rows,
and the copy loses the table's triggers), so the migrations that stop indexing a column
(catalog 0011, 0012) change the state with AlterField and the database with these: a DROP INDEX
per column, the index found by introspection whatever it was named (both databases; on
PostgreSQL a text column's `_like` index too), and, to undo it, a plain CREATE INDEX."""


def single_column_indexes_drop(schema_editor, table: str, columns: list[str]) -> None:
    """Drop every non-unique index of `table` on one of `columns` alone."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    for name, info in found.items():
        if (info["index"] and not info["unique"] and not info["primary_key"]
                and len(info["columns"]) == 1 and info["columns"][0] in columns):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def single_column_indexes_create(schema_editor, table: str, columns: list[str]) -> None:
    """The reverse: one index per column, named as Django names a field's index."""
    for column in columns:
        schema_editor.execute(f"CREATE INDEX {schema_editor.quote_name(f'{table}_{column}_idx')} "
                              f"ON {schema_editor.quote_name(table)} ({schema_editor.quote_name(column)})")

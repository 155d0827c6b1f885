"""What makes a DuckDB file an nblabel project, and what nblabel refuses to run from one.

A project file is data, but DuckDB stores code in it too: views and macros are SQL that runs when a
query names them, and a macro in the file shadows a built-in function of the same name. So, on open:

* a file with no tables and no views becomes a new project; a database that has tables but no
  ``meta`` table with a ``format_version`` row (the marker every project gets at creation) is
  refused, not written into;
* every table nblabel reads must be a table (not a view someone put in its place);
* a file that defines macros (nblabel never writes any) is refused;
* nblabel's views are dropped and created again from :data:`._ddl.VIEWS`; a read-only file cannot
  be changed, so temporary views of the same name (found first) hide the file's.

Example:
    >>> import duckdb
    >>> con = duckdb.connect(":memory:")
    >>> is_empty(con)
    True
"""

from __future__ import annotations

import os
from typing import Any

import duckdb

from ..errors import ProjectFileError
from ._ddl import TABLES, VIEWS
from ._file_errors import not_a_project

__all__ = ["check_marker", "check_objects", "is_empty", "recreate_views", "shadow_views"]


def _names(con: Any, sql: str) -> list[str]:
    return sorted(str(r[0]) for r in con.execute(sql).fetchall())


def _tables(con: Any) -> list[str]:
    return _names(con, "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                       "AND schema_name = 'main' AND NOT temporary")


def _views(con: Any) -> dict[str, str]:
    return {str(n): str(s) for n, s in con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE database_name = current_database() "
        "AND NOT internal AND NOT temporary").fetchall()}


def is_empty(con: Any) -> bool:
    """Whether the attached database holds no tables and no views (a new file: a project is created in it)."""
    return not _tables(con) and not _views(con)


def check_marker(con: Any, path: str | os.PathLike[str] | None) -> None:
    """Refuse a non-empty database that is not an nblabel project (no ``meta`` table with ``format_version``).

    Example:
        >>> import duckdb
        >>> con = duckdb.connect(":memory:"); _ = con.execute("CREATE TABLE media (a INT)")
        >>> check_marker(con, "other.duckdb")
        Traceback (most recent call last):
        nblabel.errors.ProjectFileError: 'other.duckdb' is not an nblabel project: it has the table 'media' ...
    """
    tables = _tables(con)
    shown = ", ".join(repr(t) for t in tables[:5]) + (f" (and {len(tables) - 5} more)" if len(tables) > 5 else "")
    where = ":memory:" if path is None else path
    if "meta" not in tables:
        what = f"the table{'s' if len(tables) > 1 else ''} {shown}" if tables else "views only"
        raise not_a_project(where, f"it has {what} but no nblabel 'meta' table")
    cols = set(_names(con, "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
                           "AND schema_name = 'main' AND table_name = 'meta'"))
    marked = cols >= {"key", "value"} and con.execute(
        "SELECT count(*) FROM meta WHERE key = 'format_version'").fetchall()[0][0] > 0
    if not marked:
        raise not_a_project(where, "its 'meta' table has no 'format_version' row (another program's table)")


def check_objects(con: Any, path: str | os.PathLike[str] | None) -> None:
    """Refuse a project file whose tables were replaced or which defines SQL functions (macros).

    Example:
        >>> from nblabel.store import Store
        >>> with Store(":memory:").read() as con:
        ...     check_objects(con, None)
    """
    shown = ":memory:" if path is None else str(path)
    missing = sorted(set(TABLES) - set(_tables(con)))
    clash = sorted(set(VIEWS) & set(_tables(con)))
    if missing or clash:
        missing += [f"{n} (a table where nblabel's view belongs)" for n in clash]
        raise ProjectFileError(
            f"project file {shown!r} lacks the table(s) {missing} (or they were replaced by views): it was "
            "edited outside nblabel; restore it from a backup or the copy it came from")
    macros = _names(con, "SELECT DISTINCT function_name FROM duckdb_functions() WHERE database_name = "
                         "current_database() AND NOT internal")
    if macros:
        raise ProjectFileError(
            f"project file {shown!r} defines the SQL function(s) {macros}, which nblabel never writes: it was "
            "edited outside nblabel, and a function stored in a file would run inside nblabel's queries. "
            "nblabel does not run code from a project file: if you trust it, remove them with DuckDB "
            "(DROP MACRO name), else restore the file from the copy it came from")


def recreate_views(con: Any) -> None:
    """Drop nblabel's views in the project file and create them again from code (a writable open).

    Example:
        >>> from nblabel.store import Store
        >>> with Store(":memory:").transaction() as con:
        ...     recreate_views(con)
    """
    for name, query in VIEWS.items():  # code-owned names and queries
        con.execute(f"DROP VIEW IF EXISTS {name}")
        con.execute(f"CREATE VIEW {name} AS {query}")


def shadow_views(con: Any, *, strict: bool = True) -> None:
    """Define nblabel's views as temporary views of this connection, which hide the file's own.

    A read-only file cannot have its views replaced; a temporary view of the same name is found
    first, so its queries run the code's view whatever the file says. Runs after each attach
    (``strict=False``: a file that is no project yet is left to the open checks to refuse) and once
    more, strictly, when the open checks have passed.

    Example:
        >>> import duckdb
        >>> con = duckdb.connect(":memory:")
        >>> _ = con.execute("CREATE TABLE instances (instance_id INT, superseded_at INT, deleted BOOL)")
        >>> shadow_views(con); con.execute("SELECT count(*) FROM current_instances").fetchall()
        [(0,)]
    """
    for name, query in VIEWS.items():
        try:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {query}")
        except (duckdb.CatalogException, duckdb.BinderException):
            if strict:
                raise

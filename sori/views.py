"""The analytics views (``glue/views/*.sql``): one SQL file per view, created in Athena and in local DuckDB.

Each file holds one ``SELECT`` over the lake tables (``sori.records.TABLES``) or other views, written in the
common subset of Trino (Athena engine v3) and DuckDB SQL, so the cloud and the laptop run the same text. The
file's leading ``--`` comment is the view's description. The only templating is ``{{countries}}``: it expands
to a ``VALUES`` list built from ``sori/data/charts.csv`` (the one list of charts, with each country's
hemisphere), so the chart list is never copied into SQL by hand.

>>> views = load_views()
>>> names = [v.name for v in views]
>>> names.index("chart_countries") < names.index("chart_tracks") < names.index("chart_audio_profile")
True
>>> by_name(views)["chart_audio_profile"].depends
('chart_tracks',)
>>> print(create_view_sql(by_name(views)["seasonal_trend"]).splitlines()[0])
CREATE OR REPLACE VIEW seasonal_trend AS

Locally::

    con = duckdb.connect()              # with the lake tables registered (sori.duck.LakeDuck does that)
    install_duckdb(con)                 # every view, in dependency order
    con.sql("SELECT * FROM chart_audio_profile").df()

In the cloud (``sori views deploy``)::

    deploy_athena(settings=get_settings())  # CREATE OR REPLACE VIEW … in the Glue database, one by one

Stdlib only at import time (awswrangler is imported lazily by :func:`deploy_athena`).
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sori.records import TABLES, glue_columns

#: Where the SQL files live (``glue/views`` beside the package; ``SORI_VIEWS_DIR`` overrides).
VIEWS_DIR = Path(os.environ.get("SORI_VIEWS_DIR") or Path(__file__).resolve().parents[1] / "glue" / "views")

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")
_STRING_OR_COMMENT = re.compile(r"('(?:[^']|'')*')|--[^\n]*")


class ViewError(ValueError):
    """A view file that cannot be used (bad name, unknown placeholder, dependency cycle)."""


@dataclass(frozen=True)
class View:
    """One analytics view: ``name`` (the file stem), rendered ``sql`` (a SELECT), ``description``, ``depends``
    (other views it reads, in file order) and ``tables`` (lake tables it reads)."""

    name: str
    sql: str
    description: str
    depends: tuple[str, ...]
    tables: tuple[str, ...]
    path: Path | None = None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def countries_values() -> str:
    """The ``{{countries}}`` expansion: ``(chart_id, country, name, hemisphere)`` rows from ``charts.csv``.

    >>> countries_values().splitlines()[0]
    "('regional-global-weekly', 'global', 'Global', 'global'),"
    """
    from sori.charts import load_charts

    rows = [f"({_quote(c.chart_id)}, {_quote(c.country)}, {_quote(c.name)}, {_quote(c.hemisphere)})"
            for c in load_charts().values()]
    return ",\n         ".join(rows)


_EXPANSIONS: dict[str, Callable[[], str]] = {"countries": countries_values}


def render(sql: str) -> str:
    """Expand ``{{name}}`` placeholders; an unknown one is an error, never left in the SQL."""

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in _EXPANSIONS:
            raise ViewError(f"unknown placeholder {{{{{m.group(1)}}}}} (known: {', '.join(_EXPANSIONS)})")
        return _EXPANSIONS[m.group(1)]()

    return _PLACEHOLDER.sub(sub, sql)


def _description(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    desc = " ".join(lines)
    return desc.split(":", 1)[1].strip() if ":" in desc.split(" ", 1)[0] else desc


def strip_comments(sql: str) -> str:
    """The SQL without ``--`` comments (string literals untouched) and without blank lines."""
    text = _STRING_OR_COMMENT.sub(lambda m: m.group(1) or "", sql)
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def _identifiers(sql: str) -> list[str]:
    """Identifiers in order of first use, ignoring comments and string literals."""
    body = _STRING.sub("''", _COMMENT.sub("", sql))
    seen: dict[str, None] = {}
    for m in _IDENT.finditer(body):
        seen.setdefault(m.group(0).lower(), None)
    return list(seen)


def load_views(directory: str | os.PathLike[str] | None = None) -> list[View]:
    """Every ``*.sql`` view in ``directory`` (default :data:`VIEWS_DIR`), rendered, in dependency order."""
    directory = Path(directory or VIEWS_DIR)
    files = sorted(directory.glob("*.sql"))
    if not files:
        raise ViewError(f"no view files in {directory}")
    raw = {}
    for f in files:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", f.stem) or f.stem in TABLES:
            raise ViewError(f"{f.name}: a view name must be lower_snake_case and not a lake table name")
        raw[f.stem] = f.read_text(encoding="utf-8")
    views = {}
    for name, text in raw.items():
        idents = _identifiers(text)
        views[name] = View(
            name=name, sql=render(strip_comments(text)).strip().rstrip(";").strip(), description=_description(text),
            depends=tuple(i for i in idents if i in raw and i != name),
            tables=tuple(i for i in idents if i in TABLES), path=directory / f"{name}.sql")
    return _topo_sort(views)


def _topo_sort(views: dict[str, View]) -> list[View]:
    order: list[View] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ViewError("view dependency cycle: " + " -> ".join((*path, name)))
        state[name] = 1
        for dep in views[name].depends:
            visit(dep, (*path, name))
        state[name] = 2
        order.append(views[name])

    for name in views:
        visit(name, ())
    return order


def by_name(views: Iterable[View]) -> dict[str, View]:
    return {v.name: v for v in views}


def select(views: Sequence[View], names: Iterable[str] | None) -> list[View]:
    """``names`` and everything they depend on, in dependency order (all views when ``names`` is None)."""
    if names is None:
        return list(views)
    index = by_name(views)
    wanted: set[str] = set()

    def add(n: str) -> None:
        if n not in index:
            raise ViewError(f"unknown view {n!r} (known: {', '.join(index)})")
        if n not in wanted:
            wanted.add(n)
            for d in index[n].depends:
                add(d)

    for n in names:
        add(n)
    return [v for v in views if v.name in wanted]


def create_view_sql(view: View, database: str | None = None) -> str:
    """``CREATE OR REPLACE VIEW [database.]name AS <select>`` (the same statement for Athena and DuckDB)."""
    target = f"{database}.{view.name}" if database else view.name
    return f"CREATE OR REPLACE VIEW {target} AS\n{view.sql}"


# ---------------------------------------------------------------------------------------------- DuckDB (local)

_DUCK_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN",
               "array<string>": "VARCHAR[]"}


def duckdb_table_ddl(table: str, name: str | None = None) -> str:
    """An empty DuckDB table with a lake table's Glue schema (columns + partition ``dt``), for schema checks.

    >>> duckdb_table_ddl("plays").split("(")[0]
    'CREATE TABLE plays '
    """
    cols = [f'"{c["Name"]}" {_DUCK_TYPES[c["Type"]]}' for c in glue_columns(table)] + ['"dt" VARCHAR']
    return f"CREATE TABLE {name or table} ({', '.join(cols)})"


def install_duckdb(con: Any, views: Sequence[View] | None = None) -> list[str]:
    """Create (or replace) every view on a DuckDB connection whose lake tables are registered; returns names."""
    views = load_views() if views is None else views
    for v in views:
        con.execute(create_view_sql(v))
    return [v.name for v in views]


def empty_lake_duckdb(views: Sequence[View] | None = None) -> Any:
    """An in-memory DuckDB with empty lake tables and every view: the views' output schemas, no data needed."""
    import duckdb

    con = duckdb.connect()
    for table in TABLES:
        con.execute(duckdb_table_ddl(table))
    install_duckdb(con, views)
    return con


def view_schema(con: Any, name: str) -> list[tuple[str, str]]:
    """``[(column, DuckDB type)]`` of a view on a DuckDB connection."""
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {name}").fetchall()]


# ---------------------------------------------------------------------------------------------- Athena (cloud)

def deploy_athena(views: Sequence[View] | None = None, *, settings: Any = None, database: str | None = None,
                  workgroup: str | None = None, boto3_session: Any = None) -> list[str]:
    """Run ``CREATE OR REPLACE VIEW`` for each view in Athena, in dependency order, waiting for each.

    Views are created in the Glue database (``settings.glue_database``) through the workgroup
    (``settings.athena_workgroup``), whose result location the template sets. Returns the query execution ids;
    a failed statement raises (awswrangler's ``QueryFailed``) and stops before its dependants.
    """
    import awswrangler as wr

    if settings is None:
        from sori.settings import get_settings

        settings = get_settings()
    database = database or settings.glue_database
    workgroup = workgroup or settings.athena_workgroup
    views = load_views() if views is None else views
    ids = []
    for v in views:
        res = wr.athena.start_query_execution(sql=create_view_sql(v), database=database, workgroup=workgroup,
                                              wait=True, boto3_session=boto3_session)
        ids.append(res["QueryExecutionId"])
    return ids


# ---------------------------------------------------------------------------------------------- portability

#: Functions documented with the same meaning in Trino (Athena engine v3) and DuckDB. A view may call only
#: these (``CAST``/``EXTRACT``/``UNNEST`` are syntax in both). Extend deliberately, after checking both manuals.
COMMON_FUNCTIONS = frozenset({
    "avg", "cardinality", "cast", "coalesce", "count", "count_if", "date_trunc", "dense_rank", "extract",
    "greatest", "least", "lower", "max", "min", "nullif", "rank", "round", "row_number", "stddev_samp", "substr",
    "sum", "unnest", "upper", "abs", "sqrt", "ln", "power", "length", "trim", "replace", "strpos",
})

#: Constructs one engine has and the other lacks (or reads differently), with what to write instead.
_NOT_PORTABLE = [
    (re.compile(r"::"), "`::` casts are not Trino: use CAST(x AS type)"),
    (re.compile(r"\bQUALIFY\b", re.I), "QUALIFY is DuckDB-only: filter a ROW_NUMBER() in an outer query"),
    (re.compile(r"\bILIKE\b", re.I), "ILIKE is DuckDB-only: use lower(x) LIKE …"),
    (re.compile(r"\*\s*(EXCLUDE|REPLACE)\b", re.I), "SELECT * EXCLUDE/REPLACE is DuckDB-only: list the columns"),
    (re.compile(r"\b(GROUP|ORDER)\s+BY\s+ALL\b", re.I), "GROUP/ORDER BY ALL is DuckDB-only: name the columns"),
    (re.compile(r"//"), "`//` integer division is DuckDB-only: CAST to DOUBLE and divide"),
    (re.compile(r"\*\*"), "`**` is DuckDB-only: use power(x, y)"),
    (re.compile(r"\{"), "struct/map literals differ between the engines"),
    (re.compile(r"\bFROM\s+'", re.I), "reading files in FROM is DuckDB-only: read lake tables"),
    (re.compile(r"\bSELECT\s+FROM\b|^\s*FROM\b", re.I), "FROM-first / empty SELECT is DuckDB-only"),
    (re.compile(r"\bUSING\s+SAMPLE\b|\bTABLESAMPLE\b", re.I), "sampling syntax differs between the engines"),
]


def functions_called(sql: str) -> list[str]:
    """Lower-cased names written as calls (``name(`` with no space; alias column lists take a space)."""
    body = _STRING.sub("''", strip_comments(sql))
    return sorted({m.group(1).lower() for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)\(", body)})


def portability_problems(sql: str) -> list[str]:
    """Reasons a view's SQL may not run the same on Trino and DuckDB (empty when none is found).

    >>> portability_problems("SELECT x::int FROM t QUALIFY row_number() OVER () = 1")[:1]
    ['`::` casts are not Trino: use CAST(x AS type)']
    >>> portability_problems("SELECT list_sort(a) FROM t")
    ['list_sort() is not in COMMON_FUNCTIONS (a function both Trino and DuckDB document)']
    """
    body = _STRING.sub("''", strip_comments(sql))
    problems = [why for rx, why in _NOT_PORTABLE if rx.search(body)]
    problems += [f"{fn}() is not in COMMON_FUNCTIONS (a function both Trino and DuckDB document)"
                 for fn in functions_called(sql) if fn not in COMMON_FUNCTIONS]
    return problems

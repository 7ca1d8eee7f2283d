"""Query engine port: the same SQL text over the lake on Athena (cloud) or DuckDB (local).

Each query is one file, ``sori/queries/<name>.sql``, written in the common subset of Trino and DuckDB SQL with
positional ``?`` parameters (Athena execution parameters server-side; DuckDB prepared parameters locally). Its
header comment names the parameters in order. Queries take the partition bounds as parameters, so both engines
prune to the ``dt`` partitions they need.

>>> from sori.query import engine_for, run_query
>>> engine = engine_for()                                       # doctest: +SKIP
>>> df = run_query(engine, "collection_members", since="2026-08-24", until="2026-11-22")  # doctest: +SKIP

``run_query`` returns a pandas DataFrame on both engines. pandas/awswrangler/duckdb are imported lazily: this
module is safe to import anywhere, but only the related builder and the CLI call it.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sori._types import BotoSession
from sori.settings import Settings, get_settings

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

QUERIES_DIR = Path(__file__).with_name("queries")
_PARAMS_RE = re.compile(r"^--\s*params:\s*(.*)$", re.MULTILINE)


class QueryEngine(Protocol):
    """Runs one SQL text with positional ``?`` parameters and returns a DataFrame."""

    name: str

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame: ...


@cache
def load_sql(name: str) -> str:
    """The text of ``sori/queries/<name>.sql``."""
    path = QUERIES_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no query named {name!r} in {QUERIES_DIR}")
    return path.read_text(encoding="utf-8")


def param_names(sql: str) -> list[str]:
    """The parameter names declared in the query's ``-- params: a, b, a`` header (in ``?`` order).

    >>> param_names("-- params: since, until\\nSELECT 1 WHERE dt >= ? AND dt <= ?")
    ['since', 'until']
    """
    m = _PARAMS_RE.search(sql)
    names = [p.strip() for p in m.group(1).split(",") if p.strip()] if m else []
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    if body.count("?") != len(names):
        raise ValueError(f"query declares {len(names)} params but has {body.count('?')} placeholders")
    return names


def run_query(engine: QueryEngine, name: str, **params: Any) -> pd.DataFrame:
    """Run the named query, binding its declared parameters by name."""
    sql = load_sql(name)
    missing = [p for p in param_names(sql) if p not in params]
    if missing:
        raise TypeError(f"query {name!r} needs parameters {missing}")
    return engine.query(sql, [params[p] for p in param_names(sql)])


def window(days: int, until: _dt.date | None = None) -> dict[str, str]:
    """``{"since", "until"}`` partition bounds (inclusive, ``YYYY-MM-DD``) for the last ``days`` days.

    >>> window(7, _dt.date(2026, 11, 22))
    {'since': '2026-11-16', 'until': '2026-11-22'}
    """
    until = until or _dt.datetime.now(_dt.UTC).date()
    return {"since": (until - _dt.timedelta(days=max(days, 1) - 1)).isoformat(), "until": until.isoformat()}


def athena_literal(value: Any) -> str:
    """A Python value as an Athena execution-parameter literal (Athena substitutes the text as SQL).

    >>> athena_literal("2026-11-22"), athena_literal(10), athena_literal("it's")
    ("'2026-11-22'", '10', "'it''s'")
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        value = value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"unsupported query parameter type {type(value).__name__}")


class AthenaEngine:
    """Athena through awswrangler: database and workgroup from settings, parameters server-side (qmark)."""

    name = "athena"

    def __init__(self, settings: Settings | None = None, boto3_session: BotoSession = None) -> None:
        self.settings = settings or get_settings()
        self.boto3_session = boto3_session

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        import awswrangler as wr

        return wr.athena.read_sql_query(
            sql, database=self.settings.glue_database, workgroup=self.settings.athena_workgroup,
            params=[athena_literal(p) for p in params] or None, paramstyle="qmark",
            ctas_approach=False,  # execution parameters are not carried into a CTAS wrapper
            boto3_session=self.boto3_session)


class DuckEngine:
    """DuckDB over the lake. ``source`` is ``sori.duck.LakeDuck`` (default: built from settings), anything with
    ``query(sql, params) -> pyarrow.Table``, or a ``duckdb`` connection whose views carry the lake tables."""

    name = "duckdb"

    def __init__(self, source: Any = None, settings: Settings | None = None, **lake_options: Any):
        if source is None:
            from sori.duck import LakeDuck

            # dt_from/dt_to (the query window) keep the listing and reading to the partitions needed
            source = LakeDuck(settings or get_settings(), **{"dedup": True, **lake_options})
        self.source = source

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        params = [p.isoformat() if isinstance(p, (_dt.date, _dt.datetime)) else p for p in params]
        if hasattr(self.source, "execute"):  # a duckdb connection
            return self.source.execute(sql, list(params)).df()
        result = self.source.query(sql, list(params) or None)
        return result.to_pandas() if hasattr(result, "to_pandas") else result


def engine_for(settings: Settings | None = None, **lake_options: Any) -> QueryEngine:
    """The engine the settings pick (``SORI_QUERY_ENGINE``: ``athena`` | ``duckdb``); ``lake_options`` go to
    ``sori.duck.LakeDuck`` (e.g. ``dt_from``, ``dt_to``, ``tables``) and are ignored by Athena, which prunes
    partitions from the SQL's own ``dt`` predicates."""
    settings = settings or get_settings()
    if settings.query_engine == "athena":
        return AthenaEngine(settings)
    if settings.query_engine == "duckdb":
        return DuckEngine(settings=settings, **lake_options)
    raise ValueError(f"unknown query engine {settings.query_engine!r} (athena | duckdb)")


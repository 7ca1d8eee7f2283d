"""The view files: loading, rendering, dependency order, and SQL kept to the common Trino/DuckDB subset."""
from __future__ import annotations

import pytest

from sori import views as V
from sori.charts import load_charts

EXPECTED = {"chart_countries", "track_features", "chart_tracks", "chart_audio_profile", "chart_feature_scores",
            "seasonal_trend", "persistent_artists", "artist_feature_profile", "listening_summary"}


@pytest.fixture(scope="module")
def views():
    return V.load_views()


def test_every_view_loads_with_a_description(views):
    assert {v.name for v in views} == EXPECTED
    for v in views:
        assert len(v.description) > 40, v.name
        assert v.sql.lstrip().upper().startswith(("SELECT", "WITH")), v.name
        assert "{{" not in v.sql and "--" not in v.sql


def test_dependencies_come_first(views):
    seen: set[str] = set()
    for v in views:
        assert set(v.depends) <= seen, (v.name, v.depends)
        seen.add(v.name)
    idx = V.by_name(views)
    assert idx["chart_tracks"].depends == ("chart_countries", "track_features")
    assert idx["chart_tracks"].tables == ("chart_entries",)
    assert set(idx["artist_feature_profile"].tables) == {"top_tracks", "artists"}


def test_select_pulls_in_dependencies(views):
    names = [v.name for v in V.select(views, ["seasonal_trend"])]
    assert names.index("chart_countries") < names.index("chart_tracks") < names.index("seasonal_trend")
    assert "persistent_artists" not in names
    with pytest.raises(V.ViewError, match="unknown view"):
        V.select(views, ["nope"])


def test_countries_expand_from_charts_csv(views):
    sql = V.by_name(views)["chart_countries"].sql
    charts = load_charts()
    assert sql.count("('regional-") == len(charts) == 62
    for c in charts.values():
        assert f"('{c.chart_id}', '{c.country}', '{c.name.replace(chr(39), chr(39) * 2)}', '{c.hemisphere}')" in sql


def test_quotes_in_names_are_escaped():
    assert V._quote("Côte d'Ivoire") == "'Côte d''Ivoire'"


def test_unknown_placeholder_and_cycles_are_errors(tmp_path):
    (tmp_path / "a.sql").write_text("SELECT * FROM {{nope}}")
    with pytest.raises(V.ViewError, match="unknown placeholder"):
        V.load_views(tmp_path)
    (tmp_path / "a.sql").write_text("-- a: x\nSELECT * FROM b")
    (tmp_path / "b.sql").write_text("-- b: y\nSELECT * FROM a")
    with pytest.raises(V.ViewError, match="cycle"):
        V.load_views(tmp_path)
    (tmp_path / "a.sql").unlink()
    (tmp_path / "b.sql").unlink()
    (tmp_path / "plays.sql").write_text("SELECT 1")
    with pytest.raises(V.ViewError, match="lake table"):
        V.load_views(tmp_path)


def test_create_statement(views):
    v = V.by_name(views)["seasonal_trend"]
    assert V.create_view_sql(v, "sori").startswith("CREATE OR REPLACE VIEW sori.seasonal_trend AS\nSELECT")


def test_views_use_only_the_common_sql_subset(views):
    for v in views:
        assert V.portability_problems(v.sql) == [], v.name


@pytest.mark.parametrize("sql, needle", [
    ("SELECT x::int FROM t", "::"),
    ("SELECT * FROM t QUALIFY row_number() OVER () = 1", "QUALIFY"),
    ("SELECT * EXCLUDE (a) FROM t", "EXCLUDE"),
    ("SELECT a // b FROM t", "//"),
    ("SELECT list_sort(a) FROM t", "list_sort"),
    ("SELECT strftime(d, '%Y') FROM t", "strftime"),
    ("SELECT a FROM t GROUP BY ALL", "GROUP/ORDER BY ALL"),
    ("SELECT * FROM 'lake/*.parquet'", "reading files"),
])
def test_portability_lint_catches_duckdb_only_sql(sql, needle):
    assert any(needle in p for p in V.portability_problems(sql))


def test_comments_and_strings_do_not_confuse_the_lint():
    sql = "-- list_sort(x) in a comment\nSELECT 'a::b // QUALIFY' AS s, count(*) FROM t"
    assert V.portability_problems(sql) == []
    assert V.functions_called(sql) == ["count"]


def test_views_parse_as_trino_sql(views):
    """A second opinion from sqlglot's Trino grammar (a dev dependency)."""
    sqlglot = pytest.importorskip("sqlglot", reason="sqlglot (dev dependency) not installed")
    for v in views:
        sqlglot.parse_one(V.create_view_sql(v, "sori"), read="trino",
                          error_level=sqlglot.ErrorLevel.RAISE)


def test_view_output_types_are_the_same_in_both_engines(views):
    """Types whose spelling is shared by Trino and DuckDB only (e.g. no HUGEINT from SUM(bigint))."""
    con = V.empty_lake_duckdb(views)
    allowed = {"VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "DATE", "BOOLEAN", "VARCHAR[]"}
    for v in views:
        for col, typ in V.view_schema(con, v.name):
            assert typ in allowed, (v.name, col, typ)

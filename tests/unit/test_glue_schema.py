"""The lake's Glue tables in template.yaml must match the record contract exactly (sori.records.glue_columns).

A field added to (or removed from) a record type without the template following fails here, so schema drift
never reaches Athena/QuickSight silently.
"""
from __future__ import annotations

import copy

import pytest

from local.provision import load_template
from sori import records
from sori.records import TABLES, glue_columns

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def glue_tables(template: dict) -> dict[str, dict]:
    """TableInput of every AWS::Glue::Table in the template, by table name."""
    return {r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
            for r in template["Resources"].values() if r["Type"] == "AWS::Glue::Table"}


def schema_drift(template: dict) -> list[str]:
    """Every difference between the template's lake tables and the record contract, as readable lines."""
    problems = []
    tables = glue_tables(template)
    for name in sorted(set(TABLES) - set(tables)):
        problems.append(f"lake table {name} is missing from template.yaml")
    for name in sorted(set(tables) - set(TABLES)):
        problems.append(f"template.yaml declares Glue table {name}, which no record type writes")
    for name in sorted(set(TABLES) & set(tables)):
        got = tables[name]["StorageDescriptor"]["Columns"]
        want = glue_columns(name)
        if got != want:
            expected = "\n".join(f"            - {{Name: {c['Name']}, Type: {c['Type']}}}" for c in want)
            problems.append(f"{name}: columns differ from sori.records.glue_columns({name!r}); expected:\n{expected}")
    return problems


def test_template_glue_columns_equal_record_contract(template):
    assert schema_drift(template) == []


@pytest.mark.parametrize("table", sorted(TABLES))
def test_lake_table_is_partitioned_parquet_with_projection(template, table):
    t = glue_tables(template)[table]
    assert t["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert t["TableType"] == "EXTERNAL_TABLE"
    sd = t["StorageDescriptor"]
    assert sd["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
    assert sd["InputFormat"].endswith("MapredParquetInputFormat")
    assert sd["OutputFormat"].endswith("MapredParquetOutputFormat")
    assert sd["Location"]["Fn::Sub"].endswith(f"/lake/{table}/")
    p = t["Parameters"]
    assert p["projection.enabled"] == "true"
    assert (p["projection.dt.type"], p["projection.dt.format"], p["projection.dt.range"]) == \
        ("date", "yyyy-MM-dd", "2020-01-01,NOW")
    # ${!dt} is CloudFormation's escape for a literal ${dt}, which Athena fills per partition
    assert p["storage.location.template"]["Fn::Sub"].endswith(f"/lake/{table}/dt=${{!dt}}/")


def test_a_new_record_field_without_the_template_is_drift(template, monkeypatch):
    spec = TABLES["artists"]
    grown = records.RecordType(spec.name, spec.table, (*spec.fields, records.Field("label", "string")), spec.key)
    monkeypatch.setitem(TABLES, "artists", grown)
    problems = schema_drift(template)
    assert len(problems) == 1 and problems[0].startswith("artists: columns differ")
    assert "{Name: label, Type: string}" in problems[0]


def test_a_column_changed_in_the_template_is_drift(template):
    t = copy.deepcopy(template)
    cols = glue_tables(t)["plays"]["StorageDescriptor"]["Columns"]
    next(c for c in cols if c["Name"] == "duration_ms")["Type"] = "int"
    assert [p.split(":")[0] for p in schema_drift(t)] == ["plays"]


def test_a_missing_table_is_drift(template):
    t = copy.deepcopy(template)
    lid = next(k for k, r in t["Resources"].items()
               if r["Type"] == "AWS::Glue::Table" and r["Properties"]["TableInput"]["Name"] == "chart_entries")
    del t["Resources"][lid]
    assert schema_drift(t) == ["lake table chart_entries is missing from template.yaml"]

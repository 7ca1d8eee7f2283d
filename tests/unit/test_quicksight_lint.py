"""QuickSight as code, validated offline: the committed template is what the generator builds from glue/views,
cfn-lint passes it against the QuickSight resource schemas, and every visual field names a real, fitting column."""
from __future__ import annotations

import copy

import pytest
import yaml

from local import quicksight as qs
from sori.views import empty_lake_duckdb, view_schema


@pytest.fixture(scope="module")
def template():
    return yaml.safe_load(qs.TEMPLATE_PATH.read_text(encoding="utf-8"))


def test_committed_template_is_up_to_date_with_the_views():
    assert qs.TEMPLATE_PATH.read_text(encoding="utf-8") == qs.render_template(), \
        "glue/quicksight/quicksight.yaml is stale: run `sori quicksight build`"


def test_cfn_lint_passes():
    assert qs.lint() == []


def test_cfn_lint_catches_a_broken_definition(tmp_path):
    bad = qs.TEMPLATE_PATH.read_text(encoding="utf-8")
    bad = bad.replace("HeatMapAggregatedFieldWells", "HeatMapFieldWellz", 1)
    bad = bad.replace("DateGranularity: WEEK", "DateGranularity: FORTNIGHT", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    found = "\n".join(qs.lint(path))
    assert "HeatMapFieldWellz" in found and "FORTNIGHT" in found


def test_every_visual_field_names_a_fitting_column(template):
    assert qs.check_definition(template) == []


def test_definition_check_catches_a_wrong_column_and_type(template):
    t = copy.deepcopy(template)
    visuals = t["Resources"]["ChartsDashboard"]["Properties"]["Definition"]["Sheets"][0]["Visuals"]
    heat = visuals[0]["HeatMapVisual"]["ChartConfiguration"]["FieldWells"]["HeatMapAggregatedFieldWells"]
    heat["Values"][0]["NumericalMeasureField"]["Column"]["ColumnName"] = "zscore"
    heat["Rows"][0] = {"DateDimensionField": {"FieldId": "hm-country", "Column": {
        "DataSetIdentifier": "scores", "ColumnName": "country_name"}}}
    problems = "\n".join(qs.check_definition(t))
    assert "no column 'zscore'" in problems and "country_name is STRING, not DATETIME" in problems


def test_datasets_cover_the_views_with_their_scalar_columns(template):
    con = empty_lake_duckdb()
    datasets = {r["Properties"]["PhysicalTableMap"][k]["RelationalTable"]["Name"]: r
                for r in template["Resources"].values() if r["Type"] == "AWS::QuickSight::DataSet"
                for k in r["Properties"]["PhysicalTableMap"]}
    assert set(datasets) == set(qs.DATASET_VIEWS)
    for view, res in datasets.items():
        (table,) = res["Properties"]["PhysicalTableMap"].values()
        rel = table["RelationalTable"]
        assert rel["Catalog"] == "AwsDataCatalog" and rel["Schema"] == {"Ref": "GlueDatabaseName"}
        scalar = [c for c, t in view_schema(con, view) if not t.endswith("[]")]
        assert [c["Name"] for c in rel["InputColumns"]] == scalar
        assert res["Properties"]["ImportMode"] == "DIRECT_QUERY"


def test_data_source_is_athena_in_the_workgroup_with_a_scoped_role(template):
    res = template["Resources"]
    ds = res["AthenaDataSource"]["Properties"]
    assert ds["Type"] == "ATHENA"
    assert ds["DataSourceParameters"]["AthenaParameters"]["WorkGroup"] == {"Ref": "AthenaWorkGroupName"}
    role = res["QuickSightAthenaRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "quicksight.amazonaws.com"}
    for st in role["Policies"][0]["PolicyDocument"]["Statement"]:
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert all("*" not in str(r).replace("/*", "") for r in resources), st  # no account-wide wildcards


def test_dashboard_is_shared_only_when_a_viewer_is_given(template):
    perms = template["Resources"]["ChartsDashboard"]["Properties"]["Permissions"]
    assert perms[0]["Principal"] == {"Ref": "QuickSightPrincipalArn"}
    assert perms[1]["Fn::If"][0] == "HasViewers"
    assert set(perms[1]["Fn::If"][1]["Actions"]) == set(qs.VIEWER_ACTIONS)
    assert template["Parameters"]["DashboardViewerArn"]["Default"] == ""

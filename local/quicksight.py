"""QuickSight as code: the CloudFormation template ``glue/quicksight/quicksight.yaml``, built here and deployed.

The template holds an Athena data source (with a role of its own, scoped to the lake, the Glue database and the
workgroup), one dataset per analytics view (``DIRECT_QUERY`` over ``AwsDataCatalog.<database>.<view>``), and an
analysis plus a published dashboard sharing one definition: a country × feature heatmap, seasonal lines by
hemisphere, the most persistent chart artists, feature distributions (box plot and tempo histogram) and the
listening summary. Dataset columns are read from the views themselves (DuckDB ``DESCRIBE`` over empty lake
tables), so the template cannot drift from ``glue/views``; a test regenerates it and compares, and cfn-lint
validates it offline against the QuickSight resource schemas.

>>> t = build_template()
>>> sorted(k for k, v in t["Resources"].items() if v["Type"] == "AWS::QuickSight::DataSet")[:2]
['ArtistFeatureProfileDataSet', 'ChartAudioProfileDataSet']

``sori quicksight build`` rewrites the file; ``sori quicksight deploy --principal ARN`` creates or updates the
stack (``aws cloudformation deploy`` semantics: a change set, executed and waited for).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from sori.views import empty_lake_duckdb, load_views, view_schema

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO / "glue" / "quicksight" / "quicksight.yaml"

#: Views published as QuickSight datasets (the helper views chart_countries/track_features stay internal).
DATASET_VIEWS = ("chart_audio_profile", "chart_feature_scores", "seasonal_trend", "chart_tracks",
                 "persistent_artists", "artist_feature_profile", "listening_summary")
_QS_TYPES = {"VARCHAR": ("STRING", None), "BIGINT": ("INTEGER", None), "INTEGER": ("INTEGER", None),
             "DOUBLE": ("DECIMAL", "FLOAT"), "DATE": ("DATETIME", None), "TIMESTAMP": ("DATETIME", None),
             "BOOLEAN": ("BOOLEAN", None)}

OWNER_ACTIONS = {
    "DataSource": ["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions",
                   "quicksight:PassDataSource", "quicksight:UpdateDataSource", "quicksight:DeleteDataSource",
                   "quicksight:UpdateDataSourcePermissions"],
    "DataSet": ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
                "quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:UpdateDataSet",
                "quicksight:DeleteDataSet", "quicksight:CreateIngestion", "quicksight:CancelIngestion",
                "quicksight:UpdateDataSetPermissions"],
    "Analysis": ["quicksight:RestoreAnalysis", "quicksight:UpdateAnalysisPermissions",
                 "quicksight:DeleteAnalysis", "quicksight:DescribeAnalysisPermissions", "quicksight:QueryAnalysis",
                 "quicksight:DescribeAnalysis", "quicksight:UpdateAnalysis"],
    "Dashboard": ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions",
                  "quicksight:UpdateDashboardPermissions", "quicksight:QueryDashboard",
                  "quicksight:UpdateDashboard", "quicksight:DeleteDashboard",
                  "quicksight:DescribeDashboardPermissions", "quicksight:UpdateDashboardPublishedVersion"],
}
VIEWER_ACTIONS = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"]


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


def _sub(text: str) -> dict:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict:
    return {"Ref": name}


# ---------------------------------------------------------------------------------------------- datasets

def dataset_columns(views=None) -> dict[str, list[dict]]:
    """QuickSight ``InputColumns`` per published view, from the views' own schemas (array columns left out)."""
    views = views or load_views()
    con = empty_lake_duckdb(views)
    out = {}
    for name in DATASET_VIEWS:
        cols = []
        for col, typ in view_schema(con, name):
            if typ not in _QS_TYPES:
                continue  # arrays (artist_names, artist_ids): QuickSight reads scalar columns only
            qs, sub = _QS_TYPES[typ]
            cols.append({"Name": col, "Type": qs, **({"SubType": sub} if sub else {})})
        out[name] = cols
    return out


def _permissions(kind: str) -> list:
    owner = {"Principal": _ref("QuickSightPrincipalArn"), "Actions": OWNER_ACTIONS[kind]}
    if kind != "Dashboard":
        return [owner]
    viewer = {"Fn::If": ["HasViewers", {"Principal": _ref("DashboardViewerArn"), "Actions": VIEWER_ACTIONS},
                         _ref("AWS::NoValue")]}
    return [owner, viewer]


def _dataset(view: str, description: str, columns: list[dict]) -> dict:
    key = view.replace("_", "-")  # table map keys allow [0-9a-zA-Z-] only
    return {
        "Type": "AWS::QuickSight::DataSet",
        "Properties": {
            "AwsAccountId": _ref("AWS::AccountId"),
            "DataSetId": _sub(f"${{ResourcePrefix}}-{key}"),
            "Name": _sub(f"${{ResourcePrefix}} {view}"),
            "ImportMode": "DIRECT_QUERY",
            "PhysicalTableMap": {key: {"RelationalTable": {
                "DataSourceArn": {"Fn::GetAtt": ["AthenaDataSource", "Arn"]},
                "Catalog": "AwsDataCatalog", "Schema": _ref("GlueDatabaseName"), "Name": view,
                "InputColumns": columns}}},
            "LogicalTableMap": {key: {"Alias": view, "Source": {"PhysicalTableId": key}}},
            "Permissions": _permissions("DataSet"),
            "Tags": [{"Key": "sori:view", "Value": view}, {"Key": "sori:description", "Value": description[:256]}],
        },
    }


# ---------------------------------------------------------------------------------------------- visuals

def _col(ds: str, name: str) -> dict:
    return {"DataSetIdentifier": ds, "ColumnName": name}


def _dim(ds: str, name: str, fid: str) -> dict:
    return {"CategoricalDimensionField": {"FieldId": fid, "Column": _col(ds, name)}}


def _date(ds: str, name: str, fid: str, granularity: str = "WEEK") -> dict:
    return {"DateDimensionField": {"FieldId": fid, "Column": _col(ds, name), "DateGranularity": granularity}}


def _measure(ds: str, name: str, fid: str, agg: str = "AVERAGE") -> dict:
    return {"NumericalMeasureField": {"FieldId": fid, "Column": _col(ds, name),
                                      "AggregationFunction": {"SimpleNumericalAggregation": agg}}}


def _title(text: str, subtitle: str) -> dict:
    return {"Title": {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}},
            "Subtitle": {"Visibility": "VISIBLE", "FormatText": {"PlainText": subtitle}}}


def _visuals() -> tuple[list[dict], list[dict]]:
    """(charts sheet visuals, listening sheet visuals)."""
    charts = [
        {"HeatMapVisual": {"VisualId": "country-feature-heatmap", **_title(
            "What each country's top 50 sounds like",
            "Average z-score of each audio feature against the other countries' charts of the same week"),
            "ChartConfiguration": {
                "FieldWells": {"HeatMapAggregatedFieldWells": {
                    "Rows": [_dim("scores", "country_name", "hm-country")],
                    "Columns": [_dim("scores", "feature_label", "hm-feature")],
                    "Values": [_measure("scores", "z_score", "hm-z")]}},
                "SortConfiguration": {"HeatMapRowSort": [{"FieldSort": {"FieldId": "hm-country",
                                                                        "Direction": "ASC"}}],
                                      "HeatMapRowItemsLimitConfiguration": {"ItemsLimit": 70}},
                "ColorScale": {"ColorFillType": "GRADIENT", "Colors": [
                    {"Color": "#2166AC", "DataValue": -2}, {"Color": "#F7F7F7", "DataValue": 0},
                    {"Color": "#B2182B", "DataValue": 2}]},
                "DataLabels": {"Visibility": "HIDDEN"}}}},
        {"LineChartVisual": {"VisualId": "seasonal-valence", **_title(
            "Seasonal trend by hemisphere: valence",
            "Top-50 average valence per chart week; DJF is northern winter and southern summer"),
            "ChartConfiguration": {"FieldWells": {"LineChartAggregatedFieldWells": {
                "Category": [_date("trend", "week", "st-week")],
                "Colors": [_dim("trend", "hemisphere", "st-hemisphere")],
                "Values": [_measure("trend", "valence", "st-valence")]}},
                "Type": "LINE"}}},
        {"LineChartVisual": {"VisualId": "seasonal-energy", **_title(
            "Seasonal trend by hemisphere: energy and danceability",
            "Top-50 averages per chart week and hemisphere"),
            "ChartConfiguration": {"FieldWells": {"LineChartAggregatedFieldWells": {
                "Category": [_date("trend", "week", "se-week")],
                "Colors": [_dim("trend", "hemisphere", "se-hemisphere")],
                "Values": [_measure("trend", "energy", "se-energy"),
                           _measure("trend", "danceability", "se-danceability")]}},
                "Type": "LINE"}}},
        {"BarChartVisual": {"VisualId": "persistent-artists", **_title(
            "Most persistent chart artists",
            "Chart-weeks (chart × week) in a top 50, featured artists included; top 20"),
            "ChartConfiguration": {
                "FieldWells": {"BarChartAggregatedFieldWells": {
                    "Category": [_dim("artists", "artist_name", "pa-artist")],
                    "Values": [_measure("artists", "chart_weeks", "pa-chart-weeks", "SUM")]}},
                "Orientation": "HORIZONTAL",
                "SortConfiguration": {
                    "CategorySort": [{"FieldSort": {"FieldId": "pa-chart-weeks", "Direction": "DESC"}}],
                    "CategoryItemsLimit": {"ItemsLimit": 20, "OtherCategories": "EXCLUDE"}},
                "DataLabels": {"Visibility": "VISIBLE"}}}},
        {"BoxPlotVisual": {"VisualId": "feature-distributions", **_title(
            "Feature distributions by hemisphere", "Every top-200 chart entry with audio features"),
            "ChartConfiguration": {"FieldWells": {"BoxPlotAggregatedFieldWells": {
                "GroupBy": [_dim("tracks", "hemisphere", "fd-hemisphere")],
                "Values": [_measure("tracks", f, f"fd-{f}", "SUM")
                           for f in ("danceability", "energy", "valence", "acousticness", "instrumentalness")]}},
                "BoxPlotOptions": {"OutlierVisibility": "HIDDEN", "AllDataPointsVisibility": "HIDDEN"}}}},
        {"HistogramVisual": {"VisualId": "tempo-histogram", **_title(
            "Tempo of chart tracks", "Chart entries per 10-BPM bin"),
            "ChartConfiguration": {
                "FieldWells": {"HistogramAggregatedFieldWells": {
                    "Values": [_measure("tracks", "tempo", "th-tempo", "SUM")]}},
                "BinOptions": {"SelectedBinType": "BIN_WIDTH", "BinWidth": {"Value": 10}, "StartValue": 50}}}},
    ]
    listening = [
        {"BarChartVisual": {"VisualId": "listening-minutes", **_title(
            "Listening summary", "Minutes listened per day (UTC)"),
            "ChartConfiguration": {"FieldWells": {"BarChartAggregatedFieldWells": {
                "Category": [_date("listening", "day", "ls-day", "DAY")],
                "Values": [_measure("listening", "minutes", "ls-minutes", "SUM")]}},
                "Orientation": "VERTICAL"}}},
        {"LineChartVisual": {"VisualId": "listening-mood", **_title(
            "Listening mood", "Average valence and energy of what was played each day"),
            "ChartConfiguration": {"FieldWells": {"LineChartAggregatedFieldWells": {
                "Category": [_date("listening", "day", "lm-day", "DAY")],
                "Values": [_measure("listening", "valence", "lm-valence"),
                           _measure("listening", "energy", "lm-energy")]}},
                "Type": "LINE"}}},
    ]
    return charts, listening


def _grid(visuals: list[dict]) -> list[dict]:
    elements, row = [], 0
    spans = {"country-feature-heatmap": (36, 16), "persistent-artists": (18, 14),
             "feature-distributions": (18, 14)}
    col = 0
    for v in visuals:
        vid = next(iter(v.values()))["VisualId"]
        width, height = spans.get(vid, (18, 12))
        if col + width > 36:
            col, row = 0, row + height
        elements.append({"ElementId": vid, "ElementType": "VISUAL", "ColumnIndex": col, "ColumnSpan": width,
                         "RowIndex": row, "RowSpan": height})
        col += width
        if col >= 36:
            col, row = 0, row + height
    return [{"Configuration": {"GridLayout": {"Elements": elements}}}]


DATASET_IDENTIFIERS = {"scores": "chart_feature_scores", "trend": "seasonal_trend", "artists": "persistent_artists",
                       "tracks": "chart_tracks", "listening": "listening_summary"}


def definition() -> dict:
    """The analysis/dashboard definition (one, shared by both)."""
    charts, listening = _visuals()
    return {
        "DataSetIdentifierDeclarations": [
            {"Identifier": ident, "DataSetArn": {"Fn::GetAtt": [f"{_camel(view)}DataSet", "Arn"]}}
            for ident, view in DATASET_IDENTIFIERS.items()],
        "Sheets": [
            {"SheetId": "charts", "Name": "What the charts sound like", "Visuals": charts, "Layouts": _grid(charts)},
            {"SheetId": "listening", "Name": "Listening", "Visuals": listening, "Layouts": _grid(listening)},
        ],
    }


# ---------------------------------------------------------------------------------------------- template

def build_template() -> dict:
    views = load_views()
    descriptions = {v.name: v.description for v in views}
    columns = dataset_columns(views)
    resources: dict[str, Any] = {
        "QuickSightAthenaRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "QuickSight reads the sori lake through Athena (this data source only)",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "quicksight.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "athena-lake-read", "PolicyDocument": {
                    "Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow",
                         "Action": ["athena:StartQueryExecution", "athena:GetQueryExecution",
                                    "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup",
                                    "athena:ListWorkGroups", "athena:GetDataCatalog", "athena:ListDataCatalogs",
                                    "athena:GetDatabase", "athena:ListDatabases", "athena:GetTableMetadata",
                                    "athena:ListTableMetadata"],
                         "Resource": [
                             _sub("arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/"
                                  "${AthenaWorkGroupName}"),
                             _sub("arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:datacatalog/"
                                  "AwsDataCatalog")]},
                        {"Effect": "Allow",
                         "Action": ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
                                    "glue:GetPartition", "glue:GetPartitions"],
                         "Resource": [
                             _sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog"),
                             _sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/"
                                  "${GlueDatabaseName}"),
                             _sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/"
                                  "${GlueDatabaseName}/*")]},
                        {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                         "Resource": _sub("arn:${AWS::Partition}:s3:::${LakeBucketName}")},
                        {"Effect": "Allow", "Action": ["s3:GetObject"],
                         "Resource": _sub("arn:${AWS::Partition}:s3:::${LakeBucketName}/lake/*")},
                        {"Effect": "Allow",
                         "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload",
                                    "s3:ListMultipartUploadParts"],
                         "Resource": _sub("arn:${AWS::Partition}:s3:::${LakeBucketName}/athena-results/*")},
                    ]}}],
            },
        },
        "AthenaDataSource": {
            "Type": "AWS::QuickSight::DataSource",
            "Properties": {
                "AwsAccountId": _ref("AWS::AccountId"),
                "DataSourceId": _sub("${ResourcePrefix}-athena"),
                "Name": _sub("${ResourcePrefix} Athena (${AthenaWorkGroupName})"),
                "Type": "ATHENA",
                "DataSourceParameters": {"AthenaParameters": {
                    "WorkGroup": _ref("AthenaWorkGroupName"),
                    "RoleArn": {"Fn::GetAtt": ["QuickSightAthenaRole", "Arn"]}}},
                "SslProperties": {"DisableSsl": False},
                "Permissions": _permissions("DataSource"),
            },
        },
    }
    for view in DATASET_VIEWS:
        resources[f"{_camel(view)}DataSet"] = _dataset(view, descriptions[view], columns[view])
    resources["ChartsAnalysis"] = {
        "Type": "AWS::QuickSight::Analysis",
        "Properties": {
            "AwsAccountId": _ref("AWS::AccountId"), "AnalysisId": _sub("${ResourcePrefix}-charts"),
            "Name": _sub("${ResourcePrefix}: what the world's charts sound like"),
            "Definition": definition(), "Permissions": _permissions("Analysis"),
        },
    }
    resources["ChartsDashboard"] = {
        "Type": "AWS::QuickSight::Dashboard",
        "Properties": {
            "AwsAccountId": _ref("AWS::AccountId"), "DashboardId": _sub("${ResourcePrefix}-charts"),
            "Name": _sub("${ResourcePrefix}: what the world's charts sound like"),
            "Definition": definition(), "Permissions": _permissions("Dashboard"),
            "VersionDescription": "Built from glue/views by local/quicksight.py",
            "DashboardPublishOptions": {
                "AdHocFilteringOption": {"AvailabilityStatus": "ENABLED"},
                "ExportToCSVOption": {"AvailabilityStatus": "ENABLED"},
                "SheetControlsOption": {"VisibilityState": "EXPANDED"}},
        },
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": ("sori analytics in QuickSight: Athena data source, a dataset per analytics view "
                        "(glue/views), and the charts analysis + dashboard. Generated by `sori quicksight build` "
                        "(local/quicksight.py); do not edit by hand."),
        "Parameters": {
            "QuickSightPrincipalArn": {
                "Type": "String", "AllowedPattern": "^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:.+$",
                "Description": "Owner of every asset: a QuickSight user or group ARN, e.g. "
                               "arn:aws:quicksight:ap-northeast-2:123456789012:user/default/alice"},
            "DashboardViewerArn": {
                "Type": "String", "Default": "",
                "Description": "Optional QuickSight user or group ARN the dashboard is shared with (read-only)"},
            "ResourcePrefix": {"Type": "String", "Default": "sori", "AllowedPattern": "^[a-z0-9-]+$",
                               "Description": "Prefix of the QuickSight ids (data source, datasets, dashboard)"},
            "GlueDatabaseName": {"Type": "String", "Default": "sori",
                                 "Description": "Glue database holding the lake tables and the views"},
            "AthenaWorkGroupName": {"Type": "String", "Default": "sori-analytics",
                                    "Description": "Athena workgroup (the main stack's AthenaWorkGroupName)"},
            "LakeBucketName": {"Type": "String",
                               "Description": "The main stack's LakeBucketName (lake/ and athena-results/)"},
        },
        "Conditions": {"HasViewers": {"Fn::Not": [{"Fn::Equals": [_ref("DashboardViewerArn"), ""]}]}},
        "Resources": resources,
        "Outputs": {
            "DashboardId": {"Value": _sub("${ResourcePrefix}-charts")},
            "DashboardUrl": {"Value": _sub("https://${AWS::Region}.quicksight.aws.amazon.com/sn/dashboards/"
                                           "${ResourcePrefix}-charts")},
            "DataSourceArn": {"Value": {"Fn::GetAtt": ["AthenaDataSource", "Arn"]}},
        },
    }


_NUMERIC = {"INTEGER", "DECIMAL"}


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def check_definition(template: dict) -> list[str]:  # noqa: C901 - one branch per QuickSight rule checked
    """What cfn-lint cannot see: every field names a column its dataset has, with a fitting type; field ids and
    visual ids are unique; every layout element is a visual of its sheet; datasets read views that exist."""
    problems = []
    res = template["Resources"]
    views = {v.name for v in load_views()}
    datasets = {}
    for rid, r in res.items():
        if r["Type"] == "AWS::QuickSight::DataSet":
            (table,) = r["Properties"]["PhysicalTableMap"].values()
            rel = table["RelationalTable"]
            if rel["Name"] not in views:
                problems.append(f"{rid}: reads {rel['Name']!r}, which is not a view in glue/views")
            datasets[rid] = {c["Name"]: c["Type"] for c in rel["InputColumns"]}
    for rid, r in res.items():
        if r["Type"] not in ("AWS::QuickSight::Analysis", "AWS::QuickSight::Dashboard"):
            continue
        d = r["Properties"]["Definition"]
        idents = {}
        for decl in d["DataSetIdentifierDeclarations"]:
            target = decl["DataSetArn"]["Fn::GetAtt"][0]
            if target not in datasets:
                problems.append(f"{rid}: identifier {decl['Identifier']!r} points at unknown {target}")
            idents[decl["Identifier"]] = datasets.get(target, {})
        field_ids: list[str] = []
        for sheet in d["Sheets"]:
            visual_ids = [next(iter(v.values()))["VisualId"] for v in sheet["Visuals"]]
            elements = [e["ElementId"] for lay in sheet.get("Layouts", [])
                        for e in lay["Configuration"]["GridLayout"]["Elements"]]
            if sorted(elements) != sorted(visual_ids):
                problems.append(f"{rid}/{sheet['SheetId']}: layout {sorted(elements)} != visuals {sorted(visual_ids)}")
            for node in _walk(sheet["Visuals"]):
                for kind in ("CategoricalDimensionField", "DateDimensionField", "NumericalMeasureField"):
                    if kind not in node:
                        continue
                    f = node[kind]
                    field_ids.append(f["FieldId"])
                    col = f["Column"]
                    cols = idents.get(col["DataSetIdentifier"])
                    if cols is None:
                        problems.append(f"{rid}: field {f['FieldId']} uses undeclared {col['DataSetIdentifier']!r}")
                        continue
                    typ = cols.get(col["ColumnName"])
                    if typ is None:
                        problems.append(f"{rid}: field {f['FieldId']}: no column {col['ColumnName']!r} "
                                        f"in {col['DataSetIdentifier']}")
                    elif kind == "DateDimensionField" and typ != "DATETIME":
                        problems.append(f"{rid}: field {f['FieldId']}: {col['ColumnName']} is {typ}, not DATETIME")
                    elif kind == "NumericalMeasureField" and typ not in _NUMERIC:
                        problems.append(f"{rid}: field {f['FieldId']}: {col['ColumnName']} is {typ}, not numeric")
            dup = {v for v in visual_ids if visual_ids.count(v) > 1}
            if dup:
                problems.append(f"{rid}: duplicate visual ids {sorted(dup)}")
        dup = {f for f in field_ids if field_ids.count(f) > 1}
        if dup:
            problems.append(f"{rid}: duplicate field ids {sorted(dup)}")
    return problems


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # CloudFormation rejects YAML aliases
        return True


_Dumper.add_representer(dict, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items()))


def render_template() -> str:
    body = yaml.dump(copy.deepcopy(build_template()), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=120)
    return "# GENERATED by `sori quicksight build` from glue/views (local/quicksight.py). Do not edit.\n" + body


def write_template(path: str | Path = TEMPLATE_PATH) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_template(), encoding="utf-8")
    return path


def lint(path: str | Path = TEMPLATE_PATH, regions: tuple[str, ...] = ("ap-northeast-2", "us-east-1")) -> list[str]:
    """cfn-lint findings (offline: resource schemas ship with cfn-lint) as strings; empty when clean."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    matches = cfn_lint(Path(path).read_text(encoding="utf-8"), config=ManualArgs(regions=list(regions)))
    return [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches]


# ---------------------------------------------------------------------------------------------- deploy

def stack_outputs(stack_name: str, cfn: Any = None) -> dict[str, str]:
    """Outputs of the main sori stack (LakeBucketName, GlueDatabaseName, AthenaWorkGroupName, …)."""
    import boto3

    cfn = cfn or boto3.client("cloudformation")
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def deploy(stack_name: str, parameters: dict[str, str], *, template_path: str | Path = TEMPLATE_PATH,
           cfn: Any = None, wait: bool = True) -> dict:
    """Create or update the QuickSight stack through a change set, like ``aws cloudformation deploy``.

    Returns ``{"stack": name, "action": "CREATE"|"UPDATE"|"NONE", "status": ...}``; a change set with no changes
    is deleted and reported as ``NONE``. Requires ``CAPABILITY_IAM`` (the data source's role).
    """
    import time

    import boto3

    cfn = cfn or boto3.client("cloudformation")
    try:
        cfn.describe_stacks(StackName=stack_name)
        action = "UPDATE"
    except cfn.exceptions.ClientError as e:
        if "does not exist" not in str(e):
            raise
        action = "CREATE"
    name = f"sori-quicksight-{int(time.time())}"
    cfn.create_change_set(
        StackName=stack_name, ChangeSetName=name, ChangeSetType=action,
        TemplateBody=Path(template_path).read_text(encoding="utf-8"), Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    try:
        cfn.get_waiter("change_set_create_complete").wait(StackName=stack_name, ChangeSetName=name,
                                                          WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    except Exception:
        desc = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name)
        reason = desc.get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            cfn.delete_change_set(StackName=stack_name, ChangeSetName=name)
            return {"stack": stack_name, "action": "NONE", "status": "UNCHANGED"}
        raise RuntimeError(f"change set failed: {reason}") from None
    cfn.execute_change_set(StackName=stack_name, ChangeSetName=name)
    if wait:
        waiter = "stack_create_complete" if action == "CREATE" else "stack_update_complete"
        cfn.get_waiter(waiter).wait(StackName=stack_name, WaiterConfig={"Delay": 5, "MaxAttempts": 360})
    status = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
    return {"stack": stack_name, "action": action, "status": status}

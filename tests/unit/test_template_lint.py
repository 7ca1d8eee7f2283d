"""template.yaml: cfn-lint clean, least privilege, the agreed interfaces; and the provisioner's pure parts
(the moto split, the intrinsic resolver) on the real transformed template. No network, no moto."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.provision import (NO_VALUE, SELF_PROVISIONED, TEMPLATE_PATH, Resolver, fold_conditions, load_template,
                             package, plan, references, sam_transform, substitute)

HANDLERS = {
    "ChartsFunction": "producers.charts.lambda_handler",
    "ChartsDropFunction": "producers.charts.s3_handler",
    "CatalogFunction": "producers.catalog.lambda_handler",
    "ListeningFunction": "producers.listening.lambda_handler",
    "DynamoSinkFunction": "consumers.dynamo_sink.handler.lambda_handler",
    "S3SinkFunction": "consumers.s3_sink.handler.lambda_handler",
    "CompactFunction": "consumers.s3_sink.compact.lambda_handler",
    "RelatedBuilderFunction": "consumers.related_builder.handler.lambda_handler",
    "ChatbotFunction": "chatbot.handler.lambda_handler",
}
PANDAS_FUNCTIONS = {"S3SinkFunction", "CompactFunction", "RelatedBuilderFunction"}
DATA_SERVICES = ("s3", "dynamodb", "kinesis", "sqs", "secretsmanager", "glue", "athena", "kms")


@pytest.fixture(scope="module")
def sam() -> dict:
    return load_template()


@pytest.fixture(scope="module")
def cfn(sam) -> dict:
    return sam_transform(package(sam, lambda data: "s3://artifacts/code.zip"))


def test_cfn_lint_reports_nothing():
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(Path(TEMPLATE_PATH), config=ManualArgs(regions=["ap-northeast-2"]))
    assert [str(m) for m in matches] == []


def test_cfn_lint_would_catch_a_broken_template():
    """The lint test is only worth something if cfn-lint sees this template's mistakes."""
    from cfnlint.api import lint_all

    broken = Path(TEMPLATE_PATH).read_text().replace("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE", 1)
    assert any("FREE" in str(m) for m in lint_all(broken))


def _allow_statements(cfn: dict):
    for lid, r in cfn["Resources"].items():
        if r["Type"] == "AWS::IAM::Role":
            for p in r["Properties"].get("Policies", []):
                for st in p["PolicyDocument"]["Statement"]:
                    if st["Effect"] == "Allow":
                        yield lid, st


def test_no_wildcard_action_or_resource_on_data_services(cfn):
    offenders = []
    for lid, st in _allow_statements(cfn):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        services = {a.split(":")[0] for a in actions}
        if any(a == "*" or a.endswith(":*") for a in actions):
            offenders.append((lid, actions))
        if services & set(DATA_SERVICES) and any(r == "*" for r in resources):
            offenders.append((lid, resources))
    assert offenders == []
    assert len(list(_allow_statements(cfn))) > 20  # the check ran over the real policies


def test_every_agreed_function_with_its_handler(sam, cfn):
    fns = {lid: r["Properties"] for lid, r in cfn["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    assert {lid: p["Handler"] for lid, p in fns.items()} == HANDLERS
    for lid, p in fns.items():
        assert p["Runtime"] == "python3.12"
        env = p["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] and env["POWERTOOLS_METRICS_NAMESPACE"] == "sori"
        layers = json.dumps(p["Layers"])
        assert ("AwsSdkPandasLayerArn" in layers) == (lid in PANDAS_FUNCTIONS), lid
        assert "SoriLayer" in layers and "PowertoolsLayerArn" in layers
        assert p["Timeout"] <= 900
    assert fns["ChatbotFunction"]["Timeout"] <= 5  # Kakao's skill limit


def test_env_names_map_onto_settings_fields(cfn):
    from dataclasses import fields

    from sori.settings import ENV_PREFIX, Settings

    known = {ENV_PREFIX + f.name.upper() for f in fields(Settings)}
    for r in cfn["Resources"].values():
        if r["Type"] == "AWS::Lambda::Function":
            sori_env = {k for k in r["Properties"]["Environment"]["Variables"] if k.startswith(ENV_PREFIX)}
            assert sori_env <= known, sori_env - known


def test_kinesis_mappings_are_safe(cfn):
    maps = [r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
            and references(r["Properties"]["EventSourceArn"]) == {"RecordStream"}]
    assert len(maps) == 2
    for m in maps:
        assert m["StartingPosition"] == "TRIM_HORIZON"
        assert m["BisectBatchOnFunctionError"] is True
        assert 0 < m["MaximumRetryAttempts"] <= 10
        assert 60 <= m["MaximumRecordAgeInSeconds"] <= 86400
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert "DLQ" in json.dumps(m["DestinationConfig"]["OnFailure"]["Destination"])
        assert m["BatchSize"] and "MaximumBatchingWindowInSeconds" in m and m["ParallelizationFactor"] >= 1


def test_schedules(cfn):
    rules = {lid: r["Properties"] for lid, r in cfn["Resources"].items() if r["Type"] == "AWS::Events::Rule"}
    assert rules["CatalogFunctionNightly"]["ScheduleExpression"] == "cron(0 18 * * ? *)"
    assert rules["RelatedBuilderFunctionDaily"]["ScheduleExpression"] == "cron(0 20 * * ? *)"
    assert json.loads(rules["ListeningFunctionRecentlyPlayed"]["Targets"][0]["Input"]) == {"job": "recently_played"}
    assert json.loads(rules["ListeningFunctionFollowedArtists"]["Targets"][0]["Input"]) == {"job": "followed_artists"}


def test_vpc_config_only_when_subnets_given(cfn):
    values = {"VpcSubnetIds": [""], "AWS::NoValue": None}
    r = Resolver(cfn, values, lambda *a: None)
    assert r.condition("HasVpc") is False
    chatbot = cfn["Resources"]["ChatbotFunction"]["Properties"]
    assert "VpcConfig" not in fold_conditions(chatbot, r)
    r2 = Resolver(cfn, {"VpcSubnetIds": ["subnet-1", "subnet-2"], "VpcSecurityGroupIds": ["sg-1"]},
                  lambda *a: None)
    assert fold_conditions(chatbot, r2)["VpcConfig"]["SubnetIds"] == {"Ref": "VpcSubnetIds"}
    assert r2.resolve(fold_conditions(chatbot, r2)["VpcConfig"]) == {"SubnetIds": ["subnet-1", "subnet-2"],
                                                                      "SecurityGroupIds": ["sg-1"]}


def test_plan_splits_what_moto_cannot_create(cfn):
    steps = plan(cfn)
    res = cfn["Resources"]
    every = [x for part in steps.values() for x in part]
    assert sorted(every) == sorted(res)  # each resource exactly once
    assert not any(res[lid]["Type"] in SELF_PROVISIONED for lid in steps["stack"])
    assert {"SpotifySecret", "SkillSecret", "GlueDatabase", "ArtistsGlueTable", "AthenaWorkGroup"} <= set(steps["pre"])
    assert {"ChatbotApi", "LandingCrawler", "LakeBucketPolicy"} <= set(steps["post"])
    assert steps["deferred"] == ["ChatbotFunctionSkillPermission"]
    assert steps["pre"].index("GlueDatabase") < steps["pre"].index("ArtistsGlueTable")


def test_plan_refuses_an_unhonourable_dependency(cfn):
    """The error names the root cause (the table that references the API), first, whatever the set order; the
    functions, roles and mappings dragged along through it are listed after it, not blamed."""
    bad = json.loads(json.dumps(cfn))
    bad["Resources"]["TopTracksTable"]["Properties"]["Tags"] = [{"Key": "api", "Value": {"Ref": "ChatbotApi"}}]
    with pytest.raises(ValueError) as err:
        plan(bad)
    msg = str(err.value)
    assert msg.startswith("TopTracksTable (AWS::DynamoDB::Table) depends on ['ChatbotApi']"), msg
    causes, dragged = msg.split("; through it, ", 1)
    assert "DynamoSinkFunction" not in causes
    assert "'DynamoSinkFunction'" in dragged and "'DynamoSinkFunctionRecords'" in dragged
    assert "'ChatbotFunctionSkillPermission'" not in dragged  # still deferrable: not a problem


def test_plan_error_is_the_same_under_any_hash_seed(cfn, tmp_path):
    """Set iteration order varies with PYTHONHASHSEED; the plan (and its refusal) must not."""
    bad = json.loads(json.dumps(cfn))
    bad["Resources"]["TopTracksTable"]["Properties"]["Tags"] = [{"Key": "api", "Value": {"Ref": "ChatbotApi"}}]
    (tmp_path / "good.json").write_text(json.dumps(cfn))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    code = ("import json, sys\nfrom local.provision import plan\n"
            "good = plan(json.load(open(sys.argv[1])))\n"
            "try:\n    plan(json.load(open(sys.argv[2])))\nexcept ValueError as e:\n"
            "    print(json.dumps([good, str(e)]))\n")
    outs = set()
    for seed in ("0", "1", "2", "3"):
        run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "good.json"), str(tmp_path / "bad.json")],
                             capture_output=True, text=True, check=True, cwd=Path(TEMPLATE_PATH).parent,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        outs.add(run.stdout)
    assert len(outs) == 1 and "TopTracksTable" in outs.pop()


def test_resolver_intrinsics():
    t = {"Conditions": {"On": {"Fn::Equals": [{"Ref": "P"}, "yes"]}}}
    r = Resolver(t, {"P": "yes", "AWS::Region": "ap-northeast-2", "B": "bkt"}, lambda lid, a: f"{lid}.{a}")
    assert r.resolve({"Fn::Sub": "s3://${B}/lake/x/dt=${!dt}/"}) == "s3://bkt/lake/x/dt=${dt}/"
    assert r.resolve({"Fn::Sub": ["${X}-${AWS::Region}-${Q.Arn}", {"X": {"Ref": "B"}}]}) == "bkt-ap-northeast-2-Q.Arn"
    assert r.resolve({"Fn::Join": [",", ["a", {"Ref": "B"}]]}) == "a,bkt"
    assert r.resolve({"k": {"Fn::If": ["On", {"Ref": "AWS::NoValue"}, 1]}, "j": [1, {"Ref": "AWS::NoValue"}]}) == \
        {"j": [1]}
    assert r.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE
    with pytest.raises(KeyError):
        r.resolve({"Ref": "Nope"})


def test_substitute_leaves_unknown_refs_to_cloudformation():
    node = {"a": {"Ref": "S"}, "b": {"Ref": "T"}, "c": {"Fn::Sub": "${S}/${T}/${S.Id}/${!x}"},
            "d": {"Fn::GetAtt": ["S", "Id"]}}
    out = substitute(node, {"S": "arn:s"}, lambda lid, attr: f"{lid}#{attr}")
    assert out == {"a": "arn:s", "b": {"Ref": "T"}, "c": {"Fn::Sub": "arn:s/${T}/S#Id/${!x}"}, "d": "S#Id"}
    assert references(out) == {"T"}

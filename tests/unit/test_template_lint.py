"""template.yaml: cfn-lint clean, least privilege, the agreed interfaces; and the provisioner's pure parts
(the moto split, the intrinsic resolver) on the real transformed template. No network, no moto."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.provision import (
    NO_VALUE,
    SELF_PROVISIONED,
    TEMPLATE_PATH,
    Resolver,
    fold_conditions,
    load_template,
    package,
    plan,
    references,
    sam_transform,
    substitute,
)

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
    "SchemaMigrationFunction": "consumers.schema_migration.handler.lambda_handler",
}
PANDAS_FUNCTIONS = {"S3SinkFunction", "CompactFunction"}
IMAGE_FUNCTIONS = {"RelatedBuilderFunction"}  # a container image: no layers (scipy + faiss do not fit beside pandas)
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
        if lid in IMAGE_FUNCTIONS:
            assert "Layers" not in p, lid
        else:
            layers = json.dumps(p["Layers"])
            assert ("AwsSdkPandasLayerArn" in layers) == (lid in PANDAS_FUNCTIONS), lid
            # the pandas layer ships protobuf: those functions take the protobuf-free SoriPandasLayer, last-but-one
            assert ('"SoriPandasLayer' in layers) == (lid in PANDAS_FUNCTIONS), lid
            assert ('"SoriLayer' in layers) != (lid in PANDAS_FUNCTIONS), lid
            assert "PowertoolsLayerArn" in layers
        assert p["Timeout"] <= 900
    assert fns["ChatbotFunction"]["Timeout"] <= 5  # Kakao's skill limit


def test_the_related_builder_deploys_as_a_container_image(sam):
    cloud = sam_transform(package(sam, lambda data: "s3://artifacts/code.zip",
                                  image_uri=lambda lid: f"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/sori:{lid}"))
    images = {lid for lid, r in cloud["Resources"].items()
              if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("PackageType") == "Image"}
    assert images == IMAGE_FUNCTIONS
    p = cloud["Resources"]["RelatedBuilderFunction"]["Properties"]
    assert "Layers" not in p and "Runtime" not in p and "Handler" not in p
    assert p["ImageConfig"]["Command"] == [HANDLERS["RelatedBuilderFunction"]]
    meta = sam["Resources"]["RelatedBuilderFunction"]["Metadata"]
    dockerfile = (Path(TEMPLATE_PATH).parent / meta["DockerContext"] / meta["Dockerfile"]).read_text()
    assert dockerfile.splitlines()[-1] == f'CMD ["{HANDLERS["RelatedBuilderFunction"]}"]'
    assert "FROM public.ecr.aws/lambda/python:3.12" in dockerfile


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


#: The functions that read or write MySQL: they, and only they, run in the VPC (the rest reach AWS directly).
MYSQL_FUNCTIONS = {"ChartsFunction", "ChartsDropFunction", "CatalogFunction", "ListeningFunction",
                   "RelatedBuilderFunction", "ChatbotFunction", "SchemaMigrationFunction"}


def _vpc_configs(cfn, values):
    r = Resolver(cfn, {"VpcSubnetIds": [""], "VpcSecurityGroupIds": [""], "MysqlHost": "", "MysqlSecretArn": "",
                       **values}, lambda *a: None)
    out = {}
    for lid, res in cfn["Resources"].items():
        if res["Type"] == "AWS::Lambda::Function":
            folded = fold_conditions(res["Properties"], r)
            if "VpcConfig" in folded:
                out[lid] = folded["VpcConfig"]
    return r, out


def test_by_default_the_database_and_its_network_are_created_and_only_mysql_users_join_it(cfn):
    r, vpc = _vpc_configs(cfn, {})
    assert r.condition("CreateDatabase") and r.condition("CreateNetwork")
    assert set(vpc) == MYSQL_FUNCTIONS & set(vpc) == MYSQL_FUNCTIONS & set(_functions(cfn))
    for cfg in vpc.values():
        assert cfg == {"SubnetIds": [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}],
                       "SecurityGroupIds": [{"Ref": "FunctionSecurityGroup"}]}
    res = cfn["Resources"]
    db = res["Database"]
    assert db["Properties"]["StorageEncrypted"] is True and db["Properties"]["PubliclyAccessible"] is False
    assert db["DeletionPolicy"] == db["UpdateReplacePolicy"] == "Snapshot"
    assert res["DatabaseParameters"]["Properties"]["Parameters"]["require_secure_transport"] == "ON"
    ingress = res["DatabaseSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert ingress == [{"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "Description": "MySQL from the functions",
                        "SourceSecurityGroupId": {"Ref": "FunctionSecurityGroup"}}]
    endpoints = {res[k]["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[-1] for k in res
                 if res[k]["Type"] == "AWS::EC2::VPCEndpoint"}
    assert endpoints == {"s3", "dynamodb"}
    chatbot_env = fold_conditions(res["ChatbotFunction"]["Properties"], r)["Environment"]["Variables"]
    assert chatbot_env["SORI_MYSQL_HOST"] == {"Fn::GetAtt": ["Database", "Endpoint.Address"]}


def test_an_existing_database_needs_no_network_of_ours(cfn):
    r, vpc = _vpc_configs(cfn, {"MysqlHost": "db.example.com", "MysqlSecretArn": "arn:aws:secretsmanager:x"})
    assert not r.condition("CreateDatabase") and not r.condition("CreateNetwork")
    assert vpc == {}  # a publicly reachable database (over TLS): every function stays outside a VPC


def test_existing_subnets_take_the_mysql_users(cfn):
    r, vpc = _vpc_configs(cfn, {"VpcSubnetIds": ["subnet-1", "subnet-2"], "VpcSecurityGroupIds": ["sg-1"],
                                "MysqlHost": "db.internal"})
    assert set(vpc) == MYSQL_FUNCTIONS & set(_functions(cfn)) and not r.condition("CreateNetwork")
    for cfg in vpc.values():
        assert r.resolve(cfg) == {"SubnetIds": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]}


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


# ----------------------------------------------------------------------------------------------- env vs code

#: Settings fields that name a deployed resource (or a deployment choice): their defaults are placeholders, so a
#: function whose code reads one must get it from the template. (Fields with a correct cloud default — region,
#: Spotify URLs, budgets, ranking knobs — need no env; ``mysql_url`` is local only.)
RESOURCE_FIELDS = {"stream_name", "top_tracks_table", "state_table", "bucket", "lake_prefix", "glue_database",
                   "athena_workgroup", "dlq_url", "refresh_queue_url", "query_engine", "mysql_host", "mysql_port",
                   "mysql_database", "mysql_secret_arn", "spotify_secret_arn", "listening_secret_arn",
                   "skill_secret_arn", "charts_csv_url"}

#: Fields a handler's *module* reads on a path this *entry point* never takes (two functions share
#: producers/charts.py and producers/runtime.py). Each must still be read by the code and absent from the env.
NOT_ON_THIS_PATH = {
    "ChartsFunction": {"dlq_url": "only s3_handler dead-letters a rejected drop",
                       "listening_secret_arn": "open_user is called by catalog and listening only"},
    "ChartsDropFunction": {"listening_secret_arn": "open_user is called by catalog and listening only",
                           "state_table": "open_run builds a StateStore; the drop handler never calls it"},
    "CatalogFunction": {"charts_csv_url": "open_run wires chart fetching; the catalog never fetches charts"},
    "ListeningFunction": {"charts_csv_url": "open_run wires chart fetching; listening never fetches charts"},
}
CODE_PACKAGES = ("sori", "producers", "consumers", "chatbot")
REPO = Path(TEMPLATE_PATH).parent


def _module_file(mod: str) -> Path | None:
    p = REPO.joinpath(*mod.split("."))
    for f in (p.with_suffix(".py"), p / "__init__.py"):
        if f.is_file():
            return f
    return None


def _source_file(mod: str) -> Path:
    f = _module_file(mod)
    assert f is not None, f"no source file for module {mod}"
    return f


def _imported(mod: str, tree) -> set[str]:
    import ast

    pkg = mod if _source_file(mod).name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):  # lazy imports inside functions count too
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out |= {base} | {f"{base}.{a.name}" for a in node.names}
    return out


def code_closure(mod: str) -> set[str]:
    """The project modules a handler module can reach through imports (parents included)."""
    import ast

    seen, todo = set(), [mod]
    while todo:
        m = todo.pop()
        if m in seen or m.split(".")[0] not in CODE_PACKAGES or _module_file(m) is None:
            continue
        seen.add(m)
        todo += sorted(_imported(m, ast.parse(_source_file(m).read_text(encoding="utf-8"))))
        todo += [".".join(m.split(".")[:i]) for i in range(1, m.count(".") + 1)]
    return seen


def settings_fields_read(mod: str) -> set[str]:
    """Settings fields read anywhere in ``mod``'s closure: ``settings.x`` / ``s.x`` / ``get_settings().x``,
    ``getattr(settings, "x")`` and ``"SORI_X"`` literals."""
    import ast
    from dataclasses import fields

    from sori.settings import ENV_PREFIX, Settings

    names = {f.name for f in fields(Settings)} - {"extra"}
    out = set()
    for m in code_closure(mod):
        for node in ast.walk(ast.parse(_source_file(m).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in names:
                owner = ast.unparse(node.value)
                if owner == "s" or owner.endswith(("settings", "get_settings()")):
                    out.add(node.attr)
            elif isinstance(node, ast.Call) and ast.unparse(node.func) == "getattr" and len(node.args) > 1 \
                    and isinstance(node.args[1], ast.Constant) and node.args[1].value in names:
                out.add(node.args[1].value)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(ENV_PREFIX) \
                    and node.value[len(ENV_PREFIX):].lower() in names:
                out.add(node.value[len(ENV_PREFIX):].lower())
    return out


def test_settings_analysis_sees_what_handlers_read():
    """The static reader is only worth something if it finds known reads (lazy imports included)."""
    assert {"top_tracks_table", "dlq_url"} <= settings_fields_read("consumers.dynamo_sink.handler")
    assert {"mysql_host", "mysql_secret_arn", "athena_workgroup"} <= settings_fields_read(
        "consumers.related_builder.handler")
    assert "skill_secret_arn" in settings_fields_read("chatbot.handler")
    assert "charts_csv_url" in settings_fields_read("producers.charts")  # getattr(settings, "charts_csv_url")
    assert "mysql_host" not in settings_fields_read("consumers.s3_sink.compact")


def _functions(cfn: dict) -> dict[str, dict]:
    return {lid: r["Properties"] for lid, r in cfn["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


@pytest.mark.parametrize("lid", sorted(HANDLERS))
def test_function_env_is_exactly_what_its_code_reads(cfn, lid):
    """Every resource setting the function's code reads is in its env; every SORI_ env var it gets is read."""
    from sori.settings import ENV_PREFIX

    env = _functions(cfn)[lid]["Environment"]["Variables"]
    given = {k[len(ENV_PREFIX):].lower() for k in env if k.startswith(ENV_PREFIX)}
    reads = settings_fields_read(HANDLERS[lid].rsplit(".", 1)[0])
    skipped = NOT_ON_THIS_PATH.get(lid, {})
    assert set(skipped) <= reads - given, "stale NOT_ON_THIS_PATH entry"
    assert (reads & RESOURCE_FIELDS) - given - set(skipped) == set(), "read by the code, missing from the env"
    assert given - reads == set(), "set in the template, never read by the code"


def test_mysql_users_and_only_they_join_the_vpc(cfn):
    for lid, p in _functions(cfn).items():
        uses_mysql = "SORI_MYSQL_HOST" in p["Environment"]["Variables"]
        assert ("VpcConfig" in json.dumps(p)) == uses_mysql, lid
        if uses_mysql:
            assert {"SORI_MYSQL_PORT", "SORI_MYSQL_DATABASE", "SORI_MYSQL_SECRET_ARN"} <= set(
                p["Environment"]["Variables"]), lid
    users = {lid for lid, p in _functions(cfn).items() if "SORI_MYSQL_HOST" in p["Environment"]["Variables"]}
    assert users == {"ChartsFunction", "ChartsDropFunction", "CatalogFunction", "ListeningFunction",
                     "RelatedBuilderFunction", "ChatbotFunction", "SchemaMigrationFunction"}


# ----------------------------------------------------------------------------------------------- IAM per function

def grants(cfn: dict, lid: str) -> list[tuple[str, str]]:
    """(action, resource as JSON) pairs of a function's inline policies."""
    role = _functions(cfn)[lid]["Role"]["Fn::GetAtt"][0]
    out = []
    for p in cfn["Resources"][role]["Properties"].get("Policies", []):
        for st in p["PolicyDocument"]["Statement"]:
            if st["Effect"] != "Allow":
                continue
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            out += [(a, json.dumps(r, sort_keys=True)) for a in actions for r in resources]
    return out


def granted(cfn: dict, lid: str, action: str) -> set[str]:
    return {r for a, r in grants(cfn, lid) if a == action}


def test_only_listening_and_catalog_write_a_secret_and_only_the_refresh_token(cfn):
    writers = {lid for lid in HANDLERS if any(a.startswith("secretsmanager:") and a != "secretsmanager:GetSecretValue"
                                              for a, _ in grants(cfn, lid))}
    assert writers == {"ListeningFunction", "CatalogFunction"}
    for lid in writers:
        assert granted(cfn, lid, "secretsmanager:PutSecretValue") == {'{"Ref": "ListeningTokenSecret"}'}
        assert '{"Ref": "ListeningTokenSecret"}' in granted(cfn, lid, "secretsmanager:GetSecretValue")


def _secret_refs(cfn: dict, lid: str) -> set[str]:
    return {ref for r in granted(cfn, lid, "secretsmanager:GetSecretValue") for ref in references(json.loads(r))}


def test_each_function_reads_only_the_secrets_it_is_given(cfn):
    """A secret is readable exactly when the function's env carries its ARN."""
    by_env = {"SORI_SPOTIFY_SECRET_ARN": "SpotifySecret", "SORI_LISTENING_SECRET_ARN": "ListeningTokenSecret",
              "SORI_MYSQL_SECRET_ARN": "MysqlSecret", "SORI_SKILL_SECRET_ARN": "SkillSecret"}
    for lid, p in _functions(cfn).items():
        env = p["Environment"]["Variables"]
        assert _secret_refs(cfn, lid) - {"MysqlSecretArn"} == {s for k, s in by_env.items() if k in env}, lid
        for k, s in by_env.items():
            if k in env and s == "MysqlSecret":  # or an existing database's secret, by parameter
                assert env[k] == {"Fn::If": ["HasMysqlSecretArn", {"Ref": "MysqlSecretArn"}, {"Ref": s}]}, lid
            elif k in env:
                assert env[k] == {"Ref": s}, lid


def test_charts_drop_rejects_into_its_own_prefix_and_dead_letters(cfn):
    fns = _functions(cfn)
    env = fns["ChartsDropFunction"]["Environment"]["Variables"]
    assert env["SORI_DLQ_URL"] == {"Ref": "ProducerDLQ"}
    assert granted(cfn, "ChartsDropFunction", "sqs:SendMessage") == {'{"Fn::GetAtt": ["ProducerDLQ", "Arn"]}'}
    puts = granted(cfn, "ChartsDropFunction", "s3:PutObject")
    assert len(puts) == 1 and json.loads(puts.pop())["Fn::Sub"].endswith("/rejected/charts/*")
    gets = granted(cfn, "ChartsDropFunction", "s3:GetObject")
    assert len(gets) == 1 and json.loads(gets.pop())["Fn::Sub"].endswith("/landing/charts/*")
    assert "ProducerDLQ" in cfn["Resources"] and cfn["Resources"]["ProducerDLQ"]["Type"] == "AWS::SQS::Queue"
    for lid in ("ChartsFunction", "ChartsDropFunction"):
        assert fns[lid]["Environment"]["Variables"]["SORI_CHARTS_CSV_URL"] == {"Ref": "ChartsCsvUrl"}
    assert cfn["Parameters"]["ChartsCsvUrl"]["Default"] == ""
    assert not any(a.startswith("s3:") for a, _ in grants(cfn, "ChartsFunction"))  # fetches over HTTP, or waits


def test_data_actions_are_the_ones_the_code_calls(cfn):
    """Least privilege where it is easy to drift: no Scan/Delete on top_tracks, no Glue for compaction."""
    def actions(lid: str, service: str) -> set[str]:
        return {a for a, _ in grants(cfn, lid) if a.startswith(service + ":")}

    assert actions("ChatbotFunction", "dynamodb") == {"dynamodb:GetItem", "dynamodb:Query"}
    assert actions("ChatbotFunction", "sqs") == {"sqs:SendMessage"}
    assert granted(cfn, "ChatbotFunction", "sqs:SendMessage") == {'{"Fn::GetAtt": ["RefreshQueue", "Arn"]}'}
    assert actions("DynamoSinkFunction", "dynamodb") == {"dynamodb:PutItem", "dynamodb:BatchGetItem",
                                                         "dynamodb:BatchWriteItem"}
    assert actions("CompactFunction", "glue") == set()
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"} <= actions("CompactFunction", "s3")
    assert {"glue:BatchCreatePartition", "glue:GetTable"} <= actions("S3SinkFunction", "glue")
    assert {"athena:StartQueryExecution", "athena:GetQueryExecution"} <= actions("RelatedBuilderFunction", "athena")
    for lid in ("ChartsFunction", "CatalogFunction", "ListeningFunction"):
        assert actions(lid, "dynamodb") <= {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
        assert {r for a, r in grants(cfn, lid) if a.startswith("dynamodb:")} == \
            {'{"Fn::GetAtt": ["StateTable", "Arn"]}'}
    for lid in HANDLERS:  # no wildcard inside an action name either (sqs:SendMessage* and the like)
        assert not [a for a, _ in grants(cfn, lid) if "*" in a], lid


def test_catalog_refresh_queue_reports_partial_failures(cfn):
    maps = [r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
            and references(r["Properties"]["EventSourceArn"]) == {"RefreshQueue"}]
    assert len(maps) == 1 and maps[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert references(maps[0]["FunctionName"]) == {"CatalogFunction"}


# ----------------------------------------------------------------------------------------------- managed layers

def _pinned(dist: str) -> str:
    import tomllib

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(d.split("==", 1)[1] for d in deps if d.split("==", 1)[0].split("[", 1)[0] == dist)


def test_managed_layer_parameters_follow_the_published_names_and_our_pins(sam):
    """Powertools publishes /aws/service/powertools/python/<arch>/<python>/<version|latest> (its install docs,
    "Using SSM Parameter Store"); AWS SDK for pandas /aws/service/aws-sdk-pandas/<version>/<region>/<py>/<arch>/
    layer-arn. The deployed layer must carry the library version the tests ran against."""
    import re

    params = sam["Parameters"]
    runtime = sam["Resources"]["ChatbotFunction"]["Properties"]["Runtime"]  # python3.12
    arch = sam["Globals"]["Function"]["Architectures"][0]
    pt = params["PowertoolsLayerArn"]
    assert pt["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert pt["Default"] == f"/aws/service/powertools/python/{arch}/{runtime}/{_pinned('aws-lambda-powertools')}"
    pandas = params["AwsSdkPandasLayerArn"]
    assert pandas["Type"] == "AWS::SSM::Parameter::Value<String>"
    m = re.fullmatch(r"/aws/service/aws-sdk-pandas/([\d.]+)/([a-z0-9-]+)/py(\d\.\d+)/([a-z0-9_]+)/layer-arn",
                     pandas["Default"])
    assert m and m.groups() == (_pinned("awswrangler"), "ap-northeast-2", runtime.removeprefix("python"), arch)

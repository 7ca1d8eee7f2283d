"""template.yaml deployed into moto by local.provision.deploy: what the local runners see is what was declared.

The main deployment is made once for the module (moto reset first, as the ``aws`` fixture does) and everything the
assertions need is read back from moto inside the fixture, so the tests below are independent of test order.
"""
from __future__ import annotations

import ast
import json

import boto3
import pytest
import requests

from local.provision import deploy, write_secrets
from sori.records import TABLES, glue_columns

REGION = "ap-northeast-2"
FUNCTIONS = ("SchemaMigrationFunction", "ChartsFunction", "ChartsDropFunction", "CatalogFunction", "ListeningFunction", "DynamoSinkFunction",
             "S3SinkFunction", "CompactFunction", "RelatedBuilderFunction", "ChatbotFunction")


def client(url: str, service: str):
    return boto3.client(service, endpoint_url=url, region_name=REGION)


@pytest.fixture(scope="module")
def stack(moto_url):
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    d = deploy(moto_url, region=REGION, stack_name="sori-test")
    out = d["outputs"]
    c = lambda s: client(moto_url, s)  # noqa: E731
    ddb = c("dynamodb")
    snap = {
        "deployed": d,
        "stack": c("cloudformation").describe_stacks(StackName="sori-test")["Stacks"][0],
        "stream": c("kinesis").describe_stream_summary(StreamName=out["StreamName"])["StreamDescriptionSummary"],
        "tables": {n: ddb.describe_table(TableName=out[n])["Table"] for n in ("TopTracksTableName", "StateTableName")},
        "ttl": {n: ddb.describe_time_to_live(TableName=out[n])["TimeToLiveDescription"]
                for n in ("TopTracksTableName", "StateTableName")},
        "pitr": ddb.describe_continuous_backups(TableName=out["TopTracksTableName"])["ContinuousBackupsDescription"],
        "queues": {n: c("sqs").get_queue_attributes(QueueUrl=out[n], AttributeNames=["All"])["Attributes"]
                   for n in ("DynamoSinkDLQUrl", "S3SinkDLQUrl", "ProducerDLQUrl", "RefreshQueueUrl", "RefreshDLQUrl")},
        "secrets": {n: json.loads(c("secretsmanager").get_secret_value(SecretId=out[n])["SecretString"])
                    for n in ("SpotifySecretArn", "ListeningTokenSecretArn", "MysqlSecretArn", "SkillSecretArn")},
        "glue_tables": {t["Name"]: t for t in c("glue").get_tables(DatabaseName=out["GlueDatabaseName"])["TableList"]},
        "crawler": c("glue").get_crawler(Name=out["LandingCrawlerName"])["Crawler"],
        "workgroup": c("athena").get_work_group(WorkGroup=out["AthenaWorkGroupName"])["WorkGroup"],
        "bucket": {
            "encryption": c("s3").get_bucket_encryption(Bucket=out["LakeBucketName"])["ServerSideEncryptionConfiguration"],
            "public_access": c("s3").get_public_access_block(Bucket=out["LakeBucketName"])[
                "PublicAccessBlockConfiguration"],
            "lifecycle": c("s3").get_bucket_lifecycle_configuration(Bucket=out["LakeBucketName"])["Rules"],
        },
        "routes": c("apigatewayv2").get_routes(ApiId=d["http_api"]["api_id"])["Items"],
        "role_statements": {lid: _role_statements(c("iam"), f["name"], c("lambda"))
                            for lid, f in d["functions"].items()},
        "alarms": c("cloudwatch").describe_alarms(AlarmNamePrefix="sori-test-")["MetricAlarms"],
        "topics": [t["TopicArn"] for t in c("sns").list_topics()["Topics"]],
        "vpcs": c("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.42.0.0/16"]}])["Vpcs"],
        "subnets": c("ec2").describe_subnets()["Subnets"],
        "nat_gateways": c("ec2").describe_nat_gateways()["NatGateways"],
        "endpoints": c("ec2").describe_vpc_endpoints()["VpcEndpoints"],
        "databases": c("rds").describe_db_instances()["DBInstances"],
        "vpc_configs": {lid: c("lambda").get_function_configuration(FunctionName=f["name"]).get("VpcConfig") or {}
                        for lid, f in d["functions"].items()},
    }
    return snap


#: The functions that use MySQL: in the stack's private subnets; the others stay outside the VPC.
MYSQL_FUNCTIONS = {"ChartsFunction", "ChartsDropFunction", "CatalogFunction", "ListeningFunction",
                   "RelatedBuilderFunction", "ChatbotFunction", "SchemaMigrationFunction"}


def test_the_database_and_its_network_deploy_with_the_stack(stack):
    vpc = stack["vpcs"]
    assert len(vpc) == 1
    private = {s["SubnetId"] for s in stack["subnets"] if s["VpcId"] == vpc[0]["VpcId"]
               and s["CidrBlock"] in ("10.42.1.0/24", "10.42.2.0/24")}
    assert len(private) == 2
    assert len({s["AvailabilityZone"] for s in stack["subnets"] if s["SubnetId"] in private}) == 2
    assert len(stack["nat_gateways"]) == 1
    assert sorted(e["ServiceName"].rsplit(".", 1)[1] for e in stack["endpoints"]) == ["dynamodb", "s3"]
    (db,) = stack["databases"]
    assert (db["Engine"], db["EngineVersion"][:3], db["DBInstanceClass"]) == ("mysql", "8.4", "db.t4g.micro")
    assert db["StorageEncrypted"] is True and db["PubliclyAccessible"] is False
    env = stack["deployed"]["functions"]["ChatbotFunction"]["environment"]
    assert env["SORI_MYSQL_HOST"] == db["Endpoint"]["Address"] == stack["deployed"]["outputs"]["MysqlEndpoint"]


def test_exactly_the_mysql_users_run_in_the_private_subnets(stack):
    in_vpc = {lid for lid, cfg in stack["vpc_configs"].items() if cfg.get("SubnetIds")}
    assert in_vpc == MYSQL_FUNCTIONS & set(stack["vpc_configs"])
    private = {s["SubnetId"] for s in stack["subnets"] if s["CidrBlock"] in ("10.42.1.0/24", "10.42.2.0/24")}
    for lid in in_vpc:
        assert set(stack["vpc_configs"][lid]["SubnetIds"]) == private, lid


def _role_statements(iam, function_name: str, lam) -> list[dict]:
    """The Allow statements of a deployed function's role, as moto's IAM holds them (Refs resolved)."""
    role = lam.get_function_configuration(FunctionName=function_name)["Role"].rsplit("/", 1)[1]
    out = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(doc, str):  # moto's CloudFormation stores the document as a Python repr, not JSON
            doc = ast.literal_eval(doc) if doc.startswith("{'") else json.loads(doc)
        out += [st for st in doc["Statement"] if st["Effect"] == "Allow"]
    return out


def _allowed(statements: list[dict], action: str) -> set[str]:
    found = set()
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if action in actions:
            found |= set(st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
    return found


def test_stack_created_with_every_output(stack):
    assert stack["stack"]["StackStatus"] == "CREATE_COMPLETE"
    out = stack["deployed"]["outputs"]
    assert all(v for v in out.values())
    assert {f"{f}Name" for f in FUNCTIONS} <= set(out)
    # moto's own view of the outputs agrees where it can resolve them (no self-provisioned dependency)
    # (moto's Ref to a LayerVersion is its Python repr, a moto gap: the provisioner recovers the real ARN)
    moto_out = {o["OutputKey"]: o["OutputValue"] for o in stack["stack"].get("Outputs", [])
                if o["OutputKey"] != "SoriLayerArn"}
    assert len(moto_out) > 20 and {k: out[k] for k in moto_out} == moto_out
    assert out["SoriLayerArn"].startswith("arn:aws:lambda:ap-northeast-2:") and out["SoriLayerArn"].endswith(":1")


def test_stream_on_demand_and_kms_encrypted(stack):
    s = stack["stream"]
    assert s["StreamName"] == "sori-test-records"
    assert s["EncryptionType"] == "KMS" and s["KeyId"] == "alias/aws/kinesis"
    assert s["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"


def test_dynamodb_tables_keys_ttl_pitr(stack):
    top = stack["tables"]["TopTracksTableName"]
    assert [(k["AttributeName"], k["KeyType"]) for k in top["KeySchema"]] == [("artist_id", "HASH"),
                                                                              ("track_id", "RANGE")]
    assert top["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert stack["ttl"]["TopTracksTableName"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert stack["pitr"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    state = stack["tables"]["StateTableName"]
    assert [(k["AttributeName"], k["KeyType"]) for k in state["KeySchema"]] == [("pk", "HASH")]


def test_bucket_encrypted_private_with_lifecycle(stack):
    b = stack["bucket"]
    assert b["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(b["public_access"].values()) and len(b["public_access"]) == 4
    landing = next(r for r in b["lifecycle"] if r["Filter"].get("Prefix") == "landing/")
    assert landing["Status"] == "Enabled" and landing["Expiration"]["Days"] == 90


def test_bucket_expires_parked_dead_letters_after_the_dlq_retention(stack):
    rule = next(r for r in stack["bucket"]["lifecycle"] if r["Filter"].get("Prefix") == "dlq/")
    assert rule["Status"] == "Enabled" and rule["Expiration"]["Days"] * 86400 > 1209600


def _alarms_on(stack, metric: str) -> dict[str, dict]:
    """dimension value -> alarm, for the alarms on ``metric``."""
    return {a["Dimensions"][0]["Value"]: a for a in stack["alarms"] if a["MetricName"] == metric}


def test_a_chart_drop_that_fails_every_retry_is_parked_on_the_producer_dlq(stack):
    fns = stack["deployed"]["functions"]
    parked = fns["ChartsDropFunction"]["async_on_failure_queue_url"]
    assert parked.rsplit("/", 1)[1] == stack["deployed"]["outputs"]["ProducerDLQUrl"].rsplit("/", 1)[1]
    assert [lid for lid, f in fns.items() if f["async_on_failure_queue_url"]] == ["ChartsDropFunction"]
    # the destination is sent to with the function's own role (SAM adds the grant, on that queue only)
    assert _allowed(stack["role_statements"]["ChartsDropFunction"], "sqs:SendMessage") == \
        {stack["queues"]["ProducerDLQUrl"]["QueueArn"]}


def test_every_dead_letter_queue_alarms_when_a_message_waits(stack):
    topic = stack["deployed"]["outputs"]["AlarmTopicArn"]
    assert topic in stack["topics"]
    waiting = _alarms_on(stack, "ApproximateNumberOfMessagesVisible")
    for n in ("DynamoSinkDLQUrl", "S3SinkDLQUrl", "ProducerDLQUrl", "RefreshDLQUrl"):
        queue = stack["queues"][n]["QueueArn"].rsplit(":", 1)[1]
        a = waiting[queue]
        assert (a["Namespace"], a["Statistic"], a["ComparisonOperator"], a["Threshold"]) == \
            ("AWS/SQS", "Maximum", "GreaterThanThreshold", 0)
        assert a["AlarmActions"] == [topic] and a["OKActions"] == [topic]
    assert len(waiting) == 4  # not the work queue (RefreshQueue): messages there are normal


def test_sinks_alarm_on_lag_and_runs_alarm_on_errors(stack):
    fns = {lid: f["name"] for lid, f in stack["deployed"]["functions"].items()}
    lag = _alarms_on(stack, "IteratorAge")
    assert set(lag) == {fns["DynamoSinkFunction"], fns["S3SinkFunction"]}
    for a in lag.values():  # well before the mappings' 1 h maximum record age sends records to the DLQ
        assert a["Threshold"] + a["Period"] * a["EvaluationPeriods"] * 1000 <= 1800 * 1000
    errors = _alarms_on(stack, "Errors")
    # the schema migration runs inside a deploy: its failure fails the deploy (stack events), no alarm needed
    assert set(errors) == {fns[f] for f in FUNCTIONS
                           if f not in ("DynamoSinkFunction", "S3SinkFunction", "SchemaMigrationFunction")}
    assert all(a["Threshold"] == 0 and a["Statistic"] == "Sum" for a in errors.values())
    slow = _alarms_on(stack, "Duration")[fns["ChatbotFunction"]]
    assert slow["ExtendedStatistic"] == "p99" and slow["Threshold"] < 5000  # Kakao's limit


def test_queues_retain_fourteen_days_and_refresh_redrives(stack):
    q = stack["queues"]
    for n in ("DynamoSinkDLQUrl", "S3SinkDLQUrl", "ProducerDLQUrl", "RefreshDLQUrl"):
        assert q[n]["MessageRetentionPeriod"] == "1209600"
        assert "RedrivePolicy" not in q[n]
    redrive = json.loads(q["RefreshQueueUrl"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == q["RefreshDLQUrl"]["QueueArn"]
    # AWS: a source queue's visibility timeout at least six times the function's timeout
    assert int(q["RefreshQueueUrl"]["VisibilityTimeout"]) >= \
        6 * stack["deployed"]["functions"]["CatalogFunction"]["timeout"]


def test_secrets_generated_with_their_keys(stack):
    s = stack["secrets"]
    assert set(s["SpotifySecretArn"]) == {"client_id", "client_secret"}
    assert set(s["ListeningTokenSecretArn"]) == {"refresh_token"}
    assert set(s["MysqlSecretArn"]) == {"username", "password"} and len(s["MysqlSecretArn"]["password"]) == 32
    assert set(s["SkillSecretArn"]) == {"secret"} and s["SkillSecretArn"]["secret"].isalnum()


def test_functions_handlers_runtime_and_resolved_environment(stack):
    d = stack["deployed"]
    fns, out = d["functions"], d["outputs"]
    assert set(fns) == set(FUNCTIONS)
    for lid, f in fns.items():
        assert f["runtime"] == "python3.12"
        assert f["name"] == out[f"{lid}Name"]
        assert f["environment"]["POWERTOOLS_SERVICE_NAME"]
        if lid == "RelatedBuilderFunction":  # a container image in the cloud: deployed to moto as its zip, no layers
            assert f["layers"] == [], lid
        elif lid in ("S3SinkFunction", "CompactFunction"):  # beside the pandas layer: the protobuf-free SoriLayer
            assert any("SoriPandasLayer" in arn for arn in f["layers"]), (lid, f["layers"])
            assert out["SoriLayerArn"] not in f["layers"], lid
        else:
            assert out["SoriLayerArn"] in f["layers"]
        assert not any("{" in str(v) or "Ref" in str(v) for v in f["environment"].values()), lid  # every Ref resolved
    assert fns["DynamoSinkFunction"]["handler"] == "consumers.dynamo_sink.handler.lambda_handler"
    assert fns["ChartsDropFunction"]["handler"] == "producers.charts.s3_handler"
    env = {lid: f["environment"] for lid, f in fns.items()}
    assert env["DynamoSinkFunction"]["SORI_TOP_TRACKS_TABLE"] == out["TopTracksTableName"]
    assert env["DynamoSinkFunction"]["SORI_DLQ_URL"] == out["DynamoSinkDLQUrl"]
    assert env["S3SinkFunction"]["SORI_DLQ_URL"] == out["S3SinkDLQUrl"]
    assert env["S3SinkFunction"]["SORI_BUCKET"] == out["LakeBucketName"]
    assert env["S3SinkFunction"]["SORI_GLUE_DATABASE"] == out["GlueDatabaseName"]
    assert env["ChartsFunction"]["SORI_STREAM_NAME"] == out["StreamName"]
    assert env["ChatbotFunction"]["SORI_SKILL_SECRET_ARN"] == out["SkillSecretArn"]
    assert env["ChatbotFunction"]["SORI_REFRESH_QUEUE_URL"] == out["RefreshQueueUrl"]
    assert env["ListeningFunction"]["SORI_LISTENING_SECRET_ARN"] == out["ListeningTokenSecretArn"]
    assert env["CatalogFunction"]["SORI_LISTENING_SECRET_ARN"] == out["ListeningTokenSecretArn"]
    assert env["ChartsDropFunction"]["SORI_DLQ_URL"] == out["ProducerDLQUrl"]
    assert env["ChartsFunction"]["SORI_CHARTS_CSV_URL"] == env["ChartsDropFunction"]["SORI_CHARTS_CSV_URL"] == ""
    for lid in ("ChartsFunction", "ChartsDropFunction", "CatalogFunction", "ListeningFunction"):
        assert env[lid]["SORI_MYSQL_SECRET_ARN"] == out["MysqlSecretArn"], lid
    assert env["RelatedBuilderFunction"]["SORI_ATHENA_WORKGROUP"] == out["AthenaWorkGroupName"]
    assert env["RelatedBuilderFunction"]["SORI_MYSQL_SECRET_ARN"] == out["MysqlSecretArn"]
    assert len(fns["S3SinkFunction"]["layers"]) == 3 and len(fns["ChatbotFunction"]["layers"]) == 2
    assert len(fns["ChatbotFunction"]["vpc_subnets"]) == 2  # no VpcSubnetIds given: the stack's own private subnets
    assert fns["DynamoSinkFunction"]["vpc_subnets"] == []  # no MySQL, no VPC


def test_kinesis_mappings_as_configured(stack):
    d = stack["deployed"]
    kin = {m["function"]: m for m in d["event_source_mappings"] if "stream_name" in m}
    assert set(kin) == {"DynamoSinkFunction", "S3SinkFunction"}
    dlq = {"DynamoSinkFunction": "DynamoSinkDLQ", "S3SinkFunction": "S3SinkDLQ"}
    for fn, m in kin.items():
        assert m["stream_name"] == d["outputs"]["StreamName"]
        assert m["starting_position"] == "TRIM_HORIZON"
        assert m["bisect"] is True and m["report_batch_item_failures"] is True
        assert m["maximum_retry_attempts"] == 5 and m["maximum_record_age_s"] == 3600
        assert m["on_failure_queue_url"].endswith("/" + d["outputs"][f"{dlq[fn]}Url"].rsplit("/", 1)[1])
        assert m["batch_size"] > 0 and m["parallelization_factor"] >= 1
    assert kin["DynamoSinkFunction"]["maximum_batching_window_s"] == 1
    sqs = [m for m in d["event_source_mappings"] if "queue_url" in m]
    assert [m["function"] for m in sqs] == ["CatalogFunction"] and sqs[0]["report_batch_item_failures"]


def test_glue_tables_with_partition_key_and_crawler(stack):
    tables = stack["glue_tables"]
    assert set(tables) == set(TABLES)
    bucket = stack["deployed"]["outputs"]["LakeBucketName"]
    for name, t in tables.items():
        assert t["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
        assert t["StorageDescriptor"]["Columns"] == glue_columns(name)
        assert t["StorageDescriptor"]["Location"] == f"s3://{bucket}/lake/{name}/"
        assert t["Parameters"]["storage.location.template"] == f"s3://{bucket}/lake/{name}/dt=${{dt}}/"
    assert stack["crawler"]["Targets"]["S3Targets"][0]["Path"] == f"s3://{bucket}/landing/"
    assert stack["crawler"]["Role"].startswith("arn:aws:iam::")
    cfg = stack["workgroup"]["Configuration"]
    assert cfg["ResultConfiguration"]["OutputLocation"] == f"s3://{bucket}/athena-results/"


def test_schedules_and_s3_drop(stack):
    d = stack["deployed"]
    sched = {s["logical_id"]: s for s in d["schedules"]}
    assert sched["CatalogFunctionNightly"]["expression"] == "cron(0 18 * * ? *)"
    assert sched["CatalogFunctionNightly"]["function"] == "CatalogFunction"
    assert sched["RelatedBuilderFunctionDaily"]["expression"] == "cron(0 20 * * ? *)"
    assert sched["ListeningFunctionRecentlyPlayed"]["input"] == {"job": "recently_played"}
    assert sched["ListeningFunctionFollowedArtists"]["input"] == {"job": "followed_artists"}
    assert {s["function"] for s in d["schedules"]} == {"ChartsFunction", "CatalogFunction", "ListeningFunction",
                                                        "CompactFunction", "RelatedBuilderFunction"}
    assert d["s3_notifications"] == [{"bucket": d["outputs"]["LakeBucketName"], "function": "ChartsDropFunction",
                                      "events": ["s3:ObjectCreated:*"], "prefix": "landing/charts/",
                                      "suffix": ".csv"}]


def test_http_api_routes_skill_to_chatbot(stack):
    api = stack["deployed"]["http_api"]
    assert (api["route"], api["function"]) == ("POST /skill", "ChatbotFunction")
    assert [r["RouteKey"] for r in stack["routes"]] == ["POST /skill"]
    assert stack["deployed"]["outputs"]["ChatbotApiUrl"].startswith(f"https://{api['api_id']}.execute-api.")


def test_deployed_roles_grant_what_the_producers_need(stack):
    """Read back from moto's IAM, Refs resolved: the rejected-file prefix, the producer DLQ, the token write-back."""
    out = stack["deployed"]["outputs"]
    st = stack["role_statements"]
    bucket_arn = f"arn:aws:s3:::{out['LakeBucketName']}"
    assert _allowed(st["ChartsDropFunction"], "s3:PutObject") == {bucket_arn + "/rejected/charts/*"}
    assert _allowed(st["ChartsDropFunction"], "s3:GetObject") == {bucket_arn + "/landing/charts/*"}
    dlq_arn = stack["queues"]["ProducerDLQUrl"]["QueueArn"]
    assert _allowed(st["ChartsDropFunction"], "sqs:SendMessage") == {dlq_arn}
    for lid in ("ListeningFunction", "CatalogFunction"):
        assert _allowed(st[lid], "secretsmanager:PutSecretValue") == {out["ListeningTokenSecretArn"]}, lid
    assert not any(_allowed(s, "secretsmanager:PutSecretValue") for lid, s in st.items()
                   if lid not in ("ListeningFunction", "CatalogFunction"))
    assert _allowed(st["ChatbotFunction"], "sqs:SendMessage") == {stack["queues"]["RefreshQueueUrl"]["QueueArn"]}
    # the pollers read their one source (no AWS-managed poller policy on Resource *)
    stream_arn = stack["stream"]["StreamARN"]
    for lid in ("DynamoSinkFunction", "S3SinkFunction"):
        for action in ("kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"):
            assert _allowed(st[lid], action) == {stream_arn}, (lid, action)
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert _allowed(st["CatalogFunction"], action) == {stack["queues"]["RefreshQueueUrl"]["QueueArn"]}, action


def test_overrides_set_vpc_and_mysql(aws):
    d = deploy(aws, stack_name="sori-vpc", overrides={"VpcSubnetIds": ["subnet-a", "subnet-b"],
                                                      "VpcSecurityGroupIds": "sg-1", "MysqlHost": "db.internal",
                                                      "GlueDatabaseName": "sori_vpc",
                                                      "ChartsCsvUrl": "https://charts.example/csv",
                                                      "AlarmEmail": "ops@example.com"})
    fns = d["functions"]
    mysql_users = {"ChatbotFunction", "RelatedBuilderFunction", "ChartsFunction", "ChartsDropFunction",
                   "CatalogFunction", "ListeningFunction", "SchemaMigrationFunction"}
    for lid, f in fns.items():  # only MySQL users join the VPC
        assert f["vpc_subnets"] == (["subnet-a", "subnet-b"] if lid in mysql_users else []), lid
        assert (f["environment"].get("SORI_MYSQL_HOST") == "db.internal") == (lid in mysql_users), lid
    assert fns["ChartsFunction"]["environment"]["SORI_CHARTS_CSV_URL"] == "https://charts.example/csv"
    assert fns["ChartsDropFunction"]["environment"]["SORI_CHARTS_CSV_URL"] == "https://charts.example/csv"
    assert fns["S3SinkFunction"]["environment"]["SORI_GLUE_DATABASE"] == "sori_vpc"
    subs = client(aws, "sns").list_subscriptions_by_topic(TopicArn=d["outputs"]["AlarmTopicArn"])["Subscriptions"]
    assert [(x["Protocol"], x["Endpoint"]) for x in subs] == [("email", "ops@example.com")]


def test_write_secrets_merges_values(aws):
    d = deploy(aws, stack_name="sori-sec")
    written = write_secrets(aws, d, {"SpotifySecret": {"client_id": "cid", "client_secret": "shh"},
                                     "SkillSecret": {"secret": "kakao"}})
    sm = client(aws, "secretsmanager")
    assert json.loads(sm.get_secret_value(SecretId=written["SpotifySecret"])["SecretString"]) == \
        {"client_id": "cid", "client_secret": "shh"}
    assert json.loads(sm.get_secret_value(SecretId=d["outputs"]["SkillSecretArn"])["SecretString"]) == \
        {"secret": "kakao"}
    with pytest.raises(KeyError):
        write_secrets(aws, d, {"TopTracksTable": {"x": 1}})


def test_deploying_twice_is_refused_clearly(aws):
    deploy(aws, stack_name="sori-twice")
    with pytest.raises(RuntimeError, match="already exists"):
        deploy(aws, stack_name="sori-twice")

"""What moto's CloudFormation skips or creates only in part: resources created here with plain boto3 calls
(:data:`SELF_PROVISIONED`, :data:`DEFERRABLE`), properties filled in after the stack (:data:`GAP_FILLERS`), and the
attributes those resources expose (see the moto gaps listed in :mod:`local.provision`)."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import boto3


class Ctx:
    """boto3 clients on one endpoint/region, created lazily."""

    def __init__(self, endpoint_url: str, region: str):
        self.endpoint_url = endpoint_url
        self.region = region
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str):
        if service not in self._clients:
            self._clients[service] = boto3.client(service, endpoint_url=self.endpoint_url, region_name=self.region)
        return self._clients[service]


def _create_secret(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    sm = c("secretsmanager")
    if "SecretString" in p:
        value = p["SecretString"]
    else:
        gen = p.get("GenerateSecretString", {})
        pw = sm.get_random_password(
            PasswordLength=int(gen.get("PasswordLength", 32)), ExcludeCharacters=gen.get("ExcludeCharacters", ""),
            ExcludePunctuation=bool(gen.get("ExcludePunctuation", False)),
        )["RandomPassword"]
        if "GenerateStringKey" in gen:
            doc = json.loads(gen.get("SecretStringTemplate") or "{}")
            doc[gen["GenerateStringKey"]] = pw
            value = json.dumps(doc)
        else:
            value = pw
    kw = {"Description": p["Description"]} if p.get("Description") else {}
    arn = sm.create_secret(Name=p.get("Name") or lid, SecretString=value, **kw)["ARN"]
    return arn, {"Id": arn}


def _insecure_transport_deny(st: dict) -> bool:
    return st.get("Effect") == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}


def _create_bucket_policy(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    doc = dict(p["PolicyDocument"])
    if c.endpoint_url.startswith("http://"):
        # moto evaluates bucket policies, and the local endpoint is plain HTTP: a deny-without-TLS statement would
        # refuse every request. It is the one statement left out locally (the cloud gets the template as is).
        doc["Statement"] = [st for st in doc["Statement"] if not _insecure_transport_deny(st)]
    if doc["Statement"]:
        c("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(doc))
    return p["Bucket"], {}


def _create_glue_database(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    c("glue").create_database(DatabaseInput=p["DatabaseInput"])
    return p["DatabaseInput"]["Name"], {}


def _create_glue_table(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    c("glue").create_table(DatabaseName=p["DatabaseName"], TableInput=p["TableInput"])
    return p["TableInput"]["Name"], {}


def _create_glue_crawler(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    kw = {k: p[k] for k in ("Description", "TablePrefix", "SchemaChangePolicy", "Configuration", "Classifiers",
                            "RecrawlPolicy") if k in p}
    if "Schedule" in p:
        kw["Schedule"] = p["Schedule"]["ScheduleExpression"]
    c("glue").create_crawler(Name=p["Name"], Role=p["Role"], DatabaseName=p["DatabaseName"],
                             Targets=p["Targets"], **kw)
    return p["Name"], {}


def _create_workgroup(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    kw = {"Description": p["Description"]} if p.get("Description") else {}
    c("athena").create_work_group(Name=p["Name"], Configuration=p.get("WorkGroupConfiguration", {}), **kw)
    return p["Name"], {}


def _create_http_api(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    # moto implements ReimportApi but not ImportApi: create an empty HTTP API, then import the OpenAPI body into it
    gw = c("apigatewayv2")
    body = p["Body"]
    api = gw.create_api(Name=str(body.get("info", {}).get("title") or lid), ProtocolType="HTTP")
    api = gw.reimport_api(ApiId=api["ApiId"], Body=json.dumps(body))
    return api["ApiId"], {"ApiEndpoint": api.get("ApiEndpoint", "")}


def _create_stage(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    kw = {k: p[k] for k in ("AutoDeploy", "DefaultRouteSettings", "StageVariables", "Description") if k in p}
    c("apigatewayv2").create_stage(ApiId=p["ApiId"], StageName=p["StageName"], **kw)
    return p["StageName"], {}


def _create_schedule(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    kw = {k: p[k] for k in ("GroupName", "Description", "State", "ScheduleExpressionTimezone") if k in p}
    name = p.get("Name") or lid
    arn = c("scheduler").create_schedule(Name=name, ScheduleExpression=p["ScheduleExpression"],
                                         FlexibleTimeWindow=p["FlexibleTimeWindow"], Target=p["Target"],
                                         **kw)["ScheduleArn"]
    return name, {"Arn": arn}


_ALARM_KEYS = ("AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
               "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
               "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
               "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId")
_ALARM_NUMBERS = {"Period": int, "EvaluationPeriods": int, "DatapointsToAlarm": int, "Threshold": float}


def _create_alarm(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    name = p.get("AlarmName") or lid
    kw = {k: (_ALARM_NUMBERS[k](p[k]) if k in _ALARM_NUMBERS else p[k]) for k in _ALARM_KEYS if k in p}
    c("cloudwatch").put_metric_alarm(AlarmName=name, **kw)
    arn = c("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    return name, {"Arn": arn}


def _put_event_invoke_config(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    kw = {k: p[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig") if k in p}
    for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if k in kw:
            kw[k] = int(kw[k])
    c("lambda").put_function_event_invoke_config(FunctionName=p["FunctionName"], **kw)
    return f"{p['FunctionName']}:{p.get('Qualifier', '$LATEST')}", {}


def _add_permission(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    kw = {k: p[k] for k in ("SourceArn", "SourceAccount") if k in p}
    c("lambda").add_permission(FunctionName=p["FunctionName"], StatementId=lid, Action=p["Action"],
                               Principal=p["Principal"], **kw)
    return lid, {}


def _create_db_parameter_group(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    # moto's CloudFormation creates it, but a Ref to it hands the DB instance the Python object, not its name
    # (AttributeError: 'DBParameterGroup' object has no attribute 'startswith'): created here, Ref = its name
    name = p.get("DBParameterGroupName") or lid.lower()
    c("rds").create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily=p["Family"],
                                       Description=p["Description"])
    params = [{"ParameterName": k, "ParameterValue": str(v), "ApplyMethod": "pending-reboot"}
              for k, v in (p.get("Parameters") or {}).items()]
    if params:
        c("rds").modify_db_parameter_group(DBParameterGroupName=name, Parameters=params)
    return name, {}


def _schema_migration_here(c: Ctx, lid: str, p: dict) -> tuple[str, dict]:
    # moto's CloudFormation would invoke the function, which it cannot run. The local stack migrates its MariaDB
    # itself (local/mariadb.create_database, the same migrations); the function is driven through the custom-resource
    # protocol against MariaDB by tests/integration/test_schema_migration.py. Recorded, not run.
    return f"sori-schema-{lid}", {"Version": str(p.get("SchemaVersion", "")), "Applied": ""}


#: Resource types moto 5.2.5's CloudFormation does not implement: created here from the transformed template.
SELF_PROVISIONED: dict[str, Callable[[Ctx, str, dict], tuple[str, dict]]] = {
    "AWS::SecretsManager::Secret": _create_secret,
    "AWS::S3::BucketPolicy": _create_bucket_policy,
    "AWS::Glue::Database": _create_glue_database,
    "AWS::Glue::Table": _create_glue_table,
    "AWS::Glue::Crawler": _create_glue_crawler,
    "AWS::Athena::WorkGroup": _create_workgroup,
    "AWS::ApiGatewayV2::Api": _create_http_api,
    "AWS::ApiGatewayV2::Stage": _create_stage,
    "AWS::CloudWatch::Alarm": _create_alarm,
    "AWS::Lambda::EventInvokeConfig": _put_event_invoke_config,
    "AWS::Scheduler::Schedule": _create_schedule,
    "AWS::RDS::DBParameterGroup": _create_db_parameter_group,
    "Custom::SchemaMigration": _schema_migration_here,
}

#: Stack resource types that may be deferred (created here) when they depend on a self-provisioned resource that
#: itself needs the stack first (SAM's HTTP API permission references the API id).
DEFERRABLE: dict[str, Callable[[Ctx, str, dict], tuple[str, dict]]] = {
    "AWS::Lambda::Permission": _add_permission,
}


# ----------------------------------------------------------------------------------------------- gap fillers

def _fill_stream(c: Ctx, name: str, p: dict) -> None:
    k = c("kinesis")
    arn = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    mode = p.get("StreamModeDetails", {}).get("StreamMode")
    if mode:
        k.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": mode})
    enc = p.get("StreamEncryption")
    if enc:
        k.start_stream_encryption(StreamName=name, EncryptionType=enc["EncryptionType"], KeyId=enc["KeyId"])


def _fill_table(c: Ctx, name: str, p: dict) -> None:
    d = c("dynamodb")
    ttl = p.get("TimeToLiveSpecification")
    if ttl:
        d.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "AttributeName": ttl["AttributeName"], "Enabled": bool(ttl.get("Enabled", True))})
    pitr = p.get("PointInTimeRecoverySpecification")
    if pitr:
        d.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": bool(pitr.get("PointInTimeRecoveryEnabled"))})


def _s3_filter(f: dict | None) -> dict:
    rules = (f or {}).get("S3Key", {}).get("Rules", [])
    return {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}} if rules else {}


def _fill_bucket(c: Ctx, name: str, p: dict) -> None:
    s3 = c("s3")
    if "PublicAccessBlockConfiguration" in p:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in p:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
    if "LifecycleConfiguration" in p:
        rules = []
        for r in p["LifecycleConfiguration"]["Rules"]:
            rule: dict[str, Any] = {"ID": r.get("Id", ""), "Status": r["Status"],
                                    "Filter": {"Prefix": r.get("Prefix", "")}}
            if "ExpirationInDays" in r:
                rule["Expiration"] = {"Days": int(r["ExpirationInDays"])}
            if "AbortIncompleteMultipartUpload" in r:
                rule["AbortIncompleteMultipartUpload"] = {
                    "DaysAfterInitiation": int(r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
            rules.append(rule)
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    notif = p.get("NotificationConfiguration")
    if notif:
        conf: dict[str, list] = {}
        for src, dst, arn_key in (("LambdaConfigurations", "LambdaFunctionConfigurations", "LambdaFunctionArn"),
                                  ("QueueConfigurations", "QueueConfigurations", "QueueArn"),
                                  ("TopicConfigurations", "TopicConfigurations", "TopicArn")):
            src_arn = {"LambdaConfigurations": "Function", "QueueConfigurations": "Queue",
                       "TopicConfigurations": "Topic"}[src]
            for n in notif.get(src, []):
                item = {arn_key: n[src_arn], "Events": [n["Event"]]}
                item.update({"Filter": _s3_filter(n.get("Filter"))} if n.get("Filter") else {})
                conf.setdefault(dst, []).append(item)
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=conf,
                                                 SkipDestinationValidation=True)


def _fill_function(c: Ctx, name: str, p: dict) -> None:
    if p.get("Layers"):
        c("lambda").update_function_configuration(FunctionName=name, Layers=list(p["Layers"]))


#: Types moto's CloudFormation creates but whose listed properties it ignores: applied afterwards with boto3.
GAP_FILLERS: dict[str, Callable[[Ctx, str, dict], None]] = {
    "AWS::Kinesis::Stream": _fill_stream,
    "AWS::DynamoDB::Table": _fill_table,
    "AWS::S3::Bucket": _fill_bucket,
    "AWS::Lambda::Function": _fill_function,
}


# ----------------------------------------------------------------------------------------------- attributes

def _attribute(c: Ctx, rtype: str, physical: str, extra: Mapping[str, Any], attr: str) -> Any:
    """GetAtt for a created resource, read back from moto."""
    if attr in extra:
        return extra[attr]
    if rtype == "AWS::Lambda::Function" and attr == "Arn":
        return c("lambda").get_function_configuration(FunctionName=physical)["FunctionArn"]
    if rtype == "AWS::IAM::Role":
        role = c("iam").get_role(RoleName=physical)["Role"]
        return {"Arn": role["Arn"], "RoleId": role["RoleId"]}[attr]
    if rtype == "AWS::Kinesis::Stream" and attr == "Arn":
        return c("kinesis").describe_stream_summary(StreamName=physical)["StreamDescriptionSummary"]["StreamARN"]
    if rtype == "AWS::SQS::Queue":
        arn = c("sqs").get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {"Arn": arn, "QueueName": arn.rsplit(":", 1)[1], "QueueUrl": physical}[attr]
    if rtype == "AWS::DynamoDB::Table":
        t = c("dynamodb").describe_table(TableName=physical)["Table"]
        return {"Arn": t["TableArn"], "StreamArn": t.get("LatestStreamArn")}[attr]
    if rtype == "AWS::S3::Bucket":
        return {"Arn": f"arn:aws:s3:::{physical}", "DomainName": f"{physical}.s3.amazonaws.com"}[attr]
    if rtype == "AWS::Events::Rule" and attr == "Arn":
        return c("events").describe_rule(Name=physical)["Arn"]
    if rtype == "AWS::SecretsManager::Secret" and attr == "Id":
        return physical
    if rtype == "AWS::RDS::DBInstance" and attr in ("Endpoint.Address", "Endpoint.Port"):
        ep = c("rds").describe_db_instances(DBInstanceIdentifier=physical)["DBInstances"][0]["Endpoint"]
        return ep["Address"] if attr == "Endpoint.Address" else str(ep["Port"])
    if rtype == "AWS::EC2::EIP" and attr == "AllocationId":
        return c("ec2").describe_addresses(PublicIps=[physical])["Addresses"][0]["AllocationId"]
    raise KeyError(f"GetAtt {attr} of {rtype} is not supported by the local provisioner")

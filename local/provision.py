"""Deploy ``template.yaml`` into moto: the local stack runs exactly what the cloud runs (DESIGN.md §5).

The steps mirror ``sam package && sam deploy``, offline::

    deployed = deploy("http://127.0.0.1:5000")           # returns a description of the stack
    deployed["functions"]["DynamoSinkFunction"]["environment"]["SORI_TOP_TRACKS_TABLE"]
    deployed["event_source_mappings"][0]["bisect"]        # as configured in the template
    write_secrets("http://127.0.0.1:5000", deployed, {"SpotifySecret": {"client_id": "id", "client_secret": "s"}})

1. load the SAM template (short tags ``!Ref``/``!Sub``… via samtranslator's YAML loader);
2. zip the code (functions: producers/ consumers/ chatbot/; layer: sori/ under ``python/``) into an artifacts bucket
   and point ``CodeUri``/``ContentUri`` at it (what ``sam package`` does);
3. SAM-transform it with aws-sam-translator, offline (a fixed managed-policy map; no IAM call);
4. split the transformed template: resource types moto's CloudFormation does not implement (:data:`SELF_PROVISIONED`)
   are created here with plain boto3 calls, from the same transformed template (names, columns, configuration
   all come from it). Those that only depend on parameters are created *before* the stack and their Refs/GetAtts
   are substituted into the stack template as literals, so moto's Lambda environments carry real ARNs/names;
   those that depend on stack resources (the HTTP API needs the chatbot's ARN, the crawler its role) are created
   *after*, and the few stack resources that in turn depend on them (the API's Lambda permission) are deferred;
5. ``create_stack`` in moto's CloudFormation (template uploaded to S3, ``TemplateURL``) and wait;
6. fill the gaps where moto's CloudFormation creates a resource but ignores properties (:data:`GAP_FILLERS`:
   stream encryption/mode, TTL/PITR, bucket public-access-block/lifecycle/notifications, function layers);
7. read back what moto holds and return it (:func:`describe`): functions with their resolved environment, the
   event source mappings with every retry/bisect/destination knob, schedules, the HTTP route, outputs.

moto 5.2.5 gaps this works around (each in one place, named after what it fixes):

* CloudFormation skips unknown types (Secrets Manager, Glue, Athena, API Gateway v2, Scheduler, S3 bucket policies)
  with a warning and silently drops any property that Refs them -> :data:`SELF_PROVISIONED` + pre-substitution;
* ``Fn::If`` yielding ``AWS::NoValue`` inside a list becomes ``None`` and crashes IAM -> :func:`fold_conditions`
  (conditions depend on parameters only, so folding them first is what CloudFormation computes anyway);
* ``/aws/...`` SSM names are reserved and moto resolves SSM-typed parameter *defaults* before overrides -> the public
  layer-ARN parameters are mirrored under ``/<stack>/ssm-mirror/aws/...`` (defaults rewritten in the stack body),
  their value a stand-in layer published in moto, because moto's Lambda refuses unknown layer ARNs (locally the
  venv provides pandas/Powertools);
* created-but-partial types (stream mode/encryption, TTL/PITR, bucket settings, function layers) -> :data:`GAP_FILLERS`;
* layer versions get a generated name and no physical id; Ref to one is garbage -> :func:`_missing_physical_id`;
* ApiGatewayV2 ``ImportApi`` is not implemented, ``ReimportApi`` is -> create an empty API and reimport the body;
* moto evaluates bucket policies and the endpoint is plain HTTP -> the deny-without-TLS statement is left out locally.

moto cannot run Lambda code (no Docker): nothing invokes through it. The S3 notification is still configured (so the
deployed truth is visible); moto tries and fails to invoke on a matching PUT and logs it; ``local/`` runners call the
handlers in-process instead, from this module's description of the stack.
"""
from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import boto3

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO / "template.yaml"
FUNCTION_PACKAGES = ("producers", "consumers", "chatbot")
LAYER_PACKAGES = ("sori",)
DEFAULT_REGION = "ap-northeast-2"
DEFAULT_STACK = "sori-local"

#: AWS managed policies the transform may name (SAM adds these by ARN for event sources); offline stand-in for
#: IAM ``ListPolicies`` so the transform never reaches the network.
MANAGED_POLICIES = {
    name: f"arn:aws:iam::aws:policy/service-role/{name}"
    for name in ("AWSLambdaBasicExecutionRole", "AWSLambdaKinesisExecutionRole", "AWSLambdaSQSQueueExecutionRole",
                 "AWSLambdaVPCAccessExecutionRole", "AWSLambdaDynamoDBExecutionRole", "AWSGlueServiceRole")
}

NO_VALUE = object()  # AWS::NoValue
PSEUDO = ("AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::Partition", "AWS::URLSuffix", "AWS::StackId",
          "AWS::NoValue", "AWS::NotificationARNs")


# ----------------------------------------------------------------------------------------------- template

def load_template(path: str | Path = TEMPLATE_PATH) -> dict:
    """The SAM template as a plain dict, short tags expanded (``!Ref X`` -> ``{"Ref": "X"}``).

    >>> load_template()["Transform"]
    'AWS::Serverless-2016-10-31'
    """
    from samtranslator.yaml_helper import yaml_parse

    return json.loads(json.dumps(yaml_parse(Path(path).read_text(encoding="utf-8"))))


def zip_packages(packages: Iterable[str], root: Path = REPO, prefix: str = "") -> bytes:
    """A deterministic zip of Python packages (``__pycache__`` and ``*.pyc`` left out), optionally under ``prefix``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in packages:
            for p in sorted((root / pkg).rglob("*")):
                if p.is_dir() or "__pycache__" in p.parts or p.suffix == ".pyc":
                    continue
                info = zipfile.ZipInfo(prefix + p.relative_to(root).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                zf.writestr(info, p.read_bytes())
    return buf.getvalue()


def package(template: dict, upload: Callable[[bytes], str]) -> dict:
    """Point every function's ``CodeUri`` and every layer's ``ContentUri`` at uploaded zips (``sam package``).

    ``upload(data) -> "s3://bucket/key"``. Returns a new template; the input is not changed.
    """
    t = copy.deepcopy(template)
    code_uri = upload(zip_packages(FUNCTION_PACKAGES))
    layer_uri = upload(zip_packages(LAYER_PACKAGES, prefix="python/"))
    t.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for res in t["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res.setdefault("Properties", {})["CodeUri"] = code_uri
        elif res["Type"] == "AWS::Serverless::LayerVersion":
            res.setdefault("Properties", {})["ContentUri"] = layer_uri
    return t


def sam_transform(template: dict, region: str = DEFAULT_REGION, parameters: Mapping[str, Any] | None = None) -> dict:
    """SAM -> plain CloudFormation with aws-sam-translator, offline."""
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    out = translator.translate(copy.deepcopy(template), dict(parameters or {}),
                               get_managed_policy_map=lambda: dict(MANAGED_POLICIES))
    return json.loads(json.dumps(out))


# ----------------------------------------------------------------------------------------------- intrinsics

_SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")


def _sub_parts(node: Any) -> tuple[str, dict]:
    return (node, {}) if isinstance(node, str) else (node[0], node[1])


def references(node: Any) -> set[str]:
    """Logical ids (resources, parameters or pseudo parameters) a template fragment refers to."""
    out: set[str] = set()
    if isinstance(node, dict):
        if "Ref" in node and len(node) == 1:
            out.add(node["Ref"])
            return out
        if "Fn::GetAtt" in node and len(node) == 1:
            ga = node["Fn::GetAtt"]
            out.add(ga.split(".", 1)[0] if isinstance(ga, str) else ga[0])
            return out
        if "Fn::Sub" in node and len(node) == 1:
            text, mapping = _sub_parts(node["Fn::Sub"])
            for var in _SUB_VAR.findall(text):
                name = var.split(".", 1)[0]
                if var not in mapping:
                    out.add(name)
            for v in mapping.values():
                out |= references(v)
            return out
        for v in node.values():
            out |= references(v)
    elif isinstance(node, list):
        for v in node:
            out |= references(v)
    return out


def resource_deps(res: dict) -> set[str]:
    """Resources one resource depends on: its references plus ``DependsOn``."""
    deps = references(res.get("Properties", {})) | references(res.get("Condition", []))
    dep_on = res.get("DependsOn", [])
    deps |= {dep_on} if isinstance(dep_on, str) else set(dep_on)
    return deps


class Resolver:
    """Evaluates CloudFormation intrinsics against known values.

    ``values`` maps parameter/pseudo names and resource logical ids to their Ref value; ``attribute(logical_id,
    name)`` answers GetAtt. Conditions are evaluated from the template's ``Conditions``.
    """

    def __init__(self, template: dict, values: dict[str, Any], attribute: Callable[[str, str], Any]):
        self.template = template
        self.values = values
        self.attribute = attribute
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template.get("Conditions", {})[name]))
        return self._conditions[name]

    def resolve(self, node: Any) -> Any:  # noqa: C901 - one branch per intrinsic
        if isinstance(node, list):
            return [v for v in (self.resolve(x) for x in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                if arg not in self.values:
                    raise KeyError(f"unresolved Ref {arg}")
                return self.values[arg]
            if key == "Fn::GetAtt":
                lid, attr = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.attribute(lid, attr)
            if key == "Fn::Sub":
                text, mapping = _sub_parts(arg)
                local = {k: self.resolve(v) for k, v in mapping.items()}

                def one(m: re.Match) -> str:
                    var = m.group(1)
                    if var in local:
                        return str(local[var])
                    if "." in var:
                        return str(self.attribute(*var.split(".", 1)))
                    return str(self.resolve({"Ref": var}))

                return _SUB_VAR.sub(one, text).replace("${!", "${")
            if key == "Fn::Join":
                return arg[0].join(str(x) for x in self.resolve(arg[1]))
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Split":
                return self.resolve(arg[1]).split(arg[0])
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(x) for x in arg)
            if key == "Fn::Or":
                return any(self.resolve(x) for x in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::FindInMap":
                m = self.template["Mappings"][self.resolve(arg[0])]
                return m[self.resolve(arg[1])][self.resolve(arg[2])]
            if key == "Fn::ToJsonString":
                return json.dumps(self.resolve(arg))
        out = {}
        for k, v in node.items():
            rv = self.resolve(v)
            if rv is not NO_VALUE:
                out[k] = rv
        return out


def substitute(node: Any, known: Mapping[str, Any], attribute: Callable[[str, str], Any]) -> Any:
    """Replace Refs/GetAtts to the logical ids in ``known`` by literals; leave everything else to CloudFormation."""
    if isinstance(node, list):
        return [substitute(x, known, attribute) for x in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref" and arg in known:
            return known[arg]
        if key == "Fn::GetAtt":
            lid, attr = arg.split(".", 1) if isinstance(arg, str) else arg
            if lid in known:
                return attribute(lid, attr)
        if key == "Fn::Sub":
            text, mapping = _sub_parts(arg)

            def one(m: re.Match) -> str:
                var = m.group(1)
                name = var.split(".", 1)[0]
                if var in mapping or name not in known:
                    return m.group(0)
                return str(attribute(*var.split(".", 1)) if "." in var else known[var])

            new_text = _SUB_VAR.sub(one, text)
            new_map = {k: substitute(v, known, attribute) for k, v in mapping.items()}
            return {"Fn::Sub": [new_text, new_map] if new_map else new_text}
    return {k: substitute(v, known, attribute) for k, v in node.items()}


def fold_conditions(node: Any, resolver: "Resolver") -> Any:
    """Evaluate every ``Fn::If`` (conditions depend on parameters only) and drop ``AWS::NoValue``.

    moto keeps a ``None`` where ``Fn::If`` yields ``AWS::NoValue`` inside a list (e.g. an IAM role's ``Policies``)
    and then fails; folding first gives it the template CloudFormation itself would evaluate.
    """
    if isinstance(node, list):
        return [v for v in (fold_conditions(x, resolver) for x in node) if v is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and "Fn::If" in node:
        cond, yes, no = node["Fn::If"]
        return fold_conditions(yes if resolver.condition(cond) else no, resolver)
    if node == {"Ref": "AWS::NoValue"}:
        return NO_VALUE
    out = {}
    for k, v in node.items():
        fv = fold_conditions(v, resolver)
        if fv is not NO_VALUE:
            out[k] = fv
    return out


# ----------------------------------------------------------------------------------------------- self-provisioned

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
    raise KeyError(f"GetAtt {attr} of {rtype} is not supported by the local provisioner")


# ----------------------------------------------------------------------------------------------- deploy

def _ssm_mirror_name(stack_name: str, public_name: str) -> str:
    return f"/{stack_name}/ssm-mirror{public_name}"


def _stand_in_layer(c: Ctx, param: str) -> str:
    """A stand-in layer in moto for a managed layer (locally the venv provides its packages)."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("python/README.txt", f"local stand-in for the managed layer named by parameter {param}\n")
    name = "stand-in-" + re.sub(r"LayerArn$", "", param)
    return c("lambda").publish_layer_version(LayerName=name, Content={"ZipFile": data.getvalue()},
                                             CompatibleRuntimes=["python3.12"])["LayerVersionArn"]


def _resolve_parameters(c: Ctx, cfn: dict, stack_name: str, overrides: Mapping[str, Any]) -> tuple[dict, dict]:
    """(values for the resolver, ParameterKey/Value list items for create_stack).

    SSM-typed parameters without an override are mirrored (see module docstring).
    """
    values: dict[str, Any] = {}
    stack_params: dict[str, str] = {}
    for name, spec in cfn.get("Parameters", {}).items():
        ptype = spec.get("Type", "String")
        raw = overrides.get(name, spec.get("Default"))
        if raw is None:
            raise ValueError(f"parameter {name} has no default and no override")
        if isinstance(raw, (list, tuple)):
            raw = ",".join(str(x) for x in raw)
        raw = str(raw)
        if ptype.startswith("AWS::SSM::Parameter::Value"):
            if name not in overrides:
                mirror = _ssm_mirror_name(stack_name, raw)
                value = _stand_in_layer(c, name) if name.endswith("LayerArn") else raw
                c("ssm").put_parameter(Name=mirror, Value=value, Type="String", Overwrite=True)
                raw = mirror
            stack_params[name] = raw
            values[name] = c("ssm").get_parameter(Name=raw)["Parameter"]["Value"]
        else:
            stack_params[name] = raw
            values[name] = raw.split(",") if ptype == "CommaDelimitedList" or ptype.startswith("List<") else raw
    return values, stack_params


def _unhonourable_message(res: dict, deps: Mapping[str, set[str]], late: set[str], bad: set[str]) -> str:
    """Name the root causes: stack resources that themselves reference a late resource the split *can* create
    (self-provisioned after the stack, or deferrable), not the ones only dragged along through another bad one."""
    roots = sorted(lid for lid in bad if deps[lid] & (late - bad))
    causes = "; ".join(f"{lid} ({res[lid]['Type']}) depends on {sorted(deps[lid] & (late - bad))}" for lid in roots)
    dragged = sorted(bad - set(roots))
    tail = f"; through it, {len(dragged)} more stack resource(s) cannot be created: {dragged}" if dragged else ""
    return (f"{causes}, which exist only after moto's stack is created{tail}; "
            "add a DEFERRABLE creator or restructure the template")


def plan(cfn: dict) -> dict[str, list[str]]:
    """Split a transformed template's resources: ``pre`` (self-provisioned before the stack), ``stack`` (moto's
    CloudFormation), ``post`` (self-provisioned after it), ``deferred`` (stack types created after ``post``).

    Raises ``ValueError`` for a dependency the split cannot honour.
    """
    res = cfn["Resources"]
    deps = {lid: {d for d in resource_deps(r) if d in res} for lid, r in res.items()}
    self_types = {lid for lid, r in res.items() if r["Type"] in SELF_PROVISIONED}
    pre: set[str] = set()
    changed = True
    while changed:
        changed = False
        for lid in self_types - pre:
            if deps[lid] <= pre:
                pre.add(lid)
                changed = True
    late = set(self_types - pre)
    changed = True
    while changed:  # anything depending on a late resource is late too
        changed = False
        for lid in set(res) - late:
            if deps[lid] & late:
                late.add(lid)
                changed = True
    deferred = {lid for lid in late if lid not in self_types}
    unhonourable = {lid for lid in deferred if res[lid]["Type"] not in DEFERRABLE}
    if unhonourable:
        raise ValueError(_unhonourable_message(res, deps, late, unhonourable))
    post = late - deferred

    def ordered(ids: set[str]) -> list[str]:
        out: list[str] = []

        def visit(x: str) -> None:
            if x in out or x not in ids:
                return
            for d in sorted(deps[x]):
                visit(d)
            out.append(x)

        for x in sorted(ids):
            visit(x)
        return out

    stack = set(res) - pre - late
    return {"pre": ordered(pre), "stack": sorted(stack), "post": ordered(post), "deferred": ordered(deferred)}


def deploy(endpoint_url: str, region: str = DEFAULT_REGION, stack_name: str = DEFAULT_STACK,
           template_path: str | Path = TEMPLATE_PATH, overrides: Mapping[str, Any] | None = None) -> dict:
    """Deploy the template into moto at ``endpoint_url``; return :func:`describe`'s dict.

    ``overrides`` are CloudFormation parameter overrides (``{"MysqlHost": "127.0.0.1"}``); list values are joined
    with commas. The stack must not exist yet (start from a fresh moto, as ``sori up`` does).
    """
    overrides = dict(overrides or {})
    c = Ctx(endpoint_url, region)
    account = c("sts").get_caller_identity()["Account"]
    if any(st["StackName"] == stack_name for st in c("cloudformation").list_stacks()["StackSummaries"]
           if st["StackStatus"] != "DELETE_COMPLETE"):
        raise RuntimeError(f"stack {stack_name} already exists in {endpoint_url}; deploy into a fresh moto")
    artifacts = f"{stack_name}-artifacts-{account}"
    _ensure_bucket(c, artifacts)

    def upload(data: bytes) -> str:
        key = f"code/{hashlib.sha256(data).hexdigest()[:20]}.zip"
        c("s3").put_object(Bucket=artifacts, Key=key, Body=data)
        return f"s3://{artifacts}/{key}"

    sam = package(load_template(template_path), upload)
    sam_params = {k: (",".join(v) if isinstance(v, (list, tuple)) else str(v)) for k, v in overrides.items()}
    cfn = sam_transform(sam, region, sam_params)
    values, stack_params = _resolve_parameters(c, cfn, stack_name, overrides)
    values.update({"AWS::Region": region, "AWS::AccountId": account, "AWS::StackName": stack_name,
                   "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NotificationARNs": []})
    res = cfn["Resources"]
    created: dict[str, tuple[str, dict]] = {}  # logical id -> (physical id, extra attributes)

    def attribute(lid: str, attr: str) -> Any:
        physical, extra = created[lid]
        return _attribute(c, res[lid]["Type"], physical, extra, attr)

    resolver = Resolver(cfn, values, attribute)
    steps = plan(cfn)

    def create(lid: str, creators: Mapping[str, Callable]) -> None:
        r = res[lid]
        if "Condition" in r and not resolver.condition(r["Condition"]):
            return
        created[lid] = creators[r["Type"]](c, lid, resolver.resolve(r.get("Properties", {})))
        values[lid] = created[lid][0]

    for lid in steps["pre"]:
        create(lid, SELF_PROVISIONED)

    known = {lid: created[lid][0] for lid in steps["pre"] if lid in created}
    body = {k: v for k, v in cfn.items() if k not in ("Transform", "Resources", "Outputs")}
    # moto resolves every SSM-typed parameter's *default* before applying overrides, so the reserved /aws/...
    # defaults must not reach it: the mirrors stand in for them there too.
    body["Parameters"] = {k: ({**v, "Default": stack_params[k]} if "Default" in v else v)
                          for k, v in cfn.get("Parameters", {}).items()}
    body["Resources"] = {lid: fold_conditions(substitute(res[lid], known, attribute), resolver)
                         for lid in steps["stack"]}
    late = set(steps["post"]) | set(steps["deferred"])
    body["Outputs"] = {k: substitute(o, known, attribute) for k, o in cfn.get("Outputs", {}).items()
                       if not references(o) & late}
    c("s3").put_object(Bucket=artifacts, Key=f"templates/{stack_name}.json", Body=json.dumps(body).encode())
    c("cloudformation").create_stack(
        StackName=stack_name,
        TemplateURL=f"https://s3.{region}.amazonaws.com/{artifacts}/templates/{stack_name}.json",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in stack_params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    c("cloudformation").get_waiter("stack_create_complete").wait(
        StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})

    for r in c("cloudformation").describe_stack_resources(StackName=stack_name)["StackResources"]:
        lid = r["LogicalResourceId"]
        physical = r.get("PhysicalResourceId") or _missing_physical_id(c, lid, res[lid], resolver)
        created.setdefault(lid, (physical, {}))
        values.setdefault(lid, physical)
    for lid in steps["stack"]:
        r = res[lid]
        if lid in created and r["Type"] in GAP_FILLERS:
            GAP_FILLERS[r["Type"]](c, created[lid][0], resolver.resolve(r.get("Properties", {})))
    for lid in steps["post"]:
        create(lid, SELF_PROVISIONED)
    for lid in steps["deferred"]:
        create(lid, DEFERRABLE)
    return describe(c, cfn, stack_name, created, resolver)


def _missing_physical_id(c: Ctx, lid: str, resource: dict, resolver: Resolver) -> str:
    """moto reports no physical id for layer versions and permissions; recover what CloudFormation would give."""
    if resource["Type"] == "AWS::Lambda::LayerVersion":
        # moto ignores LayerName and names the layer like any unnamed resource: <stack>-<logical id>-<suffix>
        wanted = resolver.resolve(resource["Properties"].get("LayerName", ""))
        generated = f"{resolver.values['AWS::StackName']}-{lid}-"
        for layer in c("lambda").list_layers()["Layers"]:
            if layer["LayerName"] == wanted or layer["LayerName"].startswith(generated):
                return layer["LatestMatchingVersion"]["LayerVersionArn"]
        raise LookupError(f"layer {lid} not found in moto")
    return lid


def _ensure_bucket(c: Ctx, name: str) -> None:
    try:
        c("s3").head_bucket(Bucket=name)
    except c("s3").exceptions.ClientError:
        c("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": c.region})


# ----------------------------------------------------------------------------------------------- describe

def _async_on_failure_queue(c: Ctx, function_name: str) -> str | None:
    """Where a function's failed asynchronous invocations go (its EventInvokeConfig's SQS destination), if set."""
    try:
        conf = c("lambda").get_function_event_invoke_config(FunctionName=function_name)
    except c("lambda").exceptions.ResourceNotFoundException:
        return None
    arn = conf.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return _queue_url(c, arn) if arn and arn.split(":")[2] == "sqs" else None


def _queue_url(c: Ctx, arn: str | None) -> str | None:
    if not arn:
        return None
    name = arn.rsplit(":", 1)[1]
    return c("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=arn.split(":")[4])["QueueUrl"]


def describe(c: Ctx, cfn: dict, stack_name: str, created: Mapping[str, tuple[str, dict]],
             resolver: Resolver) -> dict:
    """What the local runners need, read back from moto (not from the template): the deployed truth."""
    res = cfn["Resources"]
    by_type: dict[str, list[str]] = {}
    for lid in created:
        if lid in res:
            by_type.setdefault(res[lid]["Type"], []).append(lid)
    lam = c("lambda")
    functions, fn_by_arn = {}, {}
    for lid in sorted(by_type.get("AWS::Lambda::Function", [])):
        cfg = lam.get_function_configuration(FunctionName=created[lid][0])
        functions[lid] = {
            "name": cfg["FunctionName"], "arn": cfg["FunctionArn"], "handler": cfg["Handler"],
            "runtime": cfg["Runtime"], "environment": dict(cfg.get("Environment", {}).get("Variables", {})),
            "timeout": cfg["Timeout"], "memory": cfg["MemorySize"],
            "layers": [layer["Arn"] for layer in cfg.get("Layers", [])],
            "vpc_subnets": list(cfg.get("VpcConfig", {}).get("SubnetIds", [])),
            "async_on_failure_queue_url": _async_on_failure_queue(c, cfg["FunctionName"]),
        }
        fn_by_arn[cfg["FunctionArn"]] = lid
    mappings = []
    for lid in sorted(by_type.get("AWS::Lambda::EventSourceMapping", [])):
        m = lam.get_event_source_mapping(UUID=created[lid][0])
        fn = fn_by_arn.get(m["FunctionArn"])
        src = m["EventSourceArn"]
        entry: dict[str, Any] = {
            "logical_id": lid, "uuid": m["UUID"], "function": fn, "source_arn": src,
            "batch_size": m.get("BatchSize"), "maximum_batching_window_s": m.get("MaximumBatchingWindowInSeconds", 0),
            "bisect": bool(m.get("BisectBatchOnFunctionError", False)),
            "maximum_retry_attempts": m.get("MaximumRetryAttempts"),
            "maximum_record_age_s": m.get("MaximumRecordAgeInSeconds"),
            "on_failure_queue_url": _queue_url(c, m.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")),
            "report_batch_item_failures": "ReportBatchItemFailures" in (m.get("FunctionResponseTypes") or []),
            "starting_position": m.get("StartingPosition"),
            "parallelization_factor": m.get("ParallelizationFactor", 1),
            "enabled": m.get("State", "Enabled") in ("Enabled", "Creating", "Enabling"),
        }
        if src.split(":")[2] == "kinesis":
            entry["stream_name"] = src.rsplit("/", 1)[1]
        elif src.split(":")[2] == "sqs":
            entry["queue_url"] = _queue_url(c, src)
        mappings.append(entry)
    ev = c("events")
    schedules = []
    for lid in sorted(by_type.get("AWS::Events::Rule", [])):
        rule = ev.describe_rule(Name=created[lid][0])
        for t in ev.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
            schedules.append({
                "logical_id": lid, "rule_name": rule["Name"], "expression": rule.get("ScheduleExpression"),
                "state": rule.get("State"), "function": fn_by_arn.get(t["Arn"]), "target_arn": t["Arn"],
                "input": json.loads(t["Input"]) if t.get("Input") else None,
            })
    s3_notifications = []
    for lid in sorted(by_type.get("AWS::S3::Bucket", [])):
        conf = c("s3").get_bucket_notification_configuration(Bucket=created[lid][0])
        for n in conf.get("LambdaFunctionConfigurations", []):
            rules = {r["Name"].lower(): r["Value"] for r in n.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
            s3_notifications.append({"bucket": created[lid][0], "function": fn_by_arn.get(n["LambdaFunctionArn"]),
                                     "events": n["Events"], "prefix": rules.get("prefix", ""),
                                     "suffix": rules.get("suffix", "")})
    outputs = {k: resolver.resolve(o["Value"]) for k, o in cfn.get("Outputs", {}).items()
               if "Condition" not in o or resolver.condition(o["Condition"])}
    return {
        "stack_name": stack_name,
        "region": c.region,
        "endpoint_url": c.endpoint_url,
        "outputs": outputs,
        "resources": {lid: created[lid][0] for lid in sorted(created) if lid in res},
        "functions": functions,
        "event_source_mappings": mappings,
        "schedules": schedules,
        "s3_notifications": s3_notifications,
        "http_api": _http_api(c, res, created, fn_by_arn),
    }


def _http_api(c: Ctx, res: dict, created: Mapping[str, tuple[str, dict]], fn_by_arn: dict) -> dict | None:
    """The (single) HTTP API: its route, the function behind it and its local id, from moto's routes."""
    apis = [lid for lid in created if lid in res and res[lid]["Type"] == "AWS::ApiGatewayV2::Api"]
    if not apis:
        return None
    lid = apis[0]
    api_id = created[lid][0]
    gw = c("apigatewayv2")
    integrations = {i["IntegrationId"]: i for i in gw.get_integrations(ApiId=api_id)["Items"]}
    routes = []
    for r in gw.get_routes(ApiId=api_id)["Items"]:
        target = r.get("Target", "")
        integ = integrations.get(target.split("/", 1)[1]) if target.startswith("integrations/") else None
        uri = (integ or {}).get("IntegrationUri", "")
        fn = next((f for arn, f in fn_by_arn.items() if arn in uri), None)
        routes.append({"route": r["RouteKey"], "function": fn})
    stages = [s["StageName"] for s in gw.get_stages(ApiId=api_id)["Items"]]
    first = routes[0] if routes else {"route": None, "function": None}
    return {"logical_id": lid, "api_id": api_id, "route": first["route"], "function": first["function"],
            "routes": routes, "stages": stages}


# ----------------------------------------------------------------------------------------------- secrets

def write_secrets(endpoint_url: str, deployed: Mapping[str, Any], values: Mapping[str, Mapping[str, Any]],
                  region: str | None = None) -> dict[str, str]:
    """Merge ``values`` into the stack's secrets: ``{"SpotifySecret": {"client_id": …, "client_secret": …}}``.

    Keys are the secrets' logical ids; each value is merged into the secret's JSON (keys not given are kept).
    Returns ``{logical_id: arn}`` of the secrets written.
    """
    sm = boto3.client("secretsmanager", endpoint_url=endpoint_url, region_name=region or deployed.get("region")
                      or os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION))
    written = {}
    for lid, doc in values.items():
        arn = deployed["resources"].get(lid)
        if not arn or ":secretsmanager:" not in arn:
            raise KeyError(f"{lid} is not a secret of stack {deployed.get('stack_name')}")
        current = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"] or "{}")
        current.update({k: v for k, v in doc.items() if v is not None})
        sm.put_secret_value(SecretId=arn, SecretString=json.dumps(current))
        written[lid] = arn
    return written

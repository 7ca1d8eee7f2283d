"""Deploy the transformed template into moto, describe what it holds, and write the secrets."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3

from local.provision.intrinsics import Resolver, fold_conditions, references, resource_deps, substitute
from local.provision.moto_gaps import DEFERRABLE, GAP_FILLERS, SELF_PROVISIONED, Ctx, _attribute
from local.provision.template import DEFAULT_REGION, DEFAULT_STACK, TEMPLATE_PATH, load_template, package, sam_transform


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
        if "LogicalResourceId" not in r:  # moto lists a resource whose Condition is false as a nameless entry
            continue
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
            "on_failure_queue_url": _queue_url(c,
                                               m.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")),
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

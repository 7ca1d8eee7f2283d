"""Operating a deployed stack from the CLI: resolve its outputs, set its secrets, read its health.

Pure helpers for ``sori cloud …`` (local/commands/cloud.py). Every AWS call goes through :func:`client`, so
``AWS_ENDPOINT_URL`` (moto in tests) and ``--region`` apply everywhere.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from sori.settings import PLACEHOLDER
from sori.spotify.client import USER_SCOPE

#: Environment variable naming the stack when ``--stack`` is not given.
STACK_ENV = "SORI_STACK"
#: Spotify accounts service (overridable for the emulator and tests).
ACCOUNTS_URL_ENV = "SORI_SPOTIFY_ACCOUNTS_URL"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
#: The header Kakao i Open Builder must send with each skill request (checked by the chatbot handler).
SKILL_HEADER = "X-Skill-Secret"
#: Scopes the user-token producers need (the same list the Spotify client asks for).
LOGIN_SCOPES = tuple(USER_SCOPE.split())
#: Secret outputs and the keys the template gives each.
SECRET_OUTPUTS = ("SpotifySecretArn", "ListeningTokenSecretArn", "MysqlSecretArn", "SkillSecretArn")


def stack_name(name: str | None) -> str:
    """The stack to operate: ``--stack`` when given, else ``$SORI_STACK``; ``ValueError`` when neither is set."""
    found = name or os.environ.get(STACK_ENV, "")
    if not found:
        raise ValueError(f"no stack: pass --stack NAME or set {STACK_ENV}")
    return found


def client(service: str, region: str | None = None, endpoint_url: str | None = None, **kwargs: Any):
    """A boto3 client; ``endpoint_url`` falls back to ``AWS_ENDPOINT_URL`` (boto3 reads it itself when unset)."""
    import boto3

    if region:
        kwargs["region_name"] = region
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    return boto3.client(service, **kwargs)


def resolve_stack(name: str | None, region: str | None = None, endpoint_url: str | None = None) -> dict:
    """``{"stack", "region", "endpoint_url", "status", "outputs": {OutputKey: OutputValue}}`` of a deployed stack."""
    name = stack_name(name)
    cfn = client("cloudformation", region, endpoint_url)
    stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    if not stacks:
        raise ValueError(f"stack {name} not found")
    st = stacks[0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}
    return {"stack": name, "region": region or cfn.meta.region_name, "endpoint_url": endpoint_url,
            "status": st.get("StackStatus"), "outputs": outputs}


def output(info: dict, key: str) -> str:
    """One output of a resolved stack; ``KeyError`` naming the stack when the template did not declare it."""
    try:
        return info["outputs"][key]
    except KeyError:
        raise KeyError(f"stack {info['stack']} has no output {key!r}") from None


def _sm(info: dict):
    return client("secretsmanager", info["region"], info["endpoint_url"])


def read_secret(info: dict, output_key: str) -> dict:
    """The JSON object held by the secret an output names (a non-JSON value comes back as ``{"value": …}``)."""
    raw = _sm(info).get_secret_value(SecretId=output(info, output_key))["SecretString"]
    try:
        val = json.loads(raw)
    except ValueError:
        return {"value": raw}
    return val if isinstance(val, dict) else {"value": raw}


def write_secret(info: dict, output_key: str, values: dict) -> None:
    """Merge ``values`` into the secret's JSON object and store it as a new version."""
    current = read_secret(info, output_key)
    current.update(values)
    _sm(info).put_secret_value(SecretId=output(info, output_key), SecretString=json.dumps(current))


def set_credentials(info: dict, client_id: str, client_secret: str) -> None:
    """Store the Spotify app's client credentials in the SpotifySecret."""
    if not client_id or not client_secret:
        raise ValueError("client_id and client_secret must not be empty")
    write_secret(info, "SpotifySecretArn", {"client_id": client_id, "client_secret": client_secret})


def placeholders(info: dict) -> dict[str, list[str]]:
    """Per secret output, the keys that still hold the template's placeholder (empty list: set)."""
    found: dict[str, list[str]] = {}
    for key in SECRET_OUTPUTS:
        if key in info["outputs"]:
            found[key] = sorted(k for k, v in read_secret(info, key).items() if v == PLACEHOLDER)
    return found


def alarm_states(info: dict) -> list[dict]:
    """``[{"name", "state", "reason"}]`` of every alarm named ``<stack>-…``."""
    cw = client("cloudwatch", info["region"], info["endpoint_url"])
    alarms: list[dict] = []
    for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{info['stack']}-"):
        for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            alarms.append({"name": a["AlarmName"], "state": a.get("StateValue", ""),
                           "reason": a.get("StateReason", "")})
    return sorted(alarms, key=lambda a: a["name"])


def dlq_depths(info: dict) -> dict[str, int]:
    """``{output key: ApproximateNumberOfMessages}`` for every ``*DLQUrl`` output."""
    sqs = client("sqs", info["region"], info["endpoint_url"])
    depths = {}
    for key, url in sorted(info["outputs"].items()):
        if key.endswith("DLQUrl"):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            depths[key] = int(attrs["Attributes"].get("ApproximateNumberOfMessages", 0))
    return depths


def skill_url(info: dict) -> str:
    """The URL to paste into Open Builder: the ``ChatbotApiUrl`` output, else the stack's HTTP API + POST route.

    The fallback covers a stack whose API lives outside CloudFormation's view (the moto deployment creates the
    HTTP API beside the stack, so that output is dropped there): the API named after the stack, its first POST route.
    """
    if info["outputs"].get("ChatbotApiUrl"):
        return info["outputs"]["ChatbotApiUrl"]
    gw = client("apigatewayv2", info["region"], info["endpoint_url"])
    for api in gw.get_apis().get("Items", []):
        if api.get("Name") != info["stack"]:
            continue
        posts = [r["RouteKey"].split(" ", 1)[1] for r in gw.get_routes(ApiId=api["ApiId"]).get("Items", [])
                 if r.get("RouteKey", "").startswith("POST ")]
        if posts:
            return api.get("ApiEndpoint", "").rstrip("/") + sorted(posts)[0]
    return ""


def status(info: dict) -> dict:
    """Everything ``sori cloud status`` prints: skill URL + header, alarms, DLQ depths, placeholder secrets and the
    last run of each schedule."""
    skill = read_secret(info, "SkillSecretArn") if "SkillSecretArn" in info["outputs"] else {}
    return {
        "stack": info["stack"],
        "stack_status": info["status"],
        "skill_url": skill_url(info),
        "skill_header": {"name": SKILL_HEADER, "value": skill.get("secret", "")},
        "alarms": alarm_states(info),
        "dlq_depths": dlq_depths(info),
        "placeholders": placeholders(info),
        "last_runs": last_runs(info),
    }


# ------------------------------------------------------------------ last run of each schedule (CloudWatch Logs)

@dataclass(frozen=True)
class Schedule:
    """One EventBridge schedule of ``template.yaml`` and which of its function's invocations are its runs.

    ``job``: the schedule's fixed Input names this job (the listening function has two schedules); ``not_from``:
    triggers that are not this schedule (the catalog also polls RefreshQueue). ``tests/unit/test_cloud_schedules.py``
    checks this table against the template.
    """

    name: str
    function: str  # logical id; its physical name is the output ``<logical id>Name``
    expression: str
    kst: str
    job: str | None = None
    not_from: tuple[str, ...] = ()

    def counts(self, run: Invocation) -> bool:
        """Whether an invocation is a run of this schedule (one whose trigger is unknown counts for every
        schedule of its function: a run that failed before its first line must not hide behind an older one)."""
        if run.trigger in self.not_from:
            return False
        return self.job is None or run.job in (None, self.job)


SCHEDULES = (
    Schedule("charts weekly", "ChartsFunction", "cron(0 3 ? * FRI *)", "Fri 12:00 KST"),
    Schedule("catalog nightly", "CatalogFunction", "cron(0 18 * * ? *)", "03:00 KST", not_from=("sqs",)),
    Schedule("listening recently played", "ListeningFunction", "rate(2 hours)", "every 2 h", job="recently_played"),
    Schedule("listening followed artists", "ListeningFunction", "cron(0 17 * * ? *)", "02:00 KST",
             job="followed_artists"),
    Schedule("compaction", "CompactFunction", "cron(30 19 * * ? *)", "04:30 KST"),
    Schedule("related builder", "RelatedBuilderFunction", "cron(0 20 * * ? *)", "05:00 KST"),
)

#: How many of a log group's newest streams (Lambda: one per container) are read for the last run.
MAX_LOG_STREAMS = 50
#: A stream's ``lastEventTimestamp`` "updates on an eventual consistency basis ... typically in less than an hour"
#: (CloudWatch Logs API reference, LogStream): streams are read until one is older than the best run by this much.
LAST_EVENT_LAG_MS = 2 * 3600 * 1000
_REQUEST_ID = re.compile(r"^(START|END|REPORT) RequestId: (\S+)")
_DURATION = re.compile(r"\bDuration: ([0-9.]+) ms")
_STATUS = re.compile(r"\bStatus: (\w+)")
_ERROR_TYPE = re.compile(r"\bError Type: (\S+)")


@dataclass
class Invocation:
    """One invocation as its function's log tells it (Lambda's START/REPORT lines, the runtime's ``[ERROR]``
    line, the handler's ``invoked`` and ``run summary`` lines)."""

    request_id: str
    started_ms: int
    trigger: str | None = None
    job: str | None = None
    finished: bool = False
    duration_ms: float | None = None
    error: str | None = None
    timed_out: bool = False
    stopped: str | None = None

    @property
    def outcome(self) -> str:
        if self.timed_out:
            return "timeout"
        if self.error is not None:
            return "error"
        if not self.finished:
            return "running"  # or cut off without a REPORT (the container died)
        return f"stopped ({self.stopped})" if self.stopped else "ok"

    def read(self, message: str) -> None:
        """Take in one log line of this invocation."""
        text = message.strip()
        if text.startswith("REPORT "):
            self.finished = True
            m = _DURATION.search(text)
            self.duration_ms = float(m.group(1)) if m else None
            m = _STATUS.search(text)
            status = m.group(1) if m else ""
            if status == "timeout":
                self.timed_out = True
            elif status and status != "success" and self.error is None:  # a crash (exit, out of memory)
                kind = _ERROR_TYPE.search(text)
                self.error = f"Status: {status}" + (f", Error Type: {kind.group(1)}" if kind else "")
            return
        if "Task timed out after" in text:
            self.timed_out = True
            return
        if text.startswith("[ERROR]"):  # the Python runtime's unhandled exception (text log format)
            self.error = text.splitlines()[0][len("[ERROR]"):].strip()
            return
        if not text.startswith("{"):
            return
        try:
            line = json.loads(text)
        except ValueError:
            return
        if not isinstance(line, dict):
            return
        if line.get("errorType"):  # the runtime's unhandled exception (JSON log format)
            self.error = f"{line['errorType']}: {line.get('errorMessage', '')}"
        elif line.get("message") == "invoked":
            self.trigger, self.job = line.get("trigger"), line.get("job")
        elif line.get("message") == "run summary" and isinstance(line.get("summary"), dict):
            self.stopped = line["summary"].get("stopped")
            self.job = self.job or line["summary"].get("job")

    def as_dict(self) -> dict[str, Any]:
        return {"started_at": _iso(self.started_ms), "outcome": self.outcome, "trigger": self.trigger,
                "job": self.job, "duration_s": None if self.duration_ms is None else round(self.duration_ms / 1000, 1),
                "error": self.error, "request_id": self.request_id}


def _iso(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def invocations(events: list[dict]) -> list[Invocation]:
    """A log stream's events (chronological) as invocations; lines before the first START are not attributed."""
    out: list[Invocation] = []
    current: Invocation | None = None
    for e in events:
        msg = e.get("message", "")
        m = _REQUEST_ID.match(msg.lstrip())
        if m and m.group(1) == "START":
            current = Invocation(m.group(2), int(e.get("timestamp", 0)))
            out.append(current)
            continue
        if current is None:
            continue
        current.read(msg)
        if m and m.group(1) == "REPORT":
            current = None
    return out


def _newest_run(logs: Any, group: str, stream: str, schedule: Schedule, max_pages: int = 5) -> Invocation | None:
    """The newest run of ``schedule`` in one log stream, paging back from its end (at most ``max_pages`` pages:
    a container that ran the nightly and then hours of queued refreshes still shows its nightly)."""
    events: list[dict] = []
    token = None
    for _ in range(max_pages):
        kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": False}
        if token:
            kwargs["nextToken"] = token
        resp = logs.get_log_events(**kwargs)
        page = resp.get("events") or []
        events = page + events
        runs = [inv for inv in invocations(events) if schedule.counts(inv)]
        if runs:
            return max(runs, key=lambda inv: inv.started_ms)
        back = resp.get("nextBackwardToken")
        if not page or not back or back == token:
            break
        token = back
    return None


def last_run(logs: Any, function_name: str, schedule: Schedule, max_streams: int = MAX_LOG_STREAMS) -> dict | None:
    """The newest invocation of ``function_name`` that is a run of ``schedule``, from its log group
    (``/aws/lambda/<name>``: Lambda writes it, so a run is seen however it ended); None when there is none."""
    group = f"/aws/lambda/{function_name}"
    best: Invocation | None = None
    read = 0
    kwargs: dict[str, Any] = {"logGroupName": group, "orderBy": "LastEventTime", "descending": True, "limit": 50}
    while read < max_streams:
        try:
            resp = logs.describe_log_streams(**kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return None  # never invoked: Lambda creates the group on the first run
        for st in resp.get("logStreams", []):
            last_event = st.get("lastEventTimestamp", 0) + LAST_EVENT_LAG_MS
            if read >= max_streams or (best is not None and last_event < best.started_ms):
                return best.as_dict() if best else None  # older streams cannot hold a newer run
            read += 1
            inv = _newest_run(logs, group, st["logStreamName"], schedule)
            if inv is not None and (best is None or inv.started_ms > best.started_ms):
                best = inv
        if not resp.get("nextToken"):
            break
        kwargs["nextToken"] = resp["nextToken"]
    return best.as_dict() if best else None


def last_runs(info: dict) -> list[dict]:
    """For each schedule: its name, function, expression, KST time and its last run (``None``: never)."""
    logs = aws(info, "logs")
    out = []
    for sch in SCHEDULES:
        fn = info["outputs"].get(f"{sch.function}Name")
        out.append({"schedule": sch.name, "function": fn or sch.function, "expression": sch.expression,
                    "kst": sch.kst, "last_run": last_run(logs, fn, sch) if fn else None})
    return out


# ------------------------------------------------------------------ the local stack's commands, on a deployed one

#: ``sori redrive --function``: each sink's logical id and the output naming its DLQ.
SINK_DLQ_OUTPUTS = {"DynamoSinkFunction": "DynamoSinkDLQUrl", "S3SinkFunction": "S3SinkDLQUrl"}
#: Where a chart CSV drop lands; the bucket notification runs ChartsDropFunction on it.
LANDING_CHARTS = "landing/charts/"


def aws(info: dict, service: str, **kwargs: Any) -> Any:
    """A :func:`client` for the stack's region (and endpoint, when one was given)."""
    return client(service, info.get("region"), info.get("endpoint_url"), **kwargs)


def sink_dlqs(info: dict) -> dict[str, str]:
    """``{sink logical id: its DLQ url}`` from the stack's outputs."""
    return {lid: info["outputs"][key] for lid, key in SINK_DLQ_OUTPUTS.items() if key in info["outputs"]}


def redrive(info: dict, *, function: str | None = None, max_messages: int | None = None,
            revalidate: bool = True) -> dict[str, dict]:
    """``sori redrive --stack``: the sinks' dead letters back onto the stack's stream (``sori.dlq.redrive``)."""
    from sori.dlq import redrive as do_redrive
    from sori.dlq import stream_sender

    dlqs = sink_dlqs(info)
    if function:
        if function not in dlqs:
            raise ValueError(f"no DLQ for {function!r}; known: {sorted(dlqs)}")
        dlqs = {function: dlqs[function]}
    kinesis, sqs, s3 = aws(info, "kinesis"), aws(info, "sqs"), aws(info, "s3")
    send = stream_sender(output(info, "StreamName"), kinesis)
    return {lid: do_redrive(url, send, sqs=sqs, kinesis=kinesis, s3=s3, max_messages=max_messages,
                            revalidate=revalidate).as_dict()
            for lid, url in dlqs.items()}


def check_chart_file(name: str, data: bytes, metadata: dict[str, str]) -> dict[str, Any]:
    """What the drop handler would check before any Spotify call: country and week (name or metadata), a known
    chart, a well-formed weekly CSV. ``ChartCSVError`` names what is wrong."""
    from producers.jobs.charts import chart_of_object
    from sori.charts import ChartCSVError, chart_for, parse_weekly_csv

    country, week = chart_of_object(name, metadata)
    try:
        chart_for(country)
    except KeyError as e:
        raise ChartCSVError(str(e.args[0]), 0, name) from None
    rows = parse_weekly_csv(data, name=name)
    return {"country": country, "week": week, "rows": len(rows)}


def upload_chart(info: dict, name: str, data: bytes, metadata: dict[str, str]) -> str:
    """Put a chart CSV under ``landing/charts/`` of the stack's bucket (its notification ingests it); the URL."""
    bucket = output(info, "LakeBucketName")
    key = LANDING_CHARTS + name
    aws(info, "s3").put_object(Bucket=bucket, Key=key, Body=data, Metadata=metadata)
    return f"s3://{bucket}/{key}"


def lambda_invoker(info: dict, output_key: str) -> Callable[[Any], Any]:
    """``invoke(event)``: run the stack's function synchronously once (no SDK retry: an invocation is not
    idempotent to the caller), raising ``RuntimeError`` with its error when it fails."""
    from botocore.config import Config

    name = output(info, output_key)
    lam = aws(info, "lambda", config=Config(read_timeout=960, connect_timeout=10, retries={"total_max_attempts": 1}))

    def invoke(event: Any) -> Any:
        resp = lam.invoke(FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(event).encode())
        body = resp["Payload"].read().decode("utf-8", "replace")
        if resp.get("FunctionError"):
            raise RuntimeError(f"{name} failed: {body[:500]}")
        return body

    return invoke


def charts_redrive(info: dict) -> Any:
    """``sori charts redrive --stack``: the drops parked on ProducerDLQ run again on the stack's ChartsDropFunction
    (``sori.dlq.reinvoke``); each message is deleted once its run succeeded."""
    from sori.dlq import reinvoke

    return reinvoke(output(info, "ProducerDLQUrl"), lambda_invoker(info, "ChartsDropFunctionName"),
                    sqs=aws(info, "sqs"))


def mysql_settings(info: dict, ssl_ca: str = "") -> Any:
    """Settings that reach the stack's MySQL as its functions do: the endpoint, port and database its outputs
    name, the credentials from ``MysqlSecretArn``, TLS verified (``ssl_ca``, default the RDS bundle)."""
    from sori.settings import Settings

    outs = info["outputs"]
    return Settings.from_env({
        "SORI_MYSQL_HOST": output(info, "MysqlEndpoint"), "SORI_MYSQL_PORT": outs.get("MysqlPort", "3306"),
        "SORI_MYSQL_DATABASE": outs.get("MysqlDatabaseName", "sori"),
        "SORI_MYSQL_SECRET_ARN": output(info, "MysqlSecretArn"), "SORI_MYSQL_SSL_CA": ssl_ca,
        **({"AWS_REGION": info["region"]} if info.get("region") else {})})


# ------------------------------------------------------------------ login (authorization code + PKCE)

def pkce_pair() -> tuple[str, str]:
    """``(code_verifier, code_challenge)`` per RFC 7636 (S256)."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def accounts_url() -> str:
    """The accounts service base URL (``SORI_SPOTIFY_ACCOUNTS_URL`` or Spotify's)."""
    return os.environ.get(ACCOUNTS_URL_ENV, DEFAULT_ACCOUNTS_URL).rstrip("/")


def authorize_url(client_id: str, redirect_uri: str, challenge: str, state: str,
                  scopes: tuple[str, ...] = LOGIN_SCOPES, base: str | None = None) -> str:
    """The ``/authorize`` URL the user opens in a browser."""
    query = urllib.parse.urlencode({
        "client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri,
        "code_challenge_method": "S256", "code_challenge": challenge, "state": state, "scope": " ".join(scopes),
    })
    return f"{base or accounts_url()}/authorize?{query}"


def wait_for_callback(server, state: str, timeout: float | None = 300) -> str:
    """Serve requests on ``server`` until ``/callback`` arrives; return its ``code`` (``RuntimeError`` on error)."""
    import time

    result: dict[str, str] = {}
    server.RequestHandlerClass.result = result
    deadline = None if timeout is None else time.monotonic() + timeout
    while not result:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no callback reached the loopback server")
            server.timeout = left
        server.handle_request()  # one request (a favicon probe answers 404 and the loop goes on)
    if result.get("error"):
        raise RuntimeError(f"authorization failed: {result['error']}")
    if result.get("state") != state:
        raise RuntimeError("authorization failed: the callback's state does not match")
    return result["code"]


def callback_server(port: int = 0):
    """An HTTP server on 127.0.0.1 whose handler records the ``/callback`` query (``port`` 0: any free port)."""
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        result: ClassVar[dict[str, str]] = {}

        def do_GET(self) -> None:
            parsed = urllib.parse.urlparse(self.path)
            if parsed.path != "/callback":
                self.send_response(404)
                self.end_headers()
                return
            query = dict(urllib.parse.parse_qsl(parsed.query))
            self.result.update({k: query.get(k, "") for k in ("code", "state", "error")})
            self.result.setdefault("code", "")
            body = (b"sori: login complete, you can close this tab." if query.get("code")
                    else b"sori: login failed, see the terminal.")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # keep the terminal clean
            pass

    return HTTPServer(("127.0.0.1", port), Handler)


def exchange_code(code: str, verifier: str, client_id: str, redirect_uri: str, base: str | None = None) -> dict:
    """POST the code to ``/api/token`` (PKCE: no client secret); return the token response."""
    import requests

    resp = requests.post(f"{base or accounts_url()}/api/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "client_id": client_id, "code_verifier": verifier,
    }, timeout=30)
    if resp.status_code != 200:
        raise RuntimeError(f"token exchange failed: HTTP {resp.status_code} {resp.text[:200]}")
    body = resp.json()
    if not body.get("refresh_token"):
        raise RuntimeError("token exchange answered without a refresh_token")
    return body


def store_refresh_token(info: dict, refresh_token: str) -> None:
    """Write the listening user's refresh token into the ListeningTokenSecret."""
    write_secret(info, "ListeningTokenSecretArn", {"refresh_token": refresh_token})


def spotify_client_id(info: dict) -> str:
    """The client_id in the SpotifySecret; ``ValueError`` while it is still the placeholder."""
    cid = read_secret(info, "SpotifySecretArn").get("client_id", "")
    if not cid or cid == PLACEHOLDER:
        raise ValueError(f"the Spotify client_id is not set: run `sori cloud credentials --stack {info['stack']}`")
    return cid

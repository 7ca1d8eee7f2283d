"""``sori cloud …`` against template.yaml deployed into moto: the secrets written, the status printed, PKCE login.

Each test deploys a fresh ``sori-cli`` stack (moto reset first) so none depends on another's writes. The login test
answers the loopback callback itself and exchanges the code at a small fake token endpoint that records the form and
checks the PKCE verifier against the challenge in the printed URL; the whole flow through the Spotify emulator's
``/authorize`` runs in ``test_cloud_login_emulator.py``.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import pytest
import requests
from tls_mariadb import tls_server  # noqa: F401 - a fixture
from typer.testing import CliRunner

from local import cloud as ops
from local.cli import app
from local.provision import deploy

REGION = "ap-northeast-2"
STACK = "sori-cli"


@pytest.fixture()
def stack(moto_url, monkeypatch):
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    d = deploy(moto_url, region=REGION, stack_name=STACK)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("SORI_STACK", raising=False)
    return {"url": moto_url, "outputs": d["outputs"]}


def secret(stack, key: str) -> dict:
    sm = boto3.client("secretsmanager", endpoint_url=stack["url"], region_name=REGION)
    return json.loads(sm.get_secret_value(SecretId=stack["outputs"][key])["SecretString"])


def run(*args, env=None, input=None):
    return CliRunner().invoke(app, ["cloud", *args], env={"AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"], **(env or {})}, input=input,
                              catch_exceptions=False)


def test_resolve_stack_reads_outputs_and_honours_sori_stack(stack, monkeypatch):
    monkeypatch.setenv("SORI_STACK", STACK)
    info = ops.resolve_stack(None)
    assert info["stack"] == STACK and info["region"] == REGION
    for key in ("SpotifySecretArn", "ListeningTokenSecretArn", "MysqlSecretArn", "SkillSecretArn",
                "DynamoSinkDLQUrl", "RefreshQueueUrl", "LakeBucketName"):
        assert info["outputs"][key] == stack["outputs"][key]
    monkeypatch.delenv("SORI_STACK")
    with pytest.raises(ValueError, match="SORI_STACK"):
        ops.resolve_stack(None)


def test_credentials_from_options_and_from_hidden_prompt(stack):
    r = run("credentials", "--stack", STACK, "--client-id", "cid-1", "--client-secret", "cs-1")
    assert r.exit_code == 0, r.output
    assert secret(stack, "SpotifySecretArn") == {"client_id": "cid-1", "client_secret": "cs-1"}

    r = run("credentials", "--stack", STACK, input="cid-2\ncs-2\n")
    assert r.exit_code == 0, r.output
    assert secret(stack, "SpotifySecretArn") == {"client_id": "cid-2", "client_secret": "cs-2"}
    assert "cs-2" not in r.output  # hidden input is not echoed


def test_status_prints_skill_url_header_alarms_dlq_depths_and_placeholders(stack):
    out = stack["outputs"]
    sqs = boto3.client("sqs", endpoint_url=stack["url"], region_name=REGION)
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=out["DynamoSinkDLQUrl"], MessageBody=body)
    cw = boto3.client("cloudwatch", endpoint_url=stack["url"], region_name=REGION)
    alarms = cw.describe_alarms(AlarmNamePrefix=f"{STACK}-")["MetricAlarms"]
    assert alarms, "the template declares alarms named <stack>-…"
    fired = alarms[0]["AlarmName"]
    cw.set_alarm_state(AlarmName=fired, StateValue="ALARM", StateReason="test")
    run("credentials", "--stack", STACK, "--client-id", "cid", "--client-secret", "cs")

    r = run("status", "--stack", STACK)
    assert r.exit_code == 0, r.output
    skill = secret(stack, "SkillSecretArn")["secret"]
    # moto drops the ChatbotApiUrl output (the HTTP API is created beside the stack): the fallback finds it
    url = out.get("ChatbotApiUrl") or ops.skill_url(ops.resolve_stack(STACK))
    assert url.startswith("http") and url.endswith("/skill") and f"URL    {url}" in r.output
    assert f"X-Skill-Secret: {skill}" in r.output
    assert any(line.split() == ["ALARM", fired] for line in r.output.splitlines())
    assert any(line.split() == ["2", "DynamoSinkDLQUrl"] for line in r.output.splitlines())
    assert "ListeningTokenSecretArn: PLACEHOLDER refresh_token" in r.output
    assert "SpotifySecretArn: set" in r.output

    st = json.loads(run("status", "--stack", STACK, "--json").output)
    assert st["dlq_depths"] == {"DynamoSinkDLQUrl": 2, "ProducerDLQUrl": 0, "RefreshDLQUrl": 0, "S3SinkDLQUrl": 0}
    assert st["placeholders"]["ListeningTokenSecretArn"] == ["refresh_token"]
    assert st["placeholders"]["SpotifySecretArn"] == []
    assert {a["name"]: a["state"] for a in st["alarms"]}[fired] == "ALARM"
    assert st["skill_header"] == {"name": "X-Skill-Secret", "value": skill}


class _FakeTokenServer:
    """``POST /api/token``: records the form and answers a refresh token (the accounts service's PKCE exchange)."""

    def __init__(self):
        forms: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                forms.append(dict(urllib.parse.parse_qsl(self.rfile.read(n).decode())))
                body = json.dumps({"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
                                   "refresh_token": "rt-from-pkce"}).encode()
                self.send_response(200 if self.path == "/api/token" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.forms = forms
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_login_pkce_loopback_stores_refresh_token(stack, monkeypatch):
    token = _FakeTokenServer()
    monkeypatch.setenv("SORI_SPOTIFY_ACCOUNTS_URL", token.url)
    run("credentials", "--stack", STACK, "--client-id", "cid-login", "--client-secret", "unused")
    seen: dict = {}
    real = ops.authorize_url

    def authorize_then_browse(*args, **kwargs):
        """Build the URL, then play the browser: hit the redirect URI with a code and the URL's state."""
        url = real(*args, **kwargs)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))
        seen.update(url=url, query=q)
        cb = f"{q['redirect_uri']}?{urllib.parse.urlencode({'code': 'the-code', 'state': q['state']})}"
        threading.Thread(target=lambda: seen.update(page=requests.get(cb, timeout=10).text), daemon=True).start()
        return url

    monkeypatch.setattr(ops, "authorize_url", authorize_then_browse)
    try:
        r = run("login", "--stack", STACK, "--port", "0", "--timeout", "60")
    finally:
        token.close()
    assert r.exit_code == 0, r.output
    assert seen["url"] in r.output and seen["url"].startswith(f"{token.url}/authorize?")
    q = seen["query"]
    assert q["client_id"] == "cid-login" and q["response_type"] == "code" and q["code_challenge_method"] == "S256"
    assert q["redirect_uri"].startswith("http://127.0.0.1:") and q["redirect_uri"].endswith("/callback")
    [form] = token.forms
    assert form["grant_type"] == "authorization_code" and form["code"] == "the-code"
    assert form["client_id"] == "cid-login" and "client_secret" not in form
    assert form["redirect_uri"] == q["redirect_uri"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
    assert challenge.decode() == q["code_challenge"]
    assert secret(stack, "ListeningTokenSecretArn") == {"refresh_token": "rt-from-pkce"}


def test_login_refuses_while_client_id_is_placeholder(stack):
    r = run("login", "--stack", STACK, "--port", "0", "--timeout", "1")
    assert r.exit_code == 1
    assert f"sori cloud credentials --stack {STACK}" in r.output
    assert secret(stack, "ListeningTokenSecretArn") == {"refresh_token": "set-me"}


def test_callback_rejects_a_mismatched_state():
    server = ops.callback_server(0)
    cb = f"http://127.0.0.1:{server.server_address[1]}/callback?code=c&state=forged"
    threading.Thread(target=lambda: requests.get(cb, timeout=10), daemon=True).start()
    try:
        with pytest.raises(RuntimeError, match="state"):
            ops.wait_for_callback(server, "expected", timeout=30)
    finally:
        server.server_close()


def test_unknown_stack_and_missing_stack_name_are_reported(stack):
    r = run("status", "--stack", "no-such-stack")
    assert r.exit_code == 2 and "cannot read stack no-such-stack" in r.output
    r = run("status")
    assert r.exit_code == 2 and "SORI_STACK" in r.output


def test_views_and_queries_use_the_deployed_stacks_athena_workgroup(stack, monkeypatch):
    """Not the default workgroup ``sori``: the template creates ``<stack>-analytics`` (issue 12, item 8)."""
    from local.commands.analytics import _settings

    s = _settings(None, STACK)
    assert s.query_engine == "athena"
    assert s.athena_workgroup == stack["outputs"]["AthenaWorkGroupName"] == f"{STACK}-analytics"
    assert s.glue_database == stack["outputs"]["GlueDatabaseName"]
    assert s.bucket == stack["outputs"]["LakeBucketName"]
    monkeypatch.setenv("SORI_STACK", STACK)
    assert _settings(None).athena_workgroup == f"{STACK}-analytics"
    with pytest.raises(Exception, match="Athena"):
        _settings("duckdb", STACK)


# --- the local stack's commands on a deployed stack, by name (issue 12: "every command ... by stack name") -------

def sori(*args, env=None):
    """``sori ARGS`` as a user types it; no local stack runs here, so a command that ignored --stack fails."""
    return CliRunner().invoke(app, list(args), env={"AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"], **(env or {})},
                              catch_exceptions=False)


def printed(result) -> dict:
    """The command's ``--json`` line: the last line of stdout (moto runs in this process and, asked to run a
    function for the stream's event source mapping, prints its Docker warnings there first)."""
    return json.loads([ln for ln in result.stdout.splitlines() if ln.startswith("{")][-1])


def aws_client(stack, service):
    return boto3.client(service, endpoint_url=stack["url"], region_name=REGION)


def stream_payloads(stack) -> list[bytes]:
    kinesis = aws_client(stack, "kinesis")
    name = stack["outputs"]["StreamName"]
    out = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out += [r["Data"] for r in kinesis.get_records(ShardIterator=it, Limit=1000)["Records"]]
    return out


def queue_bodies(stack, output_key) -> list[dict]:
    """Every message of a queue (made visible again: looking takes nothing away)."""
    sqs = aws_client(stack, "sqs")
    url = stack["outputs"][output_key]
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
    for m in msgs:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in msgs]


def test_redrive_with_stack_replays_the_stacks_sink_dlq_onto_its_stream(stack, monkeypatch):
    from sori.dlq import poison_message
    from sori.records import encode, make_record

    monkeypatch.delenv("SORI_STACK", raising=False)
    fixed = encode(make_record("artist", {"artist_id": "a1", "name": "A"}, source="spotify",
                               emitted_at="2026-11-22T01:00:00Z"))
    still_bad = json.dumps({"type": "artist", "v": 2}).encode()
    sqs = aws_client(stack, "sqs")
    for payload in (fixed, still_bad):
        sqs.send_message(QueueUrl=stack["outputs"]["DynamoSinkDLQUrl"], MessageBody=json.dumps(poison_message(
            payload, reason="was poison", shard_id="shardId-000000000000", sequence_number="1",
            sub_sequence_number=0, function=f"{STACK}-dynamo-sink", partition_key="a1")))
    assert stream_payloads(stack) == []

    r = sori("redrive", "--stack", STACK, "--json")
    assert r.exit_code == 0, r.output
    out = printed(r)
    assert out["DynamoSinkFunction"] == {"received": 2, "redriven": 1, "deleted": 1, "still_poison": 1, "failed": 0}
    assert out["S3SinkFunction"]["received"] == 0
    assert stream_payloads(stack) == [fixed]  # on the stack's own stream (its StreamName output)
    assert [json.loads(b["record"]) for b in queue_bodies(stack, "DynamoSinkDLQUrl")] == [{"type": "artist", "v": 2}]

    r = sori("redrive", "--function", "NoSuchFunction", env={"SORI_STACK": STACK})  # $SORI_STACK names it too
    assert r.exit_code == 2 and "DynamoSinkFunction" in r.output


def chart_csv(rows: int = 200) -> bytes:
    head = "rank,uri,artist_names,track_name,source,peak_rank,previous_rank,weeks_on_chart,streams\r\n"
    body = "".join(f'{i},spotify:track:{i:022d},"Artist {i}, Guest",Song {i},Label,{i},{i},3,"{(300 - i) * 1000:,}"\r\n'
                   for i in range(1, rows + 1))
    return ("\ufeff" + head + body).encode("utf-8")


def test_charts_import_with_stack_lands_in_the_stacks_landing_prefix_and_a_bad_file_does_not(stack, tmp_path):
    good = tmp_path / "regional-kr-weekly-2026-11-19.csv"
    good.write_bytes(chart_csv())
    s3 = aws_client(stack, "s3")
    bucket = stack["outputs"]["LakeBucketName"]

    r = sori("charts", "import", str(good), "--stack", STACK, "--json")
    assert r.exit_code == 0, r.output
    out = printed(r)
    key = "landing/charts/regional-kr-weekly-2026-11-19.csv"
    assert out["uploaded"] == f"s3://{bucket}/{key}" and (out["country"], out["week"], out["rows"]) == ("kr", "2026-11-19", 200)
    assert out["function"] == stack["outputs"]["ChartsDropFunctionName"]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == good.read_bytes()

    named = tmp_path / "upload.csv"  # country and week as options travel as object metadata, as the drop reads them
    named.write_bytes(chart_csv())
    assert sori("charts", "import", str(named), "--stack", STACK, "--country", "jp", "--week", "2026-11-19").exit_code == 0
    assert s3.head_object(Bucket=bucket, Key="landing/charts/upload.csv")["Metadata"] == {"country": "jp", "week": "2026-11-19"}

    cut = tmp_path / "regional-kr-weekly-2026-11-26.csv"
    cut.write_bytes(chart_csv(150))  # truncated: the drop would reject it, so it is not uploaded at all
    r = sori("charts", "import", str(cut), "--stack", STACK)
    assert r.exit_code == 1 and "150 rows, expected 200" in r.output
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="landing/charts/").get("Contents", [])
    assert sorted(o["Key"] for o in listed) == [key, "landing/charts/upload.csv"]


class _LambdaStandIn:
    """Plays the deployed Lambda service for ``Invoke`` (moto cannot run code): a ``before-call`` hook on the
    default boto3 session records each call and answers it, failing the events that carry ``"fail"``."""

    def __init__(self):
        import boto3

        self.calls: list[dict] = []
        self.events = boto3._get_default_session().events
        self.events.register("before-call.lambda.Invoke", self)

    def __call__(self, params, **kwargs):
        import io
        import urllib.parse

        from botocore.awsrequest import AWSResponse
        from botocore.response import StreamingBody

        event = json.loads(params["body"])  # the serialized request: POST /2015-03-31/functions/<name>/invocations
        name = urllib.parse.unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        self.calls.append({"function": name, "type": params["headers"].get("X-Amz-Invocation-Type"), "event": event})
        body = json.dumps({"errorMessage": "stream unreachable", "errorType": "UnsentRecordsError"} if "fail" in event
                          else {"files": [], "rejected": []}).encode()
        parsed = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
        if "fail" in event:
            parsed["FunctionError"] = "Unhandled"
        return AWSResponse("https://lambda.invalid", 200, {}, None), parsed

    def close(self):
        self.events.unregister("before-call.lambda.Invoke", self)


def test_charts_redrive_with_stack_runs_parked_drops_on_the_stacks_function(stack):
    def parked(key, **extra):
        return {"version": "1.0", "requestContext": {"requestId": "r-" + key, "condition": "RetriesExhausted",
                                                      "approximateInvokeCount": 3},
                "requestPayload": {"Records": [{"eventSource": "aws:s3", "s3": {
                    "bucket": {"name": stack["outputs"]["LakeBucketName"]}, "object": {"key": key}}}], **extra},
                "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
                "responsePayload": {"errorMessage": "12 user records unsent", "errorType": "UnsentRecordsError"}}

    sqs = aws_client(stack, "sqs")
    queue = stack["outputs"]["ProducerDLQUrl"]
    ok, failing = parked("landing/charts/a.csv"), parked("landing/charts/b.csv", fail=True)
    rejected = {"reason": "has 150 rows, expected 200", "bucket": "b", "key": "landing/charts/c.csv", "line": 151}
    for body in (ok, failing, rejected):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))

    lam = _LambdaStandIn()
    try:
        r = sori("charts", "redrive", "--stack", STACK, "--json")
    finally:
        lam.close()
    assert r.exit_code == 0, r.output
    assert printed(r) == {"received": 3, "redriven": 1, "deleted": 1, "still_poison": 0, "failed": 1}
    assert sorted(c["event"]["Records"][0]["s3"]["object"]["key"] for c in lam.calls) == ["landing/charts/a.csv", "landing/charts/b.csv"]
    assert {(c["function"], c["type"]) for c in lam.calls} == {(stack["outputs"]["ChartsDropFunctionName"], "RequestResponse")}
    assert [c["event"] for c in lam.calls if "fail" not in c["event"]] == [ok["requestPayload"]]
    left = queue_bodies(stack, "ProducerDLQUrl")
    assert sorted(json.dumps(b, sort_keys=True) for b in left) == sorted(json.dumps(b, sort_keys=True) for b in (failing, rejected))


@pytest.fixture()
def db_stack(moto_url, monkeypatch, tls_server):
    """The template deployed with an existing MySQL (``MysqlHost``): a TLS MariaDB whose certificate names
    ``localhost``, a migrated database of its own, and the stack's MysqlSecret holding its credentials."""
    from local.mariadb import drop_database, fresh_database
    from sori.stores.mysql.connection import parse_url

    url = fresh_database(f"mysql://root@127.0.0.1:{tls_server['port']}/")
    database = parse_url(url)["database"]
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    d = deploy(moto_url, region=REGION, stack_name=STACK,
               overrides={"MysqlHost": "localhost", "MysqlPort": str(tls_server["port"]), "MysqlDatabase": database})
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("SORI_STACK", raising=False)
    st = {"url": moto_url, "outputs": d["outputs"], "db_url": url, "ca": str(tls_server["dir"] / "ca.pem")}
    aws_client(st, "secretsmanager").put_secret_value(SecretId=d["outputs"]["MysqlSecretArn"],
                                                       SecretString=json.dumps({"username": "root", "password": ""}))
    yield st
    drop_database(url)


def test_related_export_with_stack_reads_the_mysql_its_outputs_and_secret_name(db_stack, monkeypatch):
    import datetime as dt

    from sori.settings import clear_secret_cache
    from sori.stores.mysql import ArtistStore, RelatedStore
    from sori.stores.mysql.connection import open_connection

    out = db_stack["outputs"]
    assert (out["MysqlEndpoint"], out["MysqlDatabaseName"]) == ("localhost", db_stack["db_url"].rsplit("/", 1)[1])
    conn = open_connection(db_stack["db_url"])
    ArtistStore(conn).upsert_artists([{"id": "a1", "name": "아이유"}, {"id": "a2", "name": "태연"}], source="seed")
    RelatedStore(conn).write_generation([{"artist_id": "a1", "related_id": "a2", "rank": 1, "score": 0.75}],
                                        dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    conn.close()
    clear_secret_cache()
    # the local test MariaDB is what SORI_MYSQL_URL names; the deployed stack's database must win over it
    monkeypatch.setenv("SORI_MYSQL_URL", "mysql://root@127.0.0.1:1/nothing-here")

    r = sori("related", "export", "--stack", STACK, "--ssl-ca", db_stack["ca"], "--format", "json")
    assert r.exit_code == 0, r.output
    rows = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert rows == [{"artist": "아이유", "related": "태연", "artist_id": "a1", "related_id": "a2", "rank": 1, "score": 0.75}]

    # TLS is verified as the functions verify it: the RDS bundle does not vouch for this server's certificate
    r = sori("related", "export", "--stack", STACK)
    assert r.exit_code == 2 and "over TLS" in r.output and f"localhost:{out['MysqlPort']}" in r.output


# --- sori cloud status: the last run of each schedule, from each scheduled function's CloudWatch log ---------------

_HANDLER_LOG = io.StringIO()


def handler_lines(event, request_id, summary=None) -> list[str]:
    """What a handler writes for one invocation, by the real decorator and a Powertools logger: the ``invoked``
    line (and the run summary when given)."""
    from aws_lambda_powertools import Logger

    from local.lambda_context import LocalLambdaContext
    from sori.observability import observed

    logger = Logger(service="cloud-cli-probe", stream=_HANDLER_LOG)  # one logging.Logger per service name: reused

    @observed(logger)
    def handler(event, context):
        if summary is not None:
            logger.info("run summary", extra={"summary": summary})

    _HANDLER_LOG.seek(0)
    _HANDLER_LOG.truncate()
    handler(event, LocalLambdaContext(function_name="probe", aws_request_id=request_id))
    return _HANDLER_LOG.getvalue().splitlines()


def put_invocation(logs, function, stream, at_ms, request_id, event, *, summary=None, error=None, timeout=False,
                   finished=True):
    """One invocation as Lambda logs it: START, the handler's lines, the runtime's [ERROR] line, END + REPORT."""
    group = f"/aws/lambda/{function}"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    lines = [f"START RequestId: {request_id} Version: $LATEST", *handler_lines(event, request_id, summary)]
    if error:
        lines.append(f"[ERROR] {error}\rTraceback (most recent call last):\r\u00a0\u00a0File \"/var/task/x.py\", line 1")
    if timeout:
        lines.append(f"2026-12-04T03:00:00.000Z {request_id} Task timed out after 120.00 seconds")
    if finished:
        lines += [f"END RequestId: {request_id}",
                  f"REPORT RequestId: {request_id}\tDuration: 1234.56 ms\tBilled Duration: 1235 ms\tMemory Size: 512 MB"
                  f"\tMax Memory Used: 99 MB" + ("\tStatus: timeout" if timeout else "")]
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": at_ms + i, "message": m} for i, m in enumerate(lines)])


def scheduled(rule: str) -> dict:
    return {"version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {},
            "resources": [f"arn:aws:events:{REGION}:123456789012:rule/{STACK}-{rule}"]}


def test_status_reports_the_last_run_of_each_schedule_from_the_functions_logs(stack):
    import datetime as dt
    import time

    out = stack["outputs"]
    logs = aws_client(stack, "logs")
    base = (int(time.time()) // 60 - 180) * 60_000  # three hours ago, to the minute
    iso = lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    minute = 60_000
    placeholder = f"PlaceholderSecret: secret {STACK}/spotify still holds the placeholder 'set-me' for 'client_id'"

    put_invocation(logs, out["ChartsFunctionName"], "s/[$LATEST]c1", base, "c1", scheduled("ChartsWeekly"),
                   summary={"producer": "charts", "stopped": None})
    # the catalog: an older container's good nightly; a newer one's failed nightly, then a queued refresh (not it)
    put_invocation(logs, out["CatalogFunctionName"], "s/[$LATEST]k0", base - 1440 * minute, "k0",
                   scheduled("CatalogNightly"), summary={"producer": "catalog", "stopped": None})
    put_invocation(logs, out["CatalogFunctionName"], "s/[$LATEST]k1", base + 10 * minute, "k1",
                   scheduled("CatalogNightly"), error=placeholder)
    put_invocation(logs, out["CatalogFunctionName"], "s/[$LATEST]k1", base + 20 * minute, "k2",
                   {"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": "{}"}]},
                   summary={"producer": "catalog", "stopped": None})
    # the listening function: recently played stopped on quota in one container; a newer container timed out on
    # followed artists (its run must not stand in for the recently-played schedule)
    put_invocation(logs, out["ListeningFunctionName"], "s/[$LATEST]l1", base + 30 * minute, "l1",
                   {"job": "recently_played"}, summary={"producer": "listening", "stopped": "QUOTA_EXCEEDED"})
    put_invocation(logs, out["ListeningFunctionName"], "s/[$LATEST]l2", base + 40 * minute, "l2",
                   {"job": "followed_artists"}, timeout=True)
    put_invocation(logs, out["CompactFunctionName"], "s/[$LATEST]x1", base + 50 * minute, "x1",
                   scheduled("CompactDaily"), finished=False)
    # RelatedBuilderFunction never ran: Lambda has not even created its log group

    r = run("status", "--stack", STACK, "--json")
    assert r.exit_code == 0, r.output
    runs = {x["schedule"]: x for x in printed(r)["last_runs"]}
    assert set(runs) == {"charts weekly", "catalog nightly", "listening recently played",
                         "listening followed artists", "compaction", "related builder"}
    got = {k: v["last_run"] and (v["last_run"]["started_at"], v["last_run"]["outcome"]) for k, v in runs.items()}
    assert got == {
        "charts weekly": (iso(base), "ok"),
        "catalog nightly": (iso(base + 10 * minute), "error"),
        "listening recently played": (iso(base + 30 * minute), "stopped (QUOTA_EXCEEDED)"),
        "listening followed artists": (iso(base + 40 * minute), "timeout"),
        "compaction": (iso(base + 50 * minute), "running"),
        "related builder": None,
    }
    assert runs["catalog nightly"]["last_run"]["error"] == placeholder
    assert runs["catalog nightly"]["function"] == out["CatalogFunctionName"]
    assert runs["charts weekly"]["last_run"]["duration_s"] == 1.2 and runs["charts weekly"]["last_run"]["trigger"] == "schedule"

    text = run("status", "--stack", STACK).stdout
    block = text[text.index("schedules (last run"):].splitlines()[1:]
    fn = {k: f"[{out[k + 'FunctionName']}]" for k in ("Charts", "Catalog", "Listening", "Compact", "RelatedBuilder")}
    assert [" ".join(ln.split()) for ln in block] == [
        f"charts weekly Fri 12:00 KST {iso(base)} ok (1.2 s) {fn['Charts']}",
        f"catalog nightly 03:00 KST {iso(base + 10 * minute)} error (1.2 s): {placeholder} {fn['Catalog']}",
        f"listening recently played every 2 h {iso(base + 30 * minute)} stopped (QUOTA_EXCEEDED) (1.2 s) "
        f"{fn['Listening']}",
        f"listening followed artists 02:00 KST {iso(base + 40 * minute)} timeout (1.2 s) {fn['Listening']}",
        f"compaction 04:30 KST {iso(base + 50 * minute)} running {fn['Compact']}",
        f"related builder 05:00 KST never {fn['RelatedBuilder']}"]

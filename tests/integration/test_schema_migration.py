"""The schema-migration function driven the way CloudFormation drives ``Custom::SchemaMigration``: a request event
with a pre-signed ``ResponseURL`` (here a loopback server recording the PUT), against a real MariaDB."""
from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local.mariadb import create_database, drop_database
from sori.stores.mysql import open_connection
from sori.stores.mysql.migrations import load_migrations


@pytest.fixture()
def response_url():
    got: list[dict] = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_PUT(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"body": json.loads(body), "content_type": self.headers.get("Content-Type")})
            self.send_response(200)
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/cfn-response?X-Amz-Signature=abc", got
    srv.shutdown()


@pytest.fixture()
def empty_db(mysql_server_url, monkeypatch):
    url = create_database(mysql_server_url, f"sori_cfn_{secrets.token_hex(4)}", run_migrations=False)
    monkeypatch.setenv("SORI_MYSQL_URL", url)
    from sori.settings import get_settings

    get_settings.cache_clear()
    yield url
    drop_database(url)
    get_settings.cache_clear()


def _event(kind: str, url: str, **extra) -> dict:
    return {"RequestType": kind, "ResponseURL": url, "StackId": "arn:aws:cloudformation:ap-northeast-2:1:stack/s/x",
            "RequestId": secrets.token_hex(8), "LogicalResourceId": "SchemaMigration",
            "ResourceType": "Custom::SchemaMigration",
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "SchemaVersion": "1"}, **extra}


def _tables(url: str) -> set[str]:
    conn = open_connection(url)
    with conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        names = {str(next(iter(dict(r).values()))) for r in cur.fetchall()}
    conn.close()
    return names


def test_create_migrates_and_answers_success(empty_db, response_url):
    from consumers.schema_migration.handler import lambda_handler

    url, got = response_url
    latest = max(m.version for m in load_migrations())
    lambda_handler(_event("Create", url), None)
    (put,) = got
    body = put["body"]
    assert body["Status"] == "SUCCESS", body
    assert body["Data"]["Version"] == str(latest) and body["Data"]["Applied"]
    assert body["PhysicalResourceId"] and body["LogicalResourceId"] == "SchemaMigration"
    assert put["content_type"] == ""  # the pre-signed URL's signature covers no content type
    assert {"schema_migrations", "artists"} <= _tables(empty_db)


def test_update_is_idempotent(empty_db, response_url):
    from consumers.schema_migration.handler import lambda_handler

    url, got = response_url
    lambda_handler(_event("Create", url), None)
    physical = got[0]["body"]["PhysicalResourceId"]
    lambda_handler(_event("Update", url, PhysicalResourceId=physical), None)
    body = got[1]["body"]
    assert body["Status"] == "SUCCESS" and body["Data"]["Applied"] == "" and body["PhysicalResourceId"] == physical


def test_delete_keeps_the_schema(empty_db, response_url):
    from consumers.schema_migration.handler import lambda_handler

    url, got = response_url
    lambda_handler(_event("Create", url), None)
    lambda_handler(_event("Delete", url, PhysicalResourceId=got[0]["body"]["PhysicalResourceId"]), None)
    assert got[1]["body"]["Status"] == "SUCCESS" and "schema_migrations" in _tables(empty_db)


def test_an_unreachable_database_answers_failed_with_the_reason(response_url, monkeypatch):
    from consumers.schema_migration.handler import lambda_handler
    from sori.settings import get_settings

    monkeypatch.setenv("SORI_MYSQL_URL", "mysql://root@127.0.0.1:1/sori")  # nothing listens on port 1
    get_settings.cache_clear()
    url, got = response_url
    lambda_handler(_event("Create", url), None)  # returns: the stack must not hang
    body = got[0]["body"]
    assert body["Status"] == "FAILED" and "OperationalError" in body["Reason"]
    get_settings.cache_clear()


def test_the_template_bumps_schema_version_with_the_migrations():
    from local.provision import load_template

    props = load_template()["Resources"]["SchemaMigration"]["Properties"]
    assert str(props["SchemaVersion"]) == str(max(m.version for m in load_migrations()))

"""Schema migrations as a CloudFormation custom resource (``Custom::SchemaMigration``), run on every deploy.

CloudFormation sends ``Create``/``Update``/``Delete`` with a pre-signed ``ResponseURL`` and waits (up to an hour)
for a PUT of the outcome there. :func:`handle` runs the versioned, idempotent migrations
(:func:`sori.stores.mysql.migrations.migrate`) and always answers, ``SUCCESS`` or ``FAILED`` with the reason, so
a broken database fails the deploy at once instead of hanging it. ``Delete`` keeps the schema: the data outlives
the stack (the database itself keeps a final snapshot).

>>> body = response_body({"StackId": "s", "RequestId": "r", "LogicalResourceId": "SchemaMigration"},
...                      "FAILED", "pid", reason="OperationalError: no route")
>>> body["Status"], body["PhysicalResourceId"], body["Reason"]
('FAILED', 'pid', 'OperationalError: no route')
"""
from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

REASON_MAX = 3000  # CloudFormation rejects a response body over 4 KB


def response_body(event: Mapping[str, Any], status: str, physical_id: str, *, reason: str = "",
                  data: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON CloudFormation expects at ``ResponseURL``."""
    return {"Status": status, "Reason": reason[:REASON_MAX] or status, "PhysicalResourceId": physical_id,
            "StackId": event["StackId"], "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"], "NoEcho": False, "Data": dict(data or {})}


def put_response(url: str, body: Mapping[str, Any], timeout: float = 30.0) -> int:
    """PUT the outcome to the pre-signed S3 URL (no content type: it is part of the signature)."""
    raw = json.dumps(body).encode()
    req = urllib.request.Request(url, data=raw, method="PUT",
                                 headers={"Content-Type": "", "Content-Length": str(len(raw))})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return int(resp.status)


def handle(event: Mapping[str, Any], *, connect: Callable[[], Any], migrate: Callable[[Any], list[int]],
           current_version: Callable[[Any], int | None],
           put: Callable[[str, Mapping[str, Any]], int] = put_response) -> dict[str, Any]:
    """Answer one custom-resource request; return the body sent. Never raises before the answer is sent."""
    request = event.get("RequestType")
    physical = event.get("PhysicalResourceId") or f"sori-schema-{event.get('LogicalResourceId', 'migration')}"
    status, reason, data = "SUCCESS", "", {}
    try:
        if request in ("Create", "Update"):
            conn = connect()
            try:
                applied = migrate(conn)
                version = current_version(conn)
            finally:
                conn.close()
            data = {"Applied": ",".join(map(str, applied)), "Version": str(version or 0)}
            reason = f"schema at version {version}; applied now: {applied or 'none'}"
        elif request == "Delete":
            reason = "schema kept: the data outlives the stack"
        else:
            raise ValueError(f"unknown RequestType {request!r}")
    except Exception as e:
        log.exception("schema migration failed")
        status, reason = "FAILED", f"{type(e).__name__}: {e}"
    body = response_body(event, status, physical, reason=reason, data=data)
    put(str(event["ResponseURL"]), body)
    return body

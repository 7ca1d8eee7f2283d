"""sori.dlq.reinvoke against moto SQS: a chart drop that failed through Lambda's async retries is run again from
its on-failure record; what is not such a record (a rejected file's reason) is left for a human."""
from __future__ import annotations

import json

import boto3

from sori.dlq import RedriveReport, is_async_failure_record, reinvoke

REGION = "ap-northeast-2"


def s3_event(key: str) -> dict:
    return {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "lake"}, "object": {"key": key}}}]}


def on_failure(key: str) -> dict:
    """Lambda's on-failure record for an async invocation, as the destination receives it."""
    return {"version": "1.0", "timestamp": "2026-11-22T18:00:00.000Z",
            "requestContext": {"requestId": "r-" + key, "condition": "RetriesExhausted", "approximateInvokeCount": 3,
                               "functionArn": "arn:aws:lambda:ap-northeast-2:123456789012:function:sori-charts-drop"},
            "requestPayload": s3_event(key),
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "12 user records unsent after retries", "errorType": "UnsentRecordsError"}}


def remaining(sqs, url) -> list[dict]:
    """Every visible message's body (made visible again afterwards: looking takes nothing away)."""
    out, handles = [], []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not msgs:
            break
        out += [json.loads(m["Body"]) for m in msgs]
        handles += [m["ReceiptHandle"] for m in msgs]
    for h in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=h, VisibilityTimeout=0)
    return out


def test_failed_drops_run_again_and_other_messages_stay(aws):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="producer-dlq")["QueueUrl"]
    rejected = {"reason": "line 7: expected 9 columns, got 4", "bucket": "lake",
                "key": "landing/charts/regional-kr-weekly-2026-11-19.csv", "line": 7}
    bodies = [on_failure(f"landing/charts/regional-{cc}-weekly-2026-11-19.csv") for cc in ("kr", "jp", "us")]
    for b in [rejected, *bodies, {"not": "json-shaped dead letter"}]:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(b))
    ran = []

    def invoke(event):
        key = event["Records"][0]["s3"]["object"]["key"]
        if "-jp-" in key:
            raise RuntimeError("stream still unreachable")
        ran.append(key)
        return {"files": [key]}

    report = reinvoke(url, invoke, sqs=sqs)
    assert isinstance(report, RedriveReport)
    assert report.as_dict() == {"received": 5, "redriven": 2, "deleted": 2, "still_poison": 0, "failed": 1}
    assert sorted(ran) == ["landing/charts/regional-kr-weekly-2026-11-19.csv",
                           "landing/charts/regional-us-weekly-2026-11-19.csv"]
    left = remaining(sqs, url)  # visible again at once: kept, not hidden until a timeout
    assert len(left) == 3 and rejected in left and {"not": "json-shaped dead letter"} in left
    assert [b for b in left if is_async_failure_record(b)] == [bodies[1]]
    # the next pass, once the stream is back, clears it
    assert reinvoke(url, lambda e: None, sqs=sqs).redriven == 1
    assert not any(is_async_failure_record(b) for b in remaining(sqs, url))


def test_kinesis_on_failure_records_are_not_async_ones():
    assert not is_async_failure_record({"requestContext": {"requestId": "x"}, "KinesisBatchInfo": {"shardId": "s"}})

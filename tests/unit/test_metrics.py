"""sori.metrics: one EMF line per invocation with the figures, none where metrics are disabled; the consumer
path and producer runs publish theirs."""
from __future__ import annotations

import json

import pytest

from sori import metrics
from sori.consumer import BatchItem, consume
from sori.kinesis.deagg import Unpacked
from sori.records import encode, make_record


@pytest.fixture
def enabled(monkeypatch):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "sori-test")


def emf_lines(out: str) -> list[dict]:
    return [d for d in (json.loads(line) for line in out.splitlines() if line.startswith("{")) if "_aws" in d]


def test_publish_prints_one_emf_line_with_counts_and_dimensions(enabled, capsys):
    assert metrics.publish({"UserRecords": 500, "PoisonRecords": 2, "Skipped": None}, service="s3_sink",
                           dimensions={"mode": "development"})
    (line,) = emf_lines(capsys.readouterr().out)
    spec = line["_aws"]["CloudWatchMetrics"][0]
    assert spec["Namespace"] == "sori-test"
    assert sorted(spec["Dimensions"][0]) == ["mode", "service"]
    assert {m["Name"]: m["Unit"] for m in spec["Metrics"]} == {"UserRecords": "Count", "PoisonRecords": "Count"}
    assert (line["service"], line["mode"], line["UserRecords"], line["PoisonRecords"]) == \
        ("s3_sink", "development", [500.0], [2.0])


def test_nothing_is_printed_where_metrics_are_disabled(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    assert not metrics.publish({"UserRecords": 1}, service="s3_sink")
    assert capsys.readouterr().out == ""


def test_two_services_in_one_process_do_not_mix(enabled, capsys):
    metrics.publish({"UserRecords": 1}, service="dynamo_sink")
    metrics.publish({"PutPayloadUnits": 3}, service="catalog")
    a, b = emf_lines(capsys.readouterr().out)
    assert (a["service"], "PutPayloadUnits" in a) == ("dynamo_sink", False)
    assert (b["service"], "UserRecords" in b) == ("catalog", False)


class _NoDLQ:
    def send(self, messages):
        return []


def test_consume_publishes_the_batch_figures(enabled, capsys, monkeypatch):
    good = encode(make_record("artist", {"artist_id": "a", "name": "A"}, source="spotify",
                              emitted_at="2026-11-22T00:00:00Z"))
    items = [BatchItem(0, {}, "shardId-0", "1", Unpacked([good, b"{bad"], ["a", "a"], False))]
    event = {"Records": [{"kinesis": {"sequenceNumber": "1"}}]}
    monkeypatch.setattr("sori.consumer.unpack_items", lambda ev: items)
    resp = consume(event, lambda batch: {0: RuntimeError("store down")}, dlq=_NoDLQ(), metrics_service="dynamo_sink")
    assert resp == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    (line,) = emf_lines(capsys.readouterr().out)
    assert (line["UserRecords"], line["PoisonRecords"], line["FailedItems"]) == ([2.0], [1.0], [1.0])

"""moto base-table queries read one partition (the chatbot's top-track lookups), with unchanged results."""
from __future__ import annotations

import boto3
from moto import mock_aws

from local import moto_patches


def _table():
    c = boto3.client("dynamodb", region_name="ap-northeast-2")
    c.create_table(TableName="t", KeySchema=[{"AttributeName": "a", "KeyType": "HASH"},
                                             {"AttributeName": "r", "KeyType": "RANGE"}],
                   AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"},
                                         {"AttributeName": "r", "AttributeType": "N"}],
                   BillingMode="PAY_PER_REQUEST")
    for a in ("x", "y", "z"):
        for r in (3, 1, 2):
            c.put_item(TableName="t", Item={"a": {"S": a}, "r": {"N": str(r)}})
    return c


def _q(c, a, **kw):
    return c.query(TableName="t", KeyConditionExpression="a = :a", ExpressionAttributeValues={":a": {"S": a}},
                   **kw)


@mock_aws
def test_partition_query_returns_what_moto_returned_and_reads_one_partition(monkeypatch):
    c = _table()
    before = [_q(c, "y"), _q(c, "y", ScanIndexForward=False, Limit=2), _q(c, "nobody")]
    moto_patches.install_partition_queries()
    from moto.dynamodb.models.table import Table

    seen = []
    real = Table.all_items

    def counting(self):
        out = real(self)
        seen.append(len(out))
        return out
    monkeypatch.setattr(Table, "all_items", counting)
    after = [_q(c, "y"), _q(c, "y", ScanIndexForward=False, Limit=2), _q(c, "nobody")]
    strip = [{k: v for k, v in r.items() if k != "ResponseMetadata"} for r in before]
    assert [{k: v for k, v in r.items() if k != "ResponseMetadata"} for r in after] == strip
    assert [x["r"]["N"] for x in after[0]["Items"]] == ["1", "2", "3"]
    assert seen and max(seen) <= 3  # one partition, never the 9-item table
    assert len(c.scan(TableName="t")["Items"]) == 9  # scans still see everything

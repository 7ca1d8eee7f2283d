"""The synthetic workload: valid records plus tagged poison, and how to recognise them again."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sori.records import make_record

#: Every poison payload carries this token (followed by a number), so DLQ messages can be matched to it.
POISON_TOKEN = "chaos-poison-"
_POISON_RE = re.compile(rb"chaos-poison-(\d+)")
POISON_KINDS = ("bad_json", "not_utf8", "unknown_type", "unknown_version", "schema_violation")
KINESIS_FUNCTIONS = ("DynamoSinkFunction", "S3SinkFunction")
#: The emulator has no rate limit unless configured; our own 150/30 s budget would only slow the run down.
LOCAL_BUDGET_PER_30S = "20000"



# =============================================================================================== records


def poison_payload(kind: str, token: str, emitted_at: str) -> bytes:
    """One poison user record of ``kind`` (see :data:`POISON_KINDS`), carrying ``token``.

    >>> from sori.records import RecordError, validate
    >>> for k in POISON_KINDS:
    ...     try:
    ...         validate(poison_payload(k, "chaos-poison-1", "2026-11-22T00:00:00Z"))
    ...     except RecordError:
    ...         pass
    ...     else:
    ...         print("valid?!", k)
    """
    track = {"artist_id": "a", "track_id": token, "name": "Poison", "rank": 1}
    if kind == "bad_json":
        return ('{"type": "top_track", "v": 1, "id": "' + token + '", "data": {"name": ').encode()
    if kind == "not_utf8":
        return b'{"type": "top_track", "id": "' + token.encode() + b'", "name": "\xff\xfe\xc3"}'
    base = {"type": "top_track", "v": 1, "id": f"top_track:a:{token}:{emitted_at[:10]}", "emitted_at": emitted_at,
            "source": "chaos", "data": track}
    if kind == "unknown_type":
        base.update(type="podcast_episode", id=token)
    elif kind == "unknown_version":
        base.update(v=99)
    elif kind == "schema_violation":
        base["data"] = {**track, "rank": "first"}
    else:
        raise ValueError(f"unknown poison kind {kind!r}")
    return json.dumps(base).encode()


@dataclass
class Workload:
    """The synthetic records: chunks to put (records or ``(pk, payload)`` poison pairs) and what to expect."""

    chunks: list[list[Any]]
    valid_ids: set[str]
    poison: dict[str, str]  # token -> kind

    @property
    def total(self) -> int:
        return len(self.valid_ids) + len(self.poison)


def synthetic_workload(n: int, rng: random.Random, *, day: str, poison_rate: float = 0.001,
                       newer_rate: float = 0.1, chunk: int = 250) -> Workload:
    """``n`` user records, mostly top tracks, chart entries and collection members over many partition keys.

    Every valid record has its own id. ``newer_rate`` of the top tracks are also emitted for the previous day
    (a separate, older record of the same DynamoDB key), half of them *after* the newer one.
    """
    prev = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    artists = [f"chaosartist{i:05d}" for i in range(max(50, n // 20))]
    n_poison = max(len(POISON_KINDS), round(n * poison_rate)) if poison_rate > 0 else 0
    out: list[Any] = []
    valid: set[str] = set()
    poison: dict[str, str] = {}
    next_artist_record = 0

    def at(d: str) -> str:
        return f"{d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"

    def add(rec: dict) -> None:
        out.append(rec)
        valid.add(rec["id"])

    j = 0
    while len(out) < n - n_poison:
        a = rng.choice(artists)
        roll = rng.random()
        if roll < 0.40:
            data: dict[str, Any] = {
                    "artist_id": a, "track_id": f"chaostrack{j:07d}", "name": f"Song {j}", "rank": rng.randint(1, 10),
                    "album": f"Album {j % 97}", "url": f"https://open.spotify.com/track/chaostrack{j:07d}",
                    "artist_name": a, "via": "top-tracks", "popularity": rng.randrange(100)}
            newer = make_record("top_track", data, source="chaos", emitted_at=at(day))
            if rng.random() < newer_rate and len(out) < n - n_poison - 1:
                older = make_record("top_track", {**data, "rank": data["rank"] % 10 + 1, "name": f"Old {j}"},
                                    source="chaos", emitted_at=at(prev))
                for r in ((older, newer) if rng.random() < 0.5 else (newer, older)):
                    add(r)
            else:
                add(newer)
        elif roll < 0.75:
            add(make_record("collection_member", {
                "kind": "playlist", "collection_id": f"chaospl{j // 40:05d}", "artist_id": a,
                "track_id": f"chaosct{j:07d}", "artist_name": a}, source="chaos", emitted_at=at(day)))
        elif roll < 0.95:
            add(make_record("chart_entry", {
                "chart_id": f"chaos-chart-{j // 200:04d}", "country": "kr", "week": prev, "rank": j % 200 + 1,
                "track_id": f"chaosce{j:07d}", "track_name": f"Song {j}", "artist_names": [a], "artist_ids": [a],
                "streams": rng.randrange(10 ** 6)}, source="chaos", emitted_at=at(day)))
        else:
            aid = artists[next_artist_record] if next_artist_record < len(artists) else f"chaosextra{j:07d}"
            next_artist_record += 1
            add(make_record("artist", {"artist_id": aid, "name": f"Artist {aid}", "genres": ["k-pop"],
                                       "popularity": rng.randrange(100)}, source="chaos", emitted_at=at(day)))
        j += 1
    for i in range(n_poison):
        kind = POISON_KINDS[i % len(POISON_KINDS)]
        token = f"{POISON_TOKEN}{i:06d}"
        poison[token] = kind
        out.insert(rng.randrange(len(out) + 1), (rng.choice(artists), poison_payload(kind, token, at(day))))
    chunks = [out[i:i + chunk] for i in range(0, len(out), chunk)]
    return Workload(chunks, valid, poison)


def user_payloads(blobs: Iterable[bytes]) -> Iterable[bytes]:
    """The user records inside Kinesis record data (KPL aggregates unpacked; plain records as they are)."""
    from sori.kinesis.deagg import unpack

    for blob in blobs:
        yield from unpack(blob).payloads


def payload_id(payload: bytes) -> tuple[str, str]:
    """``("poison", token)`` or ``("valid", record id)`` of one user record payload."""
    m = _POISON_RE.search(payload)
    if m:
        return "poison", POISON_TOKEN + m.group(1).decode()
    return "valid", json.loads(payload)["id"]



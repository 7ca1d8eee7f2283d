"""The record contract: the one shape every Kinesis user record has (docs/ARCHITECTURE.md §3).

Every user record is one JSON object::

    {"type": "top_track", "v": 1, "id": "top_track:<artist>:<track>:2026-11-22",
     "emitted_at": "2026-11-22T18:00:03Z", "source": "spotify", "data": {...}}

Producers build records with :func:`make_record`; consumers check them with :func:`validate`.
The same field specs give the lake's parquet schema and the Glue table columns, so a field is
declared once, here.

>>> r = make_record("artist", {"artist_id": "3Nrfpe0tUJi4K4DXYWgMUX", "name": "BTS"},
...                 source="spotify", emitted_at="2026-11-22T18:00:00Z")
>>> r["id"]
'artist:3Nrfpe0tUJi4K4DXYWgMUX:2026-11-22'
>>> validate(r).type
'artist'

Stdlib only: the chatbot imports this module and must stay lean.
"""
from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Versions consumers accept. A record with any other ``v`` is poison: dead-lettered with a reason.
SUPPORTED_VERSIONS = frozenset({1})
CURRENT_VERSION = 1


class RecordError(ValueError):
    """A record that can never be processed (bad JSON, unknown type/version, schema violation)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Field:
    """One field of a record's ``data``.

    ``kind`` is a logical type: ``string``, ``int``, ``double``, ``bool``, ``date`` (YYYY-MM-DD string),
    ``timestamp`` (ISO-8601 UTC string) or ``array<string>``. A field added in a later record version must
    be optional, so old readers and tables keep working.
    """

    name: str
    kind: str
    required: bool = False


def _f(name: str, kind: str = "string", required: bool = False) -> Field:
    return Field(name, kind, required)


_FEATURES = [
    _f(n, "double") for n in ("danceability", "energy", "loudness", "speechiness", "acousticness",
                               "instrumentalness", "liveness", "valence", "tempo")
] + [_f("key", "int"), _f("mode", "int"), _f("time_signature", "int"), _f("duration_ms", "int")]


@dataclass(frozen=True)
class RecordType:
    name: str
    table: str  # lake / Glue table name
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # natural key fields (in id order); the id appends the record's dt where dated
    dated: bool = True  # whether the id includes the emission date (a snapshot per day)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


TYPES: dict[str, RecordType] = {
    t.name: t
    for t in (
        RecordType("artist", "artists", (
            _f("artist_id", required=True), _f("name", required=True), _f("genres", "array<string>"),
            _f("popularity", "int"), _f("followers", "int"), _f("image_url"), _f("url"),
        ), key=("artist_id",)),
        RecordType("top_track", "top_tracks", (
            _f("artist_id", required=True), _f("track_id", required=True), _f("name", required=True),
            _f("rank", "int", required=True), _f("album"), _f("album_image"), _f("url"),
            _f("popularity", "int"), _f("release_date"), _f("duration_ms", "int"), _f("artist_name"),
            _f("via"),  # which path produced it: "top-tracks" or "search" (development-mode fallback)
        ), key=("artist_id", "track_id")),
        RecordType("audio_features", "audio_features", (
            _f("track_id", required=True), *_FEATURES,
            _f("artist_id"), _f("via"),  # "spotify" or "reccobeats"
        ), key=("track_id",)),
        RecordType("chart_entry", "chart_entries", (
            _f("chart_id", required=True), _f("country", required=True), _f("week", "date", required=True),
            _f("rank", "int", required=True), _f("track_id", required=True), _f("track_name"),
            _f("artist_names", "array<string>"), _f("artist_ids", "array<string>"), _f("streams", "int"),
            _f("peak_rank", "int"), _f("previous_rank", "int"), _f("weeks_on_chart", "int"), _f("via"),
        ), key=("chart_id", "week", "rank"), dated=False),
        RecordType("collection_member", "collection_members", (
            _f("kind", required=True),  # playlist | chart | session
            _f("collection_id", required=True), _f("artist_id", required=True), _f("track_id"),
            _f("collection_name"), _f("artist_name"),
        ), key=("kind", "collection_id", "artist_id", "track_id")),
        RecordType("play", "plays", (
            _f("user_id", required=True), _f("played_at", "timestamp", required=True),
            _f("track_id", required=True), _f("track_name"), _f("artist_ids", "array<string>"),
            _f("artist_names", "array<string>"), _f("context_uri"), _f("duration_ms", "int"),
        ), key=("user_id", "played_at"), dated=False),
        RecordType("followed_artist", "followed_artists", (
            _f("user_id", required=True), _f("artist_id", required=True), _f("name"),
            _f("genres", "array<string>"),
        ), key=("user_id", "artist_id")),
    )
}

#: Columns every lake row carries besides its data fields (``dt`` is the partition, not a column).
ENVELOPE_COLUMNS: tuple[Field, ...] = (
    Field("record_id", "string", True), Field("v", "int", True), Field("emitted_at", "timestamp", True),
    Field("source", "string", True),
)

TABLES: dict[str, RecordType] = {t.table: t for t in TYPES.values()}

_GLUE_TYPES = {"string": "string", "int": "bigint", "double": "double", "bool": "boolean",
               "date": "string", "timestamp": "string", "array<string>": "array<string>"}


@dataclass(frozen=True)
class Record:
    """A validated record."""

    type: str
    v: int
    id: str
    emitted_at: str
    source: str
    data: Mapping[str, Any]

    @property
    def dt(self) -> str:
        """The lake partition: the UTC date the record was emitted."""
        return self.emitted_at[:10]

    @property
    def spec(self) -> RecordType:
        return TYPES[self.type]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "v": self.v, "id": self.id, "emitted_at": self.emitted_at,
                "source": self.source, "data": dict(self.data)}


def utc_now() -> str:
    """Now as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_id(type_: str, data: Mapping[str, Any], emitted_at: str) -> str:
    """Deterministic id from the natural key: a re-sent or re-run record gets the same id.

    >>> record_id("chart_entry", {"chart_id": "regional-kr-weekly", "week": "2026-11-19", "rank": 1}, "x")
    'chart_entry:regional-kr-weekly:2026-11-19:1'
    """
    spec = TYPES[type_]
    parts = [type_] + ["" if data.get(k) is None else str(data[k]) for k in spec.key]
    if spec.dated:
        parts.append(emitted_at[:10])
    return ":".join(parts)


def make_record(type_: str, data: Mapping[str, Any], *, source: str, emitted_at: str | None = None,
                v: int = CURRENT_VERSION) -> dict[str, Any]:
    """Build a record dict (validated) ready to be JSON-encoded and put on the stream."""
    emitted_at = emitted_at or utc_now()
    clean = {k: val for k, val in data.items() if val is not None}
    rec = {"type": type_, "v": v, "id": record_id(type_, clean, emitted_at), "emitted_at": emitted_at,
           "source": source, "data": clean}
    validate(rec)
    return rec


def partition_key(record: Mapping[str, Any]) -> str:
    """Kinesis partition key: the artist id (or chart id / user id) so one artist's records stay ordered."""
    data = record.get("data") or {}
    for k in ("artist_id", "chart_id", "user_id", "track_id", "collection_id"):
        if data.get(k):
            return str(data[k])
    return str(record.get("id") or "sori")


def encode(record: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON bytes of a record."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _check_kind(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "double":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "date":
        if not isinstance(value, str) or len(value) != 10:
            return False
        try:
            _dt.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if kind == "timestamp":
        if not isinstance(value, str):
            return False
        try:
            _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    if kind == "array<string>":
        return isinstance(value, list) and all(isinstance(x, str) for x in value)
    raise AssertionError(f"unknown kind {kind}")


def _check_data(type_: str, data: dict[str, Any]) -> None:
    """Raise :class:`RecordError` unless ``data`` holds every required field of ``type_`` with its kind."""
    for f in TYPES[type_].fields:
        val = data.get(f.name)
        if val is None:
            if f.required:
                raise RecordError(f"{type_}: required field {f.name!r} missing")
            continue
        if not _check_kind(val, f.kind):
            raise RecordError(f"{type_}: field {f.name!r} should be {f.kind}, got {type(val).__name__}")


def validate(obj: Any) -> Record:
    """Check a decoded record against the contract; return a :class:`Record` or raise :class:`RecordError`.

    Accepts a dict or raw bytes/str (JSON). Unknown fields inside ``data`` are tolerated (a newer
    producer may add optional fields); missing required fields or wrong types are violations.
    """
    if isinstance(obj, (bytes, bytearray, str)):
        try:
            obj = json.loads(obj)
        except (ValueError, UnicodeDecodeError) as e:
            raise RecordError(f"bad JSON: {e}") from None
    if not isinstance(obj, dict):
        raise RecordError(f"record is {type(obj).__name__}, not an object")
    type_ = obj.get("type")
    if type_ not in TYPES:
        raise RecordError(f"unknown type {type_!r}")
    v = obj.get("v")
    if not isinstance(v, int) or isinstance(v, bool) or v not in SUPPORTED_VERSIONS:
        raise RecordError(f"unsupported version {v!r} for type {type_} (supported: {sorted(SUPPORTED_VERSIONS)})")
    for k in ("id", "emitted_at", "source"):
        if not isinstance(obj.get(k), str) or not obj.get(k):
            raise RecordError(f"missing or non-string envelope field {k!r}")
    if not _check_kind(obj["emitted_at"], "timestamp"):
        raise RecordError(f"emitted_at is not an ISO-8601 timestamp: {obj['emitted_at']!r}")
    data = obj.get("data")
    if not isinstance(data, dict):
        raise RecordError("data is not an object")
    _check_data(type_, data)
    expected = record_id(type_, data, obj["emitted_at"])
    if obj["id"] != expected:
        raise RecordError(f"id {obj['id']!r} does not match its natural key {expected!r}")
    return Record(type_, v, obj["id"], obj["emitted_at"], obj["source"], data)


def glue_columns(table: str) -> list[dict[str, Any]]:
    """Glue ``StorageDescriptor.Columns`` for a lake table: envelope columns then data fields.

    >>> glue_columns("artists")[0]
    {'Name': 'record_id', 'Type': 'string'}
    """
    spec = TABLES[table]
    return [{"Name": f.name, "Type": _GLUE_TYPES[f.kind]} for f in (*ENVELOPE_COLUMNS, *spec.fields)]


def lake_row(rec: Record) -> dict[str, Any]:
    """Flatten a record into one lake row (envelope + declared data fields; undeclared ones dropped)."""
    row = {"record_id": rec.id, "v": rec.v, "emitted_at": rec.emitted_at, "source": rec.source}
    for f in rec.spec.fields:
        row[f.name] = rec.data.get(f.name)
    return row

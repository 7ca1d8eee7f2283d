"""Producer logic over fake sources: deterministic ids, quota stop + resume, emit-before-done, listening sessions."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from producers.logic.catalog import refresh_catalog
from producers.logic.charts import entries_from_csv
from producers.logic.listening import fetch_recently_played, play_records, played_ms
from sori.charts import ChartRow
from sori.records import validate
from sori.spotify.client import QuotaExceeded
from sori.spotify.sources import Features, TopTracks

AT = "2026-11-22T18:00:00Z"


class FakeSources:
    def __init__(self, quota_after: int | None = None):
        self.quota_after = quota_after
        self.top_calls = 0

    def artists(self, ids):
        return {i: {"id": i, "name": f"Artist {i}", "genres": ["k-pop"], "popularity": 50,
                    "followers": {"total": 10}, "images": [{"url": f"http://img/{i}"}]} for i in ids}

    def top_tracks_many(self, pairs):
        out = []
        for aid, _ in pairs:
            self.top_calls += 1
            if self.quota_after is not None and self.top_calls > self.quota_after:
                raise QuotaExceeded("top-tracks", 429, "Too many requests", "QUOTA_EXCEEDED")
            out.append(TopTracks(aid, [{"id": f"{aid}-t{k}", "name": f"Song {k}", "album": {"name": "A"}}
                                       for k in range(3)], "top-tracks"))
        return out

    def audio_features(self, ids):
        return {t: Features(t, {"danceability": 0.5, "tempo": 120.0}, "spotify") for t in ids}

    def user_playlists(self, user, user_id):
        return []


ARTISTS = [{"id": f"a{i:03d}", "name": f"Artist {i}"} for i in range(120)]


def run(sources, artists=ARTISTS, **kw):
    sent: list[Any] = []
    done: list[Any] = []
    order = []

    def emit(recs):
        sent.extend(recs)
        order.append(("emit", len(sent)))

    def on_chunk(recs):
        done.extend(r["data"]["artist_id"] for r in recs)
        order.append(("done", len(sent)))
    res = refresh_catalog(artists, sources, emit, emitted_at=AT, on_chunk=on_chunk, **kw)
    return res, sent, done, order


def test_every_record_is_valid_and_ids_are_deterministic():
    res1, sent1, _, _ = run(FakeSources())
    _res2, sent2, _, _ = run(FakeSources())
    for r in sent1:
        validate(r)
    assert [r["id"] for r in sent1] == [r["id"] for r in sent2]
    assert res1.records == {"artist": 120, "top_track": 360, "audio_features": 360}
    assert res1.stopped is None and res1.artists_done == 120


def test_artists_are_reported_done_only_after_their_records_were_emitted():
    _, sent, done, order = run(FakeSources(), flush_records=100)
    ids_sent = {r["data"]["artist_id"] for r in sent if r["type"] == "artist"}
    assert set(done) == ids_sent
    emitted = 0
    for kind, n in order:
        if kind == "emit":
            emitted = n
        else:
            assert n == emitted  # "done" always follows the emit that carried the chunk


def test_quota_stops_cleanly_and_the_next_run_resumes():
    res, sent, done, _ = run(FakeSources(quota_after=70))
    assert res.stopped == "QUOTA_EXCEEDED"
    assert res.artists_done == 50 and len(done) == 50
    assert [a["id"] for a in res.pending_artists] == [a["id"] for a in ARTISTS[50:]]
    assert len(res.pending_features) == 150 - 100  # the first chunk's tracks beyond a full batch of 100
    res2, sent2, _, _ = run(FakeSources(), artists=res.pending_artists, pending_features=res.pending_features)
    assert res2.stopped is None
    full = {r["id"] for r in run(FakeSources())[1]}
    assert {r["id"] for r in sent} | {r["id"] for r in sent2} == full
    assert not {r["id"] for r in sent} & {r["id"] for r in sent2}


def test_csv_entries_keep_featured_artists_named_only_in_the_csv():
    row = ChartRow(1, "t" * 22, ("Main", "Guest"), "Song", "L", 1, None, 1, 100)
    (e,) = entries_from_csv([row], {"t" * 22: [{"id": "m" * 22, "name": "Main"}]})
    assert e.artists == [{"id": "m" * 22, "name": "Main"}, {"id": None, "name": "Guest"}]
    assert e.artist_names == ["Main", "Guest"]


def play(ms: int, tid: str) -> dict:
    import datetime as dt

    ts = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return {"played_at": ts, "track": {"id": tid, "name": tid, "artists": [{"id": "a" + tid, "name": "A"}],
                                       "duration_ms": 1000}, "context": None}


def test_play_ids_come_from_user_and_played_at_and_sessions_span_runs():
    base = 1_795_000_000_000
    first = [play(base, "x"), play(base + 60_000, "y")]
    recs, session = play_records(first, "u", emitted_at=AT)
    plays = [r for r in recs if r["type"] == "play"]
    assert plays[0]["id"] == f"play:u:{first[0]['played_at']}"
    assert played_ms(first[1]["played_at"]) == base + 60_000
    # next run, 10 min later: same session; 2 h later: a new one
    recs2, s2 = play_records([play(base + 600_000, "z")], "u", emitted_at=AT, session=session)
    assert s2.id == session.id == f"u:{base}"
    _, s3 = play_records([play(base + 3 * 3600_000, "w")], "u", emitted_at=AT, session=s2)
    assert s3.id != s2.id
    members = [r for r in recs2 if r["type"] == "collection_member"]
    assert members[0]["data"]["kind"] == "session" and members[0]["data"]["collection_id"] == session.id


class FakeUser:
    """recently-played pages as Spotify gives them for ``after``: the ``limit`` plays closest to the cursor."""

    def __init__(self, history_ms):
        self.history = sorted(history_ms, reverse=True)
        self.sp = SimpleNamespace(current_user_recently_played=self._rp)
        self.calls = 0

    def call(self, endpoint, fn, *a, **kw):
        self.calls += 1
        return fn(*a, **kw)

    def _rp(self, limit=50, after=None):
        newer = [m for m in self.history if m > (after or 0)]
        page = newer[-limit:]
        return {"items": [play(m, str(m)) for m in page], "next": "more" if len(newer) > len(page) else None,
                "cursors": {"after": str(page[0])} if page else None}


def test_recently_played_reads_forward_from_the_cursor_without_gaps_or_doubles():
    base = 1_795_000_000_000
    hist = [base + k * 1000 for k in range(120)]
    api = FakeUser(hist)
    got = fetch_recently_played(api, after=base + 9_000, max_pages=10)
    assert [played_ms(i["played_at"]) for i in got.items] == hist[10:]
    assert got.after == hist[-1] and api.calls == 3
    again = fetch_recently_played(api, after=got.after)
    assert again.items == [] and again.after == got.after

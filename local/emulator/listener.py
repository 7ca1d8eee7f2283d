"""The listening user (synthetic, deterministic): recently played, followed artists, own playlists."""

from __future__ import annotations

from collections import Counter

from local.emulator.catalog import Catalog, _h, _u

# ----------------------------------------------------------------------------------------------------------------
# the listening user (synthetic, deterministic)
# ----------------------------------------------------------------------------------------------------------------

USER_ID = "sori-listener"
SLOT_MS = 2 * 3600 * 1000
HISTORY = 50              # Spotify keeps only the 50 most recent plays


class Listener:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        cat = catalog
        own = []
        pool = sorted((p for p in cat.playlists.values() if not p.editorial), key=lambda p: _h("own", p.id))
        for genre in ("pop", "rap", "r&b", "latin", "edm"):
            own.append(next(p.id for p in pool if p.genre == genre))
        kpop_pl = [p.id for p in pool if any(cat.is_korean(cat.tracks[t].artist_id) for t in p.track_ids)]
        if kpop_pl and kpop_pl[0] not in own:
            own.append(kpop_pl[0])
        self.playlist_ids: tuple[str, ...] = tuple(own)
        korean = sorted(cat.korean_names, key=lambda a: (-cat.artists[a].popularity, a))[:12]
        counts: Counter = Counter()
        for pid in own:
            for t in cat.playlists[pid].track_ids:
                counts[cat.tracks[t].artist_id] += 1
        others = [a for a, _ in sorted(counts.items(), key=lambda kv: (-kv[1], -cat.artists[kv[0]].popularity,
                                                                       kv[0])) if a not in korean]
        self.followed: tuple[str, ...] = tuple(sorted(korean + others[: 40 - len(korean)]))

    def session(self, k: int) -> list[tuple[int, str, tuple[str, str] | None]]:
        """Plays of session slot ``k`` as (played_at_ms, track_id, (context_type, context_id) | None)."""
        start = k * SLOT_MS + int(_u("jitter", k) * 3600 * 1000)
        kst_hour = ((start // 3_600_000) + 9) % 24
        if 2 <= kst_hour < 8 or _h("skip", k) % 7 == 0:
            return []
        cat = self.catalog
        n = 3 + _h("n", k) % 6
        r = _u("src", k)
        if r < 0.5:
            pid = self.playlist_ids[_h("pl", k) % len(self.playlist_ids)]
            src, ctx = cat.playlists[pid].track_ids, ("playlist", pid)
        elif r < 0.85:
            aid = self.followed[_h("ar", k) % len(self.followed)]
            src, ctx = cat.tracks_by_artist[aid][:10], ("artist", aid)
        else:
            aid = self.followed[_h("al", k) % len(self.followed)]
            alb = cat.tracks[cat.tracks_by_artist[aid][0]].album.id
            src, ctx = cat.tracks_by_album[alb], ("album", alb)
        off = _h("off", k) % len(src)
        plays: list[tuple[int, str, tuple[str, str] | None]] = []
        t = start
        for i in range(n):
            tid = src[(off + i) % len(src)]
            t += cat.tracks[tid].duration_ms + int(_u("gap", k, i) * 20_000)
            plays.append((t, tid, ctx))
        return plays

    def history(self, now_ms: int) -> list[tuple[int, str, tuple[str, str] | None]]:
        """The ``HISTORY`` most recent plays at ``now_ms``, newest first."""
        out: list[tuple[int, str, tuple[str, str] | None]] = []
        k = now_ms // SLOT_MS
        while len(out) < HISTORY and k > now_ms // SLOT_MS - 400:
            for p in reversed(self.session(k)):
                if p[0] <= now_ms:
                    out.append(p)
            k -= 1
        return out[:HISTORY]



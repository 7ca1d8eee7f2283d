"""Related-artist quality on listener judgments (no stack needed): one JSON line, then figures by popularity.

    python bench/related_quality.py [--k 10] [--weeks 12] [--session-days 60]

Frames: everything the emulator serves in extended mode (``local.commands.related.catalog_sources``: the
catalog's 471 public playlists, "(feat. X)" collaborations, 61 countries' weekly Top 50, the listening user's
sessions). A quarter of the listener-made collections (playlists by id, sessions by id) is held out; the
signals and the blend's weights are built from the rest only (``sori.related.listeners``). The first line is
``{"random", "audio", "sources": {"playlist", "collab", "chart", "session"}, "blend", "ndcg_blend"}``; the
second the full report (blend without genres, artists with no collection, popularity deciles, the genre
agreement diagnostic, the fitted weights).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--session-days", type=int, default=60)
    ap.add_argument("--write-weights", action="store_true",
                    help="also fit the blend on every collection and write sori/data/related_weights.json "
                         "(what a build with too few listener collections of its own uses)")
    args = ap.parse_args(argv)
    from local.commands.related import catalog_sources
    from sori.related.listeners import evaluate_blend

    t0 = time.perf_counter()
    src = catalog_sources(weeks=args.weeks, session_days=args.session_days)
    t1 = time.perf_counter()
    r = evaluate_blend(src["tracks"], src["members"], src["genres"], k=args.k, popularity=src["popularity"],
                       labels=src["labels"])
    r["seconds"] = {"frames": round(t1 - t0, 1), "evaluate": round(time.perf_counter() - t1, 1)}
    print(json.dumps({key: r[key] for key in ("random", "audio", "sources", "blend", "ndcg_blend")}))
    print(json.dumps(r))
    if args.write_weights:
        write_weights(src)
    return r


def write_weights(src: dict) -> None:
    """Fit the served recipe's weights on the full catalog sources and ship them."""
    from sori.related.blend import FEATURES, WEIGHTS_PATH, build_audio, learn_weights
    from sori.related.listeners import universe_of

    audio = build_audio(src["tracks"])
    w = learn_weights(src["members"], audio, src["genres"], universe_of(src["tracks"], src["members"]))
    data = {"fitted_on": "emulator catalog: 471 public playlists, collabs, 61 countries x 12 weeks, sessions",
            "weights": {f: round(float(v), 4) for f, v in zip(FEATURES, w.w, strict=True)},
            "sound": ({f: round(float(v), 4) for f, v in zip(FEATURES, w.sound, strict=True)}
                      if w.sound is not None else None),
            "fit": w.info}
    WEIGHTS_PATH.write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps({"wrote": str(WEIGHTS_PATH), **data}))


if __name__ == "__main__":
    main()

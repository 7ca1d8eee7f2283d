"""Wiring shared by the producer handlers: settings → Spotify sources, Kinesis emitter, state, RDS, run summary.

Handlers stay short: they parse the event, call :func:`open_run`, hand the logic its sources and ``emit``,
and return :meth:`Run.summary`.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from producers.jobs.ports import ArtistCatalog, CursorStore
from sori.kinesis.producer import KinesisProducer
from sori.metrics import publish, run_figures
from sori.observability import function_logger
from sori.records import utc_now
from sori.settings import Settings, clear_secret_cache, get_settings, secret_value
from sori.spotify.capabilities import Capabilities
from sori.spotify.client import Retrier, app_client, reccobeats_client, shared_budget, user_client
from sori.spotify.sources import Sources
from sori.stores.state import StateStore

logger = function_logger("sori-producers")

MODES = ("extended", "development")


def charts_csv_url(settings: Settings) -> str | None:
    """Where weekly chart CSVs can be fetched (``SORI_CHARTS_CSV_URL``; locally the emulator's export route)."""
    return getattr(settings, "charts_csv_url", "") or settings.extra.get("SORI_CHARTS_CSV_URL") or None


@dataclass
class Run:
    """One producer run: its clients, its Kinesis producer and the counters that become the summary."""

    name: str
    settings: Settings
    sources: Sources
    producer: Any
    emitted_at: str
    state: CursorStore
    user: Any = None
    refresh_token: str | None = field(default=None, repr=False)
    records: Counter[Any] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def emit(self, records: list[dict[str, Any]]) -> None:
        """Put records on the stream (raises :class:`sori.kinesis.producer.UnsentRecordsError`; nothing dropped)."""
        if records:
            self.producer.put(records)
            self.records.update(r["type"] for r in records)

    def calls(self) -> dict[str, Any]:
        c = Counter(self.sources.api.calls)
        if self.user is not None and self.user.retrier is not self.sources.api.retrier:
            c.update(self.user.calls)
        out = {"spotify": sum(c.values()), "by_endpoint": dict(sorted(c.items()))}
        if self.sources.reccobeats is not None:
            out["reccobeats"] = sum(self.sources.reccobeats.calls.values())
        return out

    def mode(self) -> str:
        caps = self.sources.caps.as_dict()
        if any(v is False for v in caps.values()):
            return "development"
        return "extended" if any(v for v in caps.values()) else "unknown"

    def summary(self, *, artists: int = 0, resumed_from: Any = None, stopped: str | None = None,
                **extra: Any) -> dict[str, Any]:
        calls = self.calls()
        total = self.producer.total
        out = {
            "producer": self.name, "mode": self.mode(), "capabilities": self.sources.caps.as_dict(),
            "fallbacks_used": list(self.sources.fallbacks.used), "artists": artists,
            "records": dict(sorted(self.records.items())),
            "kinesis": {"user_records": total.user_records, "kinesis_records": total.kinesis_records,
                        "put_units": total.put_units},
            "calls": calls["spotify"], "calls_by_endpoint": calls["by_endpoint"],
            "reccobeats_calls": calls.get("reccobeats", 0),
            "budget_waited_s": round(shared_budget("spotify", self.settings.spotify_budget_per_30s).waited, 3),
            "resumed_from": resumed_from, "stopped": stopped, **self.extra, **extra,
        }
        logger.info("run summary", extra={"summary": out})
        publish(run_figures(out), service=self.name)  # CloudWatch metrics (EMF); none on the local stack
        return out


def open_run(name: str, settings: Settings | None = None, *, producer: Any = None, state: Any = None,
             workers: int = 4) -> Run:
    """Build one run's adapters from settings (one Spotify client per run, tokens cached for it)."""
    settings = settings or get_settings()
    api = app_client(settings)
    charts_url = charts_csv_url(settings)
    sources = Sources(api, Capabilities(logger=logger), reccobeats_client(settings), charts_csv_url=charts_url,
                      charts_retrier=Retrier(shared_budget("charts", settings.spotify_budget_per_30s)),
                      workers=workers)
    producer = producer or KinesisProducer(settings.stream_name)
    state = state if state is not None else StateStore(settings.state_table)
    return Run(name, settings, sources, producer, utc_now(), state)


# -- the listening user ----------------------------------------------------------------------------------------

def listening_refresh_token(settings: Settings) -> str | None:
    try:
        return secret_value(settings.listening_secret_arn, "refresh_token", env_fallback="SORI_SPOTIFY_REFRESH_TOKEN",
                            settings=settings)
    except KeyError:
        return None


def open_user(run: Run) -> Any:
    """The listening user's client (None when no refresh token is configured); sets ``run.user``."""
    token = listening_refresh_token(run.settings)
    if not token:
        return None
    run.user = user_client(token, run.settings, retrier=run.sources.api.retrier)
    run.refresh_token = token
    return run.user


def save_rotated_token(run: Run) -> bool:
    """Write a rotated refresh token back (Secrets Manager, or the local env stand-in). True when it changed."""
    if run.user is None:
        return False
    new, old = run.user.refresh_token, run.refresh_token
    if not new or new == old:
        return False
    arn = run.settings.listening_secret_arn
    if arn:
        import boto3

        boto3.client("secretsmanager", region_name=run.settings.region).put_secret_value(
            SecretId=arn, SecretString=json.dumps({"refresh_token": new}))
        clear_secret_cache()
    else:
        os.environ["SORI_SPOTIFY_REFRESH_TOKEN"] = new
    run.refresh_token = new
    run.extra["token_rotated"] = True
    logger.info("listening refresh token rotated and saved")
    return True


def public(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without private bookkeeping keys."""
    return {k: v for k, v in summary.items() if not k.startswith("_")}


def name_resolver(store: ArtistCatalog | None) -> Callable[[str], str | None] | None:
    """``resolve(name) -> artist id | None`` over RDS: only an unambiguous normalised-name match counts."""
    if store is None:
        return None
    cache: dict[str, str | None] = {}

    def resolve(name: str) -> str | None:
        if name not in cache:
            hits = store.find_by_name_norm(name)
            cache[name] = hits[0]["id"] if len(hits) == 1 else None
        return cache[name]
    return resolve


# -- RDS -------------------------------------------------------------------------------------------------------

def artist_store(settings: Settings) -> ArtistCatalog | None:
    """``sori.stores.mysql.ArtistStore`` when MySQL is configured, else None (import is lazy: pymysql)."""
    if not (settings.mysql_url or settings.mysql_host):
        return None
    from sori.stores.mysql import ArtistStore, connect

    return ArtistStore(connect(settings))


def artist_rows(artist_records: list[dict[str, Any]], source: str, refreshed_at: Any = None) -> list[dict[str, Any]]:
    """RDS ``artists`` rows from ``artist`` records (what the chatbot looks up). Fields a record lacks stay None,
    so the store keeps what an earlier refresh learnt."""
    return [{"id": r["data"]["artist_id"], "name": r["data"]["name"], "image_url": r["data"].get("image_url"),
             "genres": r["data"].get("genres"), "popularity": r["data"].get("popularity"),
             "followers": r["data"].get("followers"), "source": source, "refreshed_at": refreshed_at}
            for r in artist_records]


def seed_new_artists(store: ArtistCatalog | None, seen: dict[str, str], source: str) -> int:
    """Insert artists we have not stored yet (never overwrites a richer existing row). Returns how many."""
    if store is None or not seen:
        return 0
    have = store.get_many(list(seen))
    new = [{"id": a, "name": n, "genres": [], "source": source} for a, n in seen.items() if a not in have]
    if new:
        store.upsert_artists(new, source=source)
    return len(new)

"""Typed settings, read once per process from the environment (the template sets these on every function).

Local and cloud differ only in these values: the local stack points ``AWS_ENDPOINT_URL`` at moto, the Spotify
URLs at the emulator and the query engine at DuckDB; the code paths are the same.

Secrets (Spotify credentials, the listening user's refresh token, the MySQL password, the skill secret) come from
Secrets Manager when their ``*_SECRET_ARN`` is set — always so in the cloud. For local use, plain env names
(``SORI_SPOTIFY_CLIENT_ID`` …) may stand in; see :func:`secret_value`.

>>> s = Settings.from_env({"SORI_STREAM_NAME": "sori-records"})
>>> s.stream_name
'sori-records'

Stdlib only (the chatbot imports it).
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

ENV_PREFIX = "SORI_"


def _float(v: str | None, default: float) -> float:
    return float(v) if v not in (None, "") else default


def _int(v: str | None, default: int) -> int:
    return int(v) if v not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    # --- AWS resources (physical names come from the template) ---
    region: str = "ap-northeast-2"
    stream_name: str = "sori-records"
    top_tracks_table: str = "sori-top-tracks"
    state_table: str = "sori-state"  # producer cursors and checkpoints
    bucket: str = "sori-lake"
    lake_prefix: str = "lake"
    glue_database: str = "sori"
    athena_workgroup: str = "sori"
    dlq_url: str = ""  # where this consumer dead-letters poison records
    dlq_bucket: str = ""  # where a poison payload too big for SQS (256 KiB) is parked, under dlq/ (claim check)
    refresh_queue_url: str = ""  # chatbot -> catalog producer: refresh one artist now
    query_engine: str = "athena"  # athena | duckdb

    # --- MySQL (RDS) ---
    mysql_url: str = ""  # local: mysql://user:pass@host:port/db
    mysql_host: str = ""
    mysql_port: int = 3306
    mysql_database: str = "sori"
    mysql_secret_arn: str = ""

    # --- Spotify ---
    spotify_api_url: str = "https://api.spotify.com/v1/"
    spotify_token_url: str = "https://accounts.spotify.com/api/token"
    reccobeats_url: str = "https://api.reccobeats.com/v1/"
    spotify_secret_arn: str = ""
    listening_secret_arn: str = ""
    charts_csv_url: str = ""  # where weekly chart CSVs can be fetched (local: the emulator's export); else drops only
    spotify_market: str = "KR"
    spotify_budget_per_30s: int = 150  # our own request budget, below Spotify's rolling-window limit

    # --- chatbot ---
    skill_secret_arn: str = ""
    chatbot_deadline_ms: int = 3000  # internal deadline, well under Kakao's 5 s

    # --- related_builder ---
    related_k: int = 10
    related_weight_cooc: float = 0.7  # hybrid = w * co-occurrence + (1 - w) * audio
    related_window_days: int = 90

    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None and f.name == "region":
                raw = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
            if raw is None:
                continue
            if f.type in ("int", int):
                kwargs[f.name] = _int(raw, f.default)  # type: ignore[arg-type]
            elif f.type in ("float", float):
                kwargs[f.name] = _float(raw, f.default)  # type: ignore[arg-type]
            else:
                kwargs[f.name] = raw
        kwargs["extra"] = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
        return cls(**kwargs)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` after changing the env in tests)."""
    return Settings.from_env()


@functools.lru_cache(maxsize=32)
def _secret_json(arn: str, region: str) -> dict:
    import boto3  # lazy: keeps importers that never need a secret light

    raw = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=arn)["SecretString"]
    try:
        val = json.loads(raw)
    except ValueError:
        return {"value": raw}
    return val if isinstance(val, dict) else {"value": raw}


#: The value the template gives a secret the operator must set (``client_id``, ``refresh_token`` …).
PLACEHOLDER = "set-me"

#: Which ``sori cloud`` command sets a placeholder key.
_SETTER = {"refresh_token": "login"}


class PlaceholderSecret(RuntimeError):
    """A secret still holds the template's placeholder: the message names the secret and the command that sets it.

    Not a ``KeyError``: callers that treat a missing secret as optional must still stop on this one.
    """

    def __init__(self, arn: str, key: str):
        self.secret_name = secret_name(arn)
        self.key = key
        self.stack = self.secret_name.split("/", 1)[0] if "/" in self.secret_name else "<stack>"
        self.command = f"sori cloud {_SETTER.get(key, 'credentials')} --stack {self.stack}"
        super().__init__(f"secret {self.secret_name} still holds the placeholder {PLACEHOLDER!r} for {key!r}: "
                         f"set it with `{self.command}`")


def secret_name(arn: str) -> str:
    """A secret's name from its ARN (``arn:…:secret:<name>-AbCdEf`` → ``<name>``); a name is returned as is.

    >>> secret_name("arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:sori/spotify-AbCdEf")
    'sori/spotify'
    """
    if ":secret:" not in arn:
        return arn
    name = arn.split(":secret:", 1)[1]
    head, _, suffix = name.rpartition("-")
    return head if head and len(suffix) == 6 else name


def secret_value(arn: str, key: str, *, env_fallback: str | None = None, settings: Settings | None = None) -> str:
    """One key of a JSON secret in Secrets Manager; for local use, ``env_fallback`` names an env var instead.

    Raises ``KeyError`` when neither is configured, so a missing credential fails loudly and early, and
    :class:`PlaceholderSecret` when the secret still holds the template's placeholder.
    """
    settings = settings or get_settings()
    if arn:
        data = _secret_json(arn, settings.region)
        if key in data:
            if data[key] == PLACEHOLDER:
                raise PlaceholderSecret(arn, key)
            return str(data[key])
        raise KeyError(f"secret {arn} has no key {key!r}")
    if env_fallback and os.environ.get(env_fallback):
        return os.environ[env_fallback]
    raise KeyError(f"no secret configured for {key!r} (set its *_SECRET_ARN" +
                   (f" or {env_fallback}" if env_fallback else "") + ")")


def clear_secret_cache() -> None:
    _secret_json.cache_clear()

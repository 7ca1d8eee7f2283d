"""Typed settings, read once per process from the environment (the template sets these on every function).

Local and cloud differ only in these values: the local stack points ``AWS_ENDPOINT_URL`` at moto, the Spotify
URLs at the emulator and the query engine at DuckDB; the code paths are the same.

Secrets (Spotify credentials, the listening user's refresh token, the MySQL password, the skill secret) come from
Secrets Manager when their ``*_SECRET_ARN`` is set — always so in the cloud. For local use, plain env names
(``SORI_SPOTIFY_CLIENT_ID`` …) may stand in; see :func:`secret_value`.

>>> s = Settings.from_env({"SORI_STREAM_NAME": "sori-records"})
>>> s.stream_name
'sori-records'

Each function also has a typed view of what *it* needs (:class:`DynamoSinkSettings`, :class:`ChatbotSettings` …,
one per function in ``template.yaml``), checked on its cold start: a required value that is missing, a number
that is not one, an enum value outside its choices or an inconsistent pair raise one :class:`SettingsError`
that lists every problem, before any record or request is touched.

>>> try:
...     DynamoSinkSettings.from_env({"SORI_DYNAMO_WRITE_MODE": "fast"})
... except SettingsError as e:
...     for line in (e.scope, *e.problems):
...         print(line)
DynamoSinkFunction
SORI_DYNAMO_WRITE_MODE='fast' is not one of transact, batch
SORI_DLQ_URL is required

Stdlib only (the chatbot imports it).
"""
from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, TypeVar, get_args

ENV_PREFIX = "SORI_"

#: How the DynamoDB sink writes (``sori.stores.dynamo``): conditional transactions, or check-then-batch.
WriteMode = Literal["transact", "batch"]
#: Which engine runs the lake SQL (``sori.query``).
QueryEngine = Literal["athena", "duckdb"]
#: Settings whose value must be one of a fixed set, checked by :meth:`Settings.from_env`.
CHOICES: dict[str, tuple[str, ...]] = {"dynamo_write_mode": get_args(WriteMode), "query_engine": get_args(QueryEngine)}


class SettingsError(ValueError):
    """A function's configuration is missing or invalid; ``problems`` lists every one found."""

    def __init__(self, scope: str, problems: Sequence[str]):
        self.scope, self.problems = scope, list(problems)
        super().__init__(f"{scope} settings: " + "; ".join(self.problems))


def env_name(setting: str) -> str:
    """The environment variable of a setting: ``dlq_url`` -> ``SORI_DLQ_URL``."""
    return ENV_PREFIX + setting.upper()


def _float(v: str | None, default: float) -> float:
    return float(v) if v not in (None, "") else default


def _int(v: str | None, default: int) -> int:
    return int(v) if v not in (None, "") else default


def _parse(name: str, type_: Any, raw: str, default: Any) -> Any:
    """One raw environment value as the setting's type; ``ValueError`` names the variable and the value."""
    try:
        if type_ in ("int", int):
            return _int(raw, default)
        if type_ in ("float", float):
            return _float(raw, default)
    except ValueError:
        raise ValueError(f"{env_name(name)}={raw!r} is not a {'whole ' if type_ in ('int', int) else ''}number") \
            from None
    choices = CHOICES.get(name)
    if choices is not None:
        if raw == "":
            return default
        if raw not in choices:
            raise ValueError(f"{env_name(name)}={raw!r} is not one of {', '.join(choices)}")
    return raw


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
    query_engine: QueryEngine = "athena"
    dynamo_write_mode: WriteMode = "transact"  # the dynamo_sink's writer (see sori.stores.dynamo)

    # --- MySQL (RDS) ---
    mysql_url: str = ""  # local: mysql://user:pass@host:port/db
    mysql_host: str = ""
    mysql_port: int = 3306
    mysql_database: str = "sori"
    mysql_secret_arn: str = ""
    #: CA bundle that verifies the RDS server certificate ("" = the bundled sori/certs/rds-global-bundle.pem)
    mysql_ssl_ca: str = ""

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
    related_score: bool = True  # the build also scores its recipe on held-out listener collections

    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (default ``os.environ``); unset ones keep their defaults.

        Raises :class:`SettingsError` listing every value that is not a number where one is expected or not one
        of its :data:`CHOICES`.
        """
        settings, problems = cls.read_env(env)
        if problems:
            raise SettingsError("process", problems)
        return settings

    @classmethod
    def read_env(cls, env: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
        """Like :meth:`from_env` but returns the problems instead of raising (bad values keep their defaults)."""
        env = os.environ if env is None else env
        kwargs: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(env_name(f.name))
            if raw is None and f.name == "region":
                raw = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
            if raw is None:
                continue
            try:
                kwargs[f.name] = _parse(f.name, f.type, raw, f.default)
            except ValueError as e:
                problems.append(str(e))
        kwargs["extra"] = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
        return cls(**kwargs), problems


# --- per-function settings ---------------------------------------------------------------------------------------

F = TypeVar("F", bound="FunctionSettings")


def _mysql_problems(cfg: Settings, *, required: bool) -> list[str]:
    """MySQL is ``SORI_MYSQL_URL`` (local) or ``SORI_MYSQL_HOST`` + ``SORI_MYSQL_SECRET_ARN`` (RDS)."""
    if cfg.mysql_url or (cfg.mysql_host and cfg.mysql_secret_arn):
        return []
    if cfg.mysql_host:
        return ["SORI_MYSQL_HOST is set but SORI_MYSQL_SECRET_ARN is not (the credentials come from the secret)"]
    if required:
        return ["MySQL is not configured: set SORI_MYSQL_URL, or SORI_MYSQL_HOST and SORI_MYSQL_SECRET_ARN"]
    return []


@dataclass(frozen=True, kw_only=True)
class FunctionSettings:
    """One function's typed view of the settings. Subclasses declare the fields they read (names of
    :class:`Settings` fields), which of them must be non-empty (``required``), and any further checks
    (:meth:`problems`; a half-configured MySQL is always one). ``base`` is the whole :class:`Settings` the
    adapters are built from."""

    function: ClassVar[str] = "function"
    required: ClassVar[tuple[str, ...]] = ()
    needs_mysql: ClassVar[bool] = False
    #: numeric settings -> (lowest, highest) allowed, either end open (None)
    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {}

    base: Settings = field(repr=False, compare=False)

    @classmethod
    def problems(cls, cfg: Settings) -> list[str]:
        """Checks beyond "required and well-typed": MySQL, :attr:`ranges`; override and extend for pairs."""
        out = _mysql_problems(cfg, required=cls.needs_mysql)
        for name, (lo, hi) in cls.ranges.items():
            value = getattr(cfg, name)
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                bounds = f"between {lo} and {hi}" if lo is not None and hi is not None else \
                    f"at least {lo}" if lo is not None else f"at most {hi}"
                out.append(f"{env_name(name)}={value} must be {bounds}")
        return out

    @classmethod
    def from_settings(cls: type[F], cfg: Settings, problems: Sequence[str] = ()) -> F:
        """Check ``cfg`` for this function; raise one :class:`SettingsError` listing every problem."""
        found = list(problems)
        found += [f"{env_name(n)} is required" for n in cls.required if not getattr(cfg, n)]
        found += cls.problems(cfg)
        if found:
            raise SettingsError(cls.function, found)
        return cls(base=cfg, **{f.name: getattr(cfg, f.name) for f in fields(cls) if f.name != "base"})

    @classmethod
    def from_env(cls: type[F], env: Mapping[str, str] | None = None) -> F:
        return cls.from_settings(*Settings.read_env(env))

    @classmethod
    def current(cls: type[F]) -> F:
        """This function's settings from the process environment (cheap: :func:`get_settings` is cached)."""
        try:
            settings = get_settings()
        except SettingsError:  # list the bad values together with everything else that is wrong
            return cls.from_settings(*Settings.read_env())
        return cls.from_settings(settings)


@dataclass(frozen=True, kw_only=True)
class DynamoSinkSettings(FunctionSettings):
    function: ClassVar[str] = "DynamoSinkFunction"
    required: ClassVar[tuple[str, ...]] = ("top_tracks_table", "dlq_url")
    top_tracks_table: str
    dlq_url: str
    dlq_bucket: str
    dynamo_write_mode: WriteMode


@dataclass(frozen=True, kw_only=True)
class S3SinkSettings(FunctionSettings):
    function: ClassVar[str] = "S3SinkFunction"
    required: ClassVar[tuple[str, ...]] = ("bucket", "lake_prefix", "glue_database", "dlq_url")
    bucket: str
    lake_prefix: str
    glue_database: str
    dlq_url: str
    dlq_bucket: str


@dataclass(frozen=True, kw_only=True)
class CompactSettings(FunctionSettings):
    function: ClassVar[str] = "CompactFunction"
    required: ClassVar[tuple[str, ...]] = ("bucket", "lake_prefix")
    bucket: str
    lake_prefix: str


@dataclass(frozen=True, kw_only=True)
class RelatedBuilderSettings(FunctionSettings):
    function: ClassVar[str] = "RelatedBuilderFunction"
    required: ClassVar[tuple[str, ...]] = ("bucket", "lake_prefix", "glue_database")
    needs_mysql: ClassVar[bool] = True
    query_engine: QueryEngine
    bucket: str
    lake_prefix: str
    glue_database: str
    athena_workgroup: str
    related_k: int
    related_weight_cooc: float
    related_window_days: int
    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "related_k": (1, None), "related_weight_cooc": (0, 1), "related_window_days": (1, None)}

    @classmethod
    def problems(cls, cfg: Settings) -> list[str]:
        out = super().problems(cfg)
        if cfg.query_engine == "athena" and not cfg.athena_workgroup:
            out.append("SORI_ATHENA_WORKGROUP is required with SORI_QUERY_ENGINE=athena")
        return out


@dataclass(frozen=True, kw_only=True)
class ChatbotSettings(FunctionSettings):
    function: ClassVar[str] = "ChatbotFunction"
    required: ClassVar[tuple[str, ...]] = ("top_tracks_table", "refresh_queue_url")
    needs_mysql: ClassVar[bool] = True
    top_tracks_table: str
    refresh_queue_url: str
    chatbot_deadline_ms: int
    spotify_budget_per_30s: int
    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "chatbot_deadline_ms": (1, 4999),  # below Kakao's 5 s skill limit
        "spotify_budget_per_30s": (1, None)}


@dataclass(frozen=True, kw_only=True)
class ProducerSettings(FunctionSettings):
    """What every producer reads: the stream, the Spotify budget (credentials are checked where they are read).
    MySQL is optional: without it a producer does not seed the artist catalog (``producers.runtime.artist_store``)."""

    required: ClassVar[tuple[str, ...]] = ("stream_name", "state_table")
    stream_name: str
    state_table: str
    spotify_budget_per_30s: int
    ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {"spotify_budget_per_30s": (1, None)}


@dataclass(frozen=True, kw_only=True)
class CatalogSettings(ProducerSettings):
    function: ClassVar[str] = "CatalogFunction"


@dataclass(frozen=True, kw_only=True)
class ChartsSettings(ProducerSettings):
    function: ClassVar[str] = "ChartsFunction"


@dataclass(frozen=True, kw_only=True)
class ChartsDropSettings(ProducerSettings):
    function: ClassVar[str] = "ChartsDropFunction"
    required: ClassVar[tuple[str, ...]] = ("stream_name",)  # a drop keeps no cursor


@dataclass(frozen=True, kw_only=True)
class ListeningSettings(ProducerSettings):
    function: ClassVar[str] = "ListeningFunction"


def check_on_cold_start(cls: type[FunctionSettings]) -> None:
    """Check ``cls``'s settings now when this is a Lambda runtime's init phase (``AWS_LAMBDA_INITIALIZATION_TYPE``
    is set), so a bad configuration fails the cold start itself. Elsewhere (tests, the local stack's in-process
    runners, whose environment is applied per invocation) the handler's first call checks them."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"):
        cls.current()


#: ``template.yaml`` logical id -> its settings model (``tests/unit/test_settings.py`` checks the template).
@dataclass(frozen=True, kw_only=True)
class SchemaMigrationSettings(FunctionSettings):
    """The deploy-time migration (``Custom::SchemaMigration``): MySQL and nothing else."""

    function: ClassVar[str] = "SchemaMigrationFunction"
    required: ClassVar[tuple[str, ...]] = ()
    needs_mysql: ClassVar[bool] = True


FUNCTION_SETTINGS: dict[str, type[FunctionSettings]] = {
    cls.function: cls for cls in (DynamoSinkSettings, S3SinkSettings, CompactSettings, RelatedBuilderSettings,
                                  ChatbotSettings, CatalogSettings, ChartsSettings, ChartsDropSettings,
                                  ListeningSettings, SchemaMigrationSettings)
}


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` after changing the env in tests)."""
    return Settings.from_env()


@functools.lru_cache(maxsize=32)
def _secret_json(arn: str, region: str) -> dict[str, Any]:
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
                # never cached: once `sori cloud credentials|login` sets it, a warm container reads it next run
                _secret_json.cache_clear()
                raise PlaceholderSecret(arn, key)
            return str(data[key])
        raise KeyError(f"secret {arn} has no key {key!r}")
    if env_fallback and os.environ.get(env_fallback):
        return os.environ[env_fallback]
    raise KeyError(f"no secret configured for {key!r} (set its *_SECRET_ARN" +
                   (f" or {env_fallback}" if env_fallback else "") + ")")


def clear_secret_cache() -> None:
    _secret_json.cache_clear()

"""Per-function settings: checked on the cold start, every problem listed at once, enums typed."""
from __future__ import annotations

import pytest

from local.provision import load_template
from sori.settings import (
    FUNCTION_SETTINGS,
    ChatbotSettings,
    DynamoSinkSettings,
    RelatedBuilderSettings,
    S3SinkSettings,
    Settings,
    SettingsError,
    check_on_cold_start,
    env_name,
    get_settings,
)

DYNAMO_OK = {"SORI_TOP_TRACKS_TABLE": "tt", "SORI_DLQ_URL": "https://sqs.example/dlq"}


@pytest.fixture()
def clean_env(monkeypatch):
    """No SORI_* value from the developer's shell leaks into these checks."""
    import os

    for k in [k for k in os.environ if k.startswith("SORI_")] + ["AWS_LAMBDA_INITIALIZATION_TYPE"]:
        monkeypatch.delenv(k, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_write_mode_is_a_typed_field_not_an_extra():
    s = DynamoSinkSettings.from_env({**DYNAMO_OK, "SORI_DYNAMO_WRITE_MODE": "batch"})
    assert s.dynamo_write_mode == "batch" and s.top_tracks_table == "tt"
    assert DynamoSinkSettings.from_env(DYNAMO_OK).dynamo_write_mode == "transact"
    assert Settings.from_env({"SORI_DYNAMO_WRITE_MODE": "batch"}).dynamo_write_mode == "batch"


def test_every_problem_is_listed_in_one_error():
    with pytest.raises(SettingsError) as ei:
        DynamoSinkSettings.from_env({"SORI_TOP_TRACKS_TABLE": "", "SORI_DYNAMO_WRITE_MODE": "fast"})
    problems = ei.value.problems
    assert ei.value.scope == "DynamoSinkFunction"
    assert any("SORI_DYNAMO_WRITE_MODE='fast'" in p and "transact, batch" in p for p in problems)
    assert "SORI_TOP_TRACKS_TABLE is required" in problems and "SORI_DLQ_URL is required" in problems
    assert len(problems) == 3


def test_numbers_ranges_and_pairs_are_checked():
    env = {"SORI_RELATED_K": "ten", "SORI_RELATED_WEIGHT_COOC": "1.5", "SORI_MYSQL_HOST": "db.example",
           "SORI_QUERY_ENGINE": "presto"}
    with pytest.raises(SettingsError) as ei:
        RelatedBuilderSettings.from_env(env)
    text = str(ei.value)
    for needle in ("SORI_RELATED_K='ten' is not a whole number", "SORI_RELATED_WEIGHT_COOC=1.5 must be between",
                   "SORI_QUERY_ENGINE='presto' is not one of athena, duckdb",
                   "SORI_MYSQL_HOST is set but SORI_MYSQL_SECRET_ARN is not"):
        assert needle in text, needle


def test_a_valid_environment_gives_the_typed_view_and_the_base():
    s = RelatedBuilderSettings.from_env({"SORI_MYSQL_URL": "mysql://root@127.0.0.1:3306/sori",
                                         "SORI_QUERY_ENGINE": "duckdb", "SORI_RELATED_K": "7"})
    assert (s.query_engine, s.related_k, s.base.mysql_url) == ("duckdb", 7, "mysql://root@127.0.0.1:3306/sori")


def test_the_chatbot_needs_its_queue_and_mysql():
    with pytest.raises(SettingsError) as ei:
        ChatbotSettings.from_env({"SORI_CHATBOT_DEADLINE_MS": "6000"})
    text = str(ei.value)
    assert "SORI_REFRESH_QUEUE_URL is required" in text and "MySQL is not configured" in text
    assert "SORI_CHATBOT_DEADLINE_MS=6000" in text


def test_live_backend_checks_settings_when_built(clean_env):
    from chatbot.deps import LiveBackend

    with pytest.raises(SettingsError, match="SORI_REFRESH_QUEUE_URL is required"):
        LiveBackend()
    clean_env.setenv("SORI_REFRESH_QUEUE_URL", "https://sqs.example/refresh")
    clean_env.setenv("SORI_MYSQL_URL", "mysql://root@127.0.0.1:3306/sori")
    get_settings.cache_clear()
    assert LiveBackend().settings.refresh_queue_url == "https://sqs.example/refresh"


def test_sink_without_dlq_fails_on_its_first_invocation_not_its_first_poison_record(clean_env):
    from consumers.dynamo_sink import handler as dynamo_handler
    from consumers.s3_sink import handler as s3_handler

    # an empty batch holds no poison: before, this returned {"batchItemFailures": []} with DeadLetterQueue("")
    for handler in (dynamo_handler, s3_handler):
        with pytest.raises(SettingsError, match="SORI_DLQ_URL is required"):
            handler.lambda_handler({"Records": []})


def test_bad_values_are_listed_with_the_missing_ones_from_the_process_env(clean_env):
    clean_env.setenv("SORI_DYNAMO_WRITE_MODE", "fast")
    with pytest.raises(SettingsError) as ei:
        DynamoSinkSettings.current()
    assert len(ei.value.problems) == 2  # the bad write mode and the missing DLQ, in one error


def test_check_on_cold_start_runs_in_the_lambda_init_phase_only(clean_env):
    check_on_cold_start(S3SinkSettings)  # not a Lambda init: the first invocation checks
    clean_env.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    with pytest.raises(SettingsError, match="S3SinkFunction"):
        check_on_cold_start(S3SinkSettings)


def test_every_function_has_a_model_and_the_template_sets_what_it_requires():
    fns = {lid: r for lid, r in load_template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(FUNCTION_SETTINGS) == set(fns)
    for lid, cls in FUNCTION_SETTINGS.items():
        env = fns[lid]["Properties"].get("Environment", {}).get("Variables", {})
        missing = [env_name(n) for n in cls.required if env_name(n) not in env]
        assert missing == [], (lid, missing)
        if cls.needs_mysql:
            assert {"SORI_MYSQL_HOST", "SORI_MYSQL_SECRET_ARN"} <= set(env), lid

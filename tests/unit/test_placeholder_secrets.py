"""Placeholder secrets: what the template ships for Spotify's secrets makes a producer stop at once, naming the
secret and the ``sori cloud`` command that sets it (instead of failing every scheduled run with a 400 from Spotify).
"""
from __future__ import annotations

import json

import boto3
import pytest
import yaml

from sori.settings import PLACEHOLDER, PlaceholderSecret, Settings, clear_secret_cache, secret_name, secret_value


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _template_secret(logical_id: str) -> dict:
    from local.provision.template import TEMPLATE_PATH

    with open(TEMPLATE_PATH) as f:
        doc = yaml.load(f, Loader=_Loader)
    return json.loads(doc["Resources"][logical_id]["Properties"]["SecretString"])


@pytest.fixture()
def secrets(aws):
    sm = boto3.client("secretsmanager", region_name="ap-northeast-2")
    arns = {name: sm.create_secret(Name=f"mystack/{name}", SecretString=json.dumps(_template_secret(lid)))["ARN"]
            for name, lid in (("spotify", "SpotifySecret"), ("listening-token", "ListeningTokenSecret"))}
    clear_secret_cache()
    yield Settings(spotify_secret_arn=arns["spotify"], listening_secret_arn=arns["listening-token"],
                   stream_name="s", state_table="t")
    clear_secret_cache()


def test_template_ships_recognisable_placeholders():
    assert _template_secret("SpotifySecret") == {"client_id": PLACEHOLDER, "client_secret": PLACEHOLDER}
    assert _template_secret("ListeningTokenSecret") == {"refresh_token": PLACEHOLDER}


def test_secret_name_from_arn():
    assert secret_name("arn:aws:secretsmanager:r:1:secret:prod/spotify-Ab12Cd") == "prod/spotify"
    assert secret_name("prod/spotify") == "prod/spotify"


def test_producer_run_fails_at_once_naming_secret_and_command(secrets):
    from producers.runtime import open_run

    with pytest.raises(PlaceholderSecret) as e:
        open_run("catalog", secrets, producer=object(), state=object())
    assert e.value.secret_name == "mystack/spotify"
    assert "mystack/spotify" in str(e.value) and "`sori cloud credentials --stack mystack`" in str(e.value)


def test_placeholder_refresh_token_is_not_treated_as_absent(secrets):
    """The listening producer treats a *missing* token as "no user"; a placeholder must stop it instead."""
    from producers.runtime import listening_refresh_token

    with pytest.raises(PlaceholderSecret, match="sori cloud login --stack mystack"):
        listening_refresh_token(secrets)


def test_a_real_value_passes(secrets):
    boto3.client("secretsmanager", region_name="ap-northeast-2").put_secret_value(
        SecretId=secrets.spotify_secret_arn, SecretString=json.dumps({"client_id": "cid", "client_secret": "shh"}))
    clear_secret_cache()
    assert secret_value(secrets.spotify_secret_arn, "client_id", settings=secrets) == "cid"


# --- every producer handler, as Lambda calls it ---------------------------------------------------------------

_DROP = {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"},
                                                      "object": {"key": "landing/charts/regional-kr-weekly-2026-11-19.csv"}}}]}
_QUEUED = {"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": '{"artist_ids": ["a1"]}'}]}


def _handler(name: str):
    from producers import catalog, charts, listening

    return {"charts": charts.lambda_handler, "charts-drop": charts.s3_handler, "catalog": catalog.lambda_handler,
            "listening": listening.lambda_handler}[name]


@pytest.fixture()
def producer_env(secrets, monkeypatch):
    """The environment the template gives the producers, with the template's placeholder secrets; no stream, so a
    producer that got as far as emitting would fail with another error."""
    from sori.settings import get_settings

    for k, v in {"SORI_STREAM_NAME": "no-such-stream", "SORI_STATE_TABLE": "no-such-table",
                 "SORI_SPOTIFY_SECRET_ARN": secrets.spotify_secret_arn,
                 "SORI_LISTENING_SECRET_ARN": secrets.listening_secret_arn}.items():
        monkeypatch.setenv(k, v)
    for k in ("SORI_MYSQL_URL", "SORI_MYSQL_HOST", "SORI_SPOTIFY_CLIENT_ID", "SORI_SPOTIFY_REFRESH_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    get_settings.cache_clear()
    yield secrets
    get_settings.cache_clear()


@pytest.mark.parametrize(("producer", "event"), [
    ("charts", {}), ("charts-drop", _DROP), ("catalog", {}), ("catalog", _QUEUED),
    ("listening", {"job": "recently_played"}), ("listening", {"job": "followed_artists"})],
    ids=["charts-weekly", "charts-drop", "catalog-nightly", "catalog-queued", "listening-recent", "listening-followed"])
def test_every_producer_stops_on_the_spotify_placeholder(producer_env, producer, event):
    from local.lambda_context import LocalLambdaContext

    with pytest.raises(PlaceholderSecret) as e:
        _handler(producer)(event, LocalLambdaContext(function_name=f"mystack-{producer}"))
    assert "mystack/spotify" in str(e.value) and "`sori cloud credentials --stack mystack`" in str(e.value)


@pytest.mark.parametrize(("producer", "event"), [("catalog", {}), ("listening", {"job": "recently_played"}),
                                                 ("listening", {"job": "followed_artists"})],
                         ids=["catalog-nightly", "listening-recent", "listening-followed"])
def test_producers_that_need_the_listening_user_stop_on_its_placeholder(producer_env, producer, event):
    from local.lambda_context import LocalLambdaContext

    boto3.client("secretsmanager", region_name="ap-northeast-2").put_secret_value(
        SecretId=producer_env.spotify_secret_arn, SecretString=json.dumps({"client_id": "c", "client_secret": "s"}))
    clear_secret_cache()
    with pytest.raises(PlaceholderSecret) as e:
        _handler(producer)(event, LocalLambdaContext(function_name=f"mystack-{producer}"))
    assert "mystack/listening-token" in str(e.value) and "`sori cloud login --stack mystack`" in str(e.value)


def test_a_placeholder_is_not_cached_so_a_warm_container_sees_the_fix(secrets):
    """A warm Lambda container keeps its secret cache between runs: after `sori cloud credentials` the next run
    must read the new value, not fail again on the cached placeholder."""
    with pytest.raises(PlaceholderSecret):
        secret_value(secrets.spotify_secret_arn, "client_id", settings=secrets)
    boto3.client("secretsmanager", region_name="ap-northeast-2").put_secret_value(
        SecretId=secrets.spotify_secret_arn, SecretString=json.dumps({"client_id": "cid", "client_secret": "shh"}))
    assert secret_value(secrets.spotify_secret_arn, "client_id", settings=secrets) == "cid"  # no cache_clear()

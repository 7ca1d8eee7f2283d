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

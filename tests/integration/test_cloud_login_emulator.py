"""``sori cloud login`` end to end: the CLI as a user runs it, the Spotify emulator's ``/authorize`` as the browser's
consent page, its token endpoint verifying PKCE, and the refresh token landing in the deployed stack's secret.

The test reads the URL the command prints (nothing patched in the CLI), opens it the way a browser does (following
the 302 to the loopback callback), and then uses the stored refresh token as the listening producer would.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests

from local.emulator import SpotifyEmulator
from local.provision import deploy

REGION = "ap-northeast-2"
STACK = "sori-login"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def world(moto_url):
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    outputs = deploy(moto_url, region=REGION, stack_name=STACK)["outputs"]
    with SpotifyEmulator(mode="development").start() as emu:
        env = {**os.environ, "AWS_ENDPOINT_URL": moto_url, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
               "SORI_SPOTIFY_ACCOUNTS_URL": emu.url, "PYTHONPATH": str(REPO)}
        env.pop("SORI_STACK", None)
        yield {"emu": emu, "env": env, "outputs": outputs,
               "sm": boto3.client("secretsmanager", endpoint_url=moto_url, region_name=REGION)}


def _sori(world, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "local.cli", "cloud", *args], env=world["env"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _login(world, browse) -> tuple[int, str, str]:
    """Run ``sori cloud login``; ``browse(url)`` plays the browser on the printed URL. Returns (rc, out, err)."""
    proc = _sori(world, "login", "--stack", STACK, "--port", "0", "--timeout", "60")
    assert proc.stdout is not None
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    url = lines[1].strip()
    assert url.startswith(f"{world['emu'].url}/authorize?"), lines
    browse(url)
    out, err = proc.communicate(timeout=90)
    return proc.returncode, "".join(lines) + out, err


def _secret(world, key: str) -> dict:
    return json.loads(world["sm"].get_secret_value(SecretId=world["outputs"][key])["SecretString"])


def test_login_through_the_emulators_consent_page_stores_a_working_refresh_token(world):
    creds = _sori(world, "credentials", "--stack", STACK, "--client-id", "cid-e2e", "--client-secret", "s3cret")
    assert creds.wait(timeout=120) == 0, creds.communicate()
    pages: list[requests.Response] = []
    rc, out, err = _login(world, lambda url: pages.append(requests.get(url, timeout=30)))
    assert rc == 0, (out, err)
    [page] = pages  # the browser followed the 302 to the loopback callback, which answered it
    assert page.history and page.history[0].status_code == 302 and page.url.startswith("http://127.0.0.1:")
    assert "login complete" in page.text
    token = _secret(world, "ListeningTokenSecretArn")["refresh_token"]
    assert token.startswith("EMUrt."), token  # issued by the emulator's code exchange
    # the stored token works as the listening producer uses it: refresh (client secret), then a user endpoint
    r = requests.post(world["emu"].token_url, data={"grant_type": "refresh_token", "refresh_token": token},
                      auth=("cid-e2e", "s3cret"), timeout=10)
    me = requests.get(world["emu"].api_prefix + "me", headers={"Authorization": f"Bearer {r.json()['access_token']}"},
                      timeout=10)
    assert me.status_code == 200 and me.json()["id"]


def test_login_when_the_user_declines_leaves_the_placeholder(world):
    creds = _sori(world, "credentials", "--stack", STACK, "--client-id", "cid-e2e", "--client-secret", "s3cret")
    assert creds.wait(timeout=120) == 0
    world["emu"].configure(authorize="deny")
    rc, out, err = _login(world, lambda url: requests.get(url, timeout=30))
    assert rc == 1 and "access_denied" in err, (out, err)
    assert _secret(world, "ListeningTokenSecretArn") == {"refresh_token": "set-me"}

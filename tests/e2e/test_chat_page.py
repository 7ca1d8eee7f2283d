"""The local chat page (local/static) in headless Chromium against the real webhook and stores: it renders the
chatbot's Kakao replies as bubbles, cards and quick replies, follows a quick reply, logs no script errors, and
leaves a screenshot in .sori/chat_page.png."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

from local.commands.chatbot import chatbot_world

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / ".sori" / "chat_page.png"
INSTALL = ["apt-get", "install", "-y", "-q", "chromium"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=480,1000",
         "--virtual-time-budget=10000", "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium; installed here only if absent (root with apt), else the test fails saying how."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, capture_output=True, timeout=600)
        subprocess.run(INSTALL, check=False, env=env, capture_output=True, timeout=900)
        exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("headless Chromium is needed: " + " ".join(INSTALL))
    return exe


@pytest.fixture(scope="module")
def world(moto_url, mysql_server_url, emulator_session):
    with chatbot_world(mysql_server=mysql_server_url, aws_endpoint=moto_url, emulator=emulator_session,
                       webhook=True, related_for=40) as w:
        yield w


def browse(chromium: str, url: str, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *extra, url], check=False, capture_output=True,
                              text=True, timeout=120)


def script_errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "CONSOLE" in ln and re.search(r"Uncaught|Error", ln)]


def test_chat_page_renders_replies_as_chat_bubbles(chromium, world):
    url = f"{world['page']}?q={quote('BLACKPINK 같은 가수 추천해줘')}#secret={world['secret']}"
    r = browse(chromium, url, "--dump-dom")
    dom = r.stdout
    assert r.returncode == 0, r.stderr[-2000:]
    assert script_errors(r.stderr) == []
    assert 'class="row me"' in dom and "BLACKPINK 같은 가수 추천해줘" in dom  # the user's bubble
    assert "좋아하시면 이 가수들도 들어보세요" in dom  # the bot's simpleText bubble
    headers = re.findall(r'<div class="header">([^<]*)</div>', dom)
    assert headers[0] == "BLACKPINK" and len(headers) == 5  # carousel: the artist + 4 related
    assert len(re.findall(r'<button class="qr"', dom)) >= 2  # quick replies
    assert 'data-replies="1"' in dom

    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    r = browse(chromium, url, f"--screenshot={SCREENSHOT}")
    assert r.returncode == 0 and SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT.stat().st_size > 20_000  # a rendered page, not a blank one


def test_tapping_a_quick_reply_asks_about_that_artist(chromium, world):
    url = f"{world['page']}?q={quote('BTS')}&tap=1#secret={world['secret']}"
    r = browse(chromium, url, "--dump-dom")
    dom = r.stdout
    assert script_errors(r.stderr) == []
    assert 'data-replies="2"' in dom
    me = re.findall(r'<div class="row me"><div class="bubble">([^<]*)</div>', dom)
    assert me[0] == "BTS" and me[1].endswith("같은 가수")  # the quick reply's messageText went out
    headers = re.findall(r'<div class="header">([^<]*)</div>', dom)
    tapped = me[1].removesuffix(" 같은 가수")
    assert headers[5].startswith(tapped)  # the second answer (carousel or top-tracks card) is about that artist


def test_chat_page_without_the_secret_says_so(chromium, world):
    r = browse(chromium, f"{world['page']}?q=BTS", "--dump-dom")
    assert "401" in r.stdout and 'id="secretbox"' in r.stdout and 'hidden=""' not in r.stdout.split('id="secretbox"')[1][:40]

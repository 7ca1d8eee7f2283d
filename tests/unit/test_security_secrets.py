"""No secret or credential in the repository: a scan of every tracked (and not-ignored untracked) file.

The scanner looks for what leaks in practice: cloud access keys, private keys, provider tokens, credentials
inside URLs, and long high-entropy values assigned to secret-sounding names. The self-tests plant each kind in
a throwaway git repository and show the scan fails on it; the planted values are assembled at run time, so this
file itself never contains one.
"""
from __future__ import annotations

import math
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_BYTES = 2_000_000
PLACEHOLDERS = re.compile(r"^(x+|\*+|\.+|<[^>]*>|\$\{[^}]*\}|\{[^}]*\}|changeme|example|dummy|fake|local|test(ing)?|"
                          r"pass(word)?|secret|user|token|none|null|redacted)$", re.I)

RULES: list[tuple[str, re.Pattern]] = [
    ("aws access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("aws secret access key", re.compile(
        r"(?i)aws_?secret_?access_?key['\"]?\s*[:=]\s*['\"]?(?P<v>[A-Za-z0-9/+=]{40})\b")),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY( BLOCK)?-----")),
    ("github token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("google api key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("credentials in url", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:(?P<v>[^\s/@'\"]{3,})@[^\s'\"]+")),
    ("secret assignment", re.compile(
        r"(?i)\b[\w-]*(?:secret|password|passwd|token|api_?key|client_?id|private_?key)[\w-]*['\"]?\s*[:=]\s*"
        r"['\"](?P<v>[^'\"\s]{16,})['\"]")),
]
SUSPICIOUS_NAMES = re.compile(r"(^|/)(\.env(\..+)?|id_rsa|id_ed25519|.*\.pem|.*\.p12|.*\.pfx|credentials)$")


def entropy(s: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values()) if n else 0.0


def looks_secret(value: str) -> bool:
    """A real credential is long, mixed and random-looking; identifiers, sentences and placeholders are not."""
    if PLACEHOLDERS.match(value) or value.startswith(("${", "{{", "%(", "$(")):
        return False
    if re.fullmatch(r"[a-z0-9]+(?:[-_.][a-z0-9]+)+", value):
        return False  # lower-case words joined by separators: a readable name or test value, not a key
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return entropy(value) >= 3.5 and classes >= 2 and not re.fullmatch(r"[a-z_.-]+", value)


def scan_text(text: str) -> list[tuple[int, str]]:
    """``(line number, rule)`` for every finding in one file's text."""
    found = []
    for no, line in enumerate(text.splitlines(), 1):
        if "pragma: allowlist secret" in line:
            continue
        for name, rx in RULES:
            for m in rx.finditer(line):
                value = m.groupdict().get("v")
                if value is None or looks_secret(value):
                    found.append((no, name))
    return found


def repo_files(root: Path) -> list[str]:
    """Tracked files plus untracked ones git does not ignore (a secret about to be committed counts)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                         check=True, capture_output=True).stdout
    return sorted({p for p in out.decode().split("\0") if p})


def _only_public_certificates(path: Path) -> bool:
    """A .pem that holds nothing but CERTIFICATE blocks (a CA bundle) is public, not a credential."""
    if path.suffix != ".pem" or not path.is_file():
        return False
    text = path.read_text(errors="replace")
    kinds = set(re.findall(r"-----BEGIN ([A-Z ]+)-----", text))
    return kinds == {"CERTIFICATE"}


def scan_repo(root: Path) -> list[str]:
    findings = []
    for rel in repo_files(root):
        path = root / rel
        if SUSPICIOUS_NAMES.search(rel) and not _only_public_certificates(path):
            findings.append(f"{rel}: a credentials file name")
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        raw = path.read_bytes()
        if b"\0" in raw[:8192]:
            continue  # binary (e.g. the gzipped catalog)
        findings.extend(f"{rel}:{no}: {rule}" for no, rule in scan_text(raw.decode("utf-8", "replace")))
    return findings


def test_no_secret_in_the_repository():
    files = repo_files(REPO)
    assert len(files) > 100  # the scan saw the real tree
    assert scan_repo(REPO) == []


# ------------------------------------------------------------------------------------------- planted secrets

def _planted() -> dict[str, str]:
    """One line per rule, each holding a fake but well-formed credential (assembled, never literal here)."""
    rnd = "Zq8rT2vLm9XwK4pB7nYc3HdF6gJs1AeU5oRiQtWx"
    return {
        "aws access key id": "key = '" + "AKIA" + "Q3EXAMPLE7TZ2KQX" + "'",
        "aws secret access key": "aws_secret_access_key = " + rnd,
        "private key": "-----BEGIN " + "RSA PRIVATE KEY-----",
        "github token": "token: gh" + "p_" + rnd[:36],
        "jwt": "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiJzb3JpIn0" + ".c2lnbmF0dXJlX2hlcmVfMTIz",
        "credentials in url": "SORI_MYSQL_URL=mysql://admin:" + rnd[:20] + "@db.internal:3306/sori",
        "secret assignment": 'SPOTIFY_CLIENT_SECRET = "' + "9f3a" + "c07b21e84d6d" + "Ab5e1f0c2d7a9b31" + '"',
    }


@pytest.mark.parametrize("rule", sorted(_planted()))
def test_a_planted_secret_is_found(rule):
    assert rule in {r for _, r in scan_text(_planted()[rule])}


def test_a_planted_secret_fails_the_repository_scan(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "clean.py").write_text('NAME = "sori"\nURL = "mysql://root@127.0.0.1:3306/sori"\n')
    assert scan_repo(tmp_path) == []
    (tmp_path / "config.py").write_text("\n".join(_planted().values()) + "\n")
    (tmp_path / ".env").write_text("X=1\n")
    findings = scan_repo(tmp_path)
    assert {f.split(": ", 1)[1] for f in findings} == set(_planted()) | {"a credentials file name"}


@pytest.mark.parametrize("line", [
    'SECRET = "s3cret-skill-value"',  # a readable test value
    'password = "${MYSQL_PASSWORD}"',
    "url = 'mysql://user:pass@host:port/db'",
    '"client_id": "sori-local-client"',
    'token_url = "https://accounts.spotify.com/api/token"',
    "SORI_SKILL_SECRET_ARN: !Ref SkillSecret",
])
def test_placeholders_and_names_are_not_secrets(line):
    assert scan_text(line) == []

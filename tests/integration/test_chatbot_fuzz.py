"""Property-based fuzz of the skill webhook (hypothesis): ≥ 2,000 payloads here, ≥ 10,000 in
``bench/chatbot_fuzz.py`` (same strategies). Every reply to a Kakao payload is 200 + valid Kakao JSON, a body that
is not a skill payload at all is 400 + valid Kakao JSON with ``data.error`` (issue 14 item 6: a Kakao payload with
an unreadable utterance or oddly shaped parts is 200 now, no longer 400), nothing is ever 5xx, and injection-shaped utterances leave every MySQL table
byte-for-byte unchanged. Runs against real stores (MariaDB, moto DynamoDB/SQS, Spotify emulator)."""
from __future__ import annotations

import hashlib
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.lambda_context import LocalLambdaContext
from local.webhook import http_api_event
from sori.kakao import validate_response
from sori.stores import mysql as m

SECRET = "fuzz-skill-secret"
FUZZ_EXAMPLES = int(os.environ.get("SORI_CHATBOT_FUZZ_EXAMPLES", "2000"))
TABLES = ("artists", "artist_aliases", "related_artists", "related_builds", "related_generation")
NAMES = ["BTS", "BLACKPINK", "SHINee", "TWICE", "Red Velvet", "샤이니", "방탄소년단", "블랙핑크", "(G)I-DLE",
         "Ed Sheeran", "Billie Eilish", "마마무", "ITZY"]

# --- strategies (shared with bench/chatbot_fuzz.py) --------------------------------------------------------------
_INJECTIONS = [
    "'; DROP TABLE artists; --", "' OR '1'='1", "\" OR 1=1 --", "1; DELETE FROM artist_aliases", "' UNION SELECT "
    "id, name FROM artists --", "Robert'); DROP TABLE related_artists;--", "%' AND SLEEP(5) AND '%'='", "\\'; "
    "TRUNCATE artists; --", "＇ OR ＇1＇=＇1", "'/**/OR/**/1=1#", "admin'--", "x' AND 1=(SELECT COUNT(*) FROM "
    "artists) --", "%%", "_%_", "\\", "\x00", "'; UPDATE artists SET name='pwned' WHERE '1'='1", "${jndi:ldap://x}",
    "{{7*7}}", "<script>alert(1)</script>", "../../etc/passwd", "' ; INSERT INTO artist_aliases VALUES ('x','y','z',"
    "NOW()) --", "\"; SHUTDOWN; --", "1' ORDER BY 1--+", "'||(SELECT version())||'",
]
_WORDS = ["같은", "가수", "추천해줘", "노래", "like", "songs", "랑", "비슷한", "artists", "who", "sounds"]

injection = st.builds(lambda pre, inj, post, sep: sep.join(x for x in (pre, inj, post) if x),
                      st.sampled_from(NAMES + _WORDS + [""]), st.sampled_from(_INJECTIONS),
                      st.sampled_from(_WORDS + _INJECTIONS + [""]), st.sampled_from([" ", "", "\n", "\t"]))
name_noise = st.builds(lambda n, w, case: f"{n.upper() if case else n} {w}", st.sampled_from(NAMES),
                       st.sampled_from(_WORDS), st.booleans())
utterance = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), max_size=12),  # Hangul
    st.text(alphabet=st.characters(min_codepoint=0x1100, max_codepoint=0x11FF), max_size=12),  # jamo
    st.text(alphabet=st.characters(categories=["So", "Sk", "Cs", "Co", "Cc", "Zs"]), max_size=20),  # symbols
    st.text(max_size=2000),
    name_noise, injection, st.sampled_from(NAMES),
)
lang = st.one_of(st.sampled_from(["ko", "en", "kr", "ja", "", "KO"]), st.none())
extra = st.one_of(st.none(), st.just({}), st.fixed_dictionaries({"artist_id": st.one_of(st.text(max_size=30),
                                                                                     st.sampled_from(_INJECTIONS))}),
                  st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers(), st.none()),
                                  max_size=3))


@st.composite
def kakao_payload(draw, utter=utterance):
    """A well-formed Open Builder payload (every optional part present or not)."""
    ur = {"utterance": draw(utter), "user": {"id": draw(st.text(max_size=70)), "type": "botUserKey",
                                             "properties": {}}}
    lg = draw(lang)
    if lg is not None:
        ur["lang"] = lg
    if draw(st.booleans()):
        ur.update(timezone="Asia/Seoul", params={"surface": "Kakaotalk.plusfriend"}, block={"id": "b", "name": "n"})
    p = {"userRequest": ur}
    if draw(st.booleans()):
        p.update(bot={"id": "bot", "name": "sori"}, intent={"id": "i", "name": "fallback", "extra": {}}, contexts=[])
    ex = draw(extra)
    action = {"id": "a", "name": "sori", "params": {}, "detailParams": {}}
    if ex is not None:
        action["clientExtra"] = ex
    if draw(st.booleans()):
        p["action"] = action
    return p


json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
broken_payload = st.one_of(
    st.recursive(json_scalar, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=10), c,
                                                                                            max_size=4)),
                 max_leaves=12),
    st.fixed_dictionaries({"userRequest": st.one_of(json_scalar, st.fixed_dictionaries(
        {"utterance": st.one_of(st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2))}))}),
)
raw_body = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")))
def _utf8_json(p: object) -> bytes:
    """Raw UTF-8 JSON; text with lone surrogates (not encodable as UTF-8) goes out \\u-escaped instead."""
    try:
        return json.dumps(p, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(p).encode()


request = st.one_of(
    kakao_payload().map(lambda p: ("kakao", _utf8_json(p))),
    kakao_payload().map(lambda p: ("kakao", json.dumps(p).encode())),  # \\u escapes, lone surrogates included
    broken_payload.map(lambda p: ("json", json.dumps(p).encode())),
    raw_body.map(lambda b: ("raw", b)),
)
injection_request = kakao_payload(injection).map(lambda p: ("kakao", json.dumps(p).encode()))


def invoke(body: bytes, secret: str = SECRET) -> tuple[int, object]:
    from chatbot.handler import lambda_handler

    ev = http_api_event("POST", "/skill", {"content-type": "application/json", "x-skill-secret": secret}, body,
                        "127.0.0.1", "POST /skill")
    res = lambda_handler(ev, LocalLambdaContext(function_name="ChatbotFunction", timeout_s=10))
    status = res["statusCode"]
    return status, json.loads(res["body"])


def check(kind: str, body: bytes) -> int:
    """The webhook's contract for one request; returns the status."""
    status, out = invoke(body)
    assert status < 500, (status, out)
    if kind == "kakao":
        assert status == 200, (body[:300], out)
    assert status in (200, 400), status
    assert validate_response(out) == [], (body[:300], out)  # the chatbot always answers valid Kakao JSON
    if status == 400:
        assert out["data"]["error"] == "bad_request" and out["data"]["reason"]
    return status


def table_digest(url: str) -> dict[str, str]:
    """SHA-256 of every row of every table, in primary-key order (byte-for-byte comparison)."""
    out = {}
    conn = m.open_connection(url)
    try:
        with conn.cursor() as cur:
            for t in TABLES:
                cur.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3")  # constant table names
                h = hashlib.sha256()
                for row in cur.fetchall():
                    h.update(repr(sorted(row.items())).encode("utf-8", "surrogatepass"))
                out[t] = h.hexdigest()
    finally:
        conn.close()
    return out


# --- tests -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(moto_url, mysql_server_url, emulator_session):
    import local.emulator
    from local.commands.chatbot import chatbot_world

    # The emulator's HTTP/1.1 server writes headers and body in two sends; with Nagle on, every keep-alive
    # response stalls ~40 ms on the client's delayed ACK. TCP_NODELAY for the duration of this module only.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(local.emulator._Handler, "disable_nagle_algorithm", True, raising=False)
        with chatbot_world(mysql_server=mysql_server_url, aws_endpoint=moto_url, emulator=emulator_session,
                           secret=SECRET, related_for=60) as w:
            yield w


_settings = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=False,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.function_scoped_fixture])


def test_every_payload_gets_a_valid_answer_and_never_a_5xx(world, emulator):
    seen = {200: 0, 400: 0}

    @_settings
    @given(request)
    def run(req):
        kind, body = req
        seen[check(kind, body)] += 1

    run()
    assert sum(seen.values()) >= FUZZ_EXAMPLES and seen[200] > FUZZ_EXAMPLES // 3 and seen[400] > 0


def test_injection_shaped_utterances_leave_mysql_unchanged(world, emulator):
    before = table_digest(world["mysql_url"])
    n = [0]

    @settings(_settings, max_examples=max(500, FUZZ_EXAMPLES // 4))
    @given(injection_request)
    def run(req):
        kind, body = req
        assert check(kind, body) == 200
        n[0] += 1

    run()
    assert n[0] >= 500
    assert table_digest(world["mysql_url"]) == before

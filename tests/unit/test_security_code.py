"""Security properties of the code, checked by reading it (AST) — each check shown failing on a planted example.

1. **Credentials only from Secrets Manager.** Spotify client id/secret, the listening refresh token, the skill
   secret and the MySQL password are read through :func:`sori.settings.secret_value`, which asks Secrets
   Manager whenever the ``*_SECRET_ARN`` is set; the plain env names exist only as its ``env_fallback`` (local
   stand-ins). No deployed code reads a credential env var directly, and the template never sets one.
2. **SQL only through parameters.** Every ``execute``/``executemany`` (and every helper that passes its SQL
   argument on to one) gets SQL text built from constants only: string literals, module constants, f-strings
   and ``+`` over those, and a few reviewed helpers that emit no data (``%s`` placeholder lists, ORDER BY
   clauses). Values travel as parameters; ``%``-formatting, ``.format()`` or any runtime value in the text fails.

Scope of (2): code that talks to MySQL or handles requests — ``sori/`` (except the DuckDB lake modules, which run
the repository's own view SQL and contract table names against local DuckDB), ``producers/``, ``consumers/``,
``chatbot/``.
"""
from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOYED = ("sori", "producers", "consumers", "chatbot")
CREDENTIAL_ENV = ("SORI_SPOTIFY_CLIENT_ID", "SORI_SPOTIFY_CLIENT_SECRET", "SORI_SPOTIFY_REFRESH_TOKEN",
                  "SORI_SKILL_SECRET", "SORI_MYSQL_PASSWORD", "SORI_MYSQL_USER", "SORI_MYSQL_USERNAME")
SQL_EXEMPT = {"sori/duck.py", "sori/query.py", "sori/views.py"}
SQL_SINKS = {"execute", "executemany"}
#: Reviewed (file, function) pairs that execute SQL text from the repository itself.
SQL_TRUSTED_TEXT = {("sori/stores/mysql/migrations.py", "migrate"): "DDL statements of the packaged sori/migrations/*.sql"}
#: Reviewed helpers whose output may be spliced into SQL text: they emit no data.
SAFE_HELPERS = {
    "_placeholders": "', '.join(['%s'] * n): parameter markers only",
    "_artist_order": "a constant ORDER BY clause with an optional constant table alias",
    "int": "a number", "len": "a number", "float": "a number",
}
SAFE_STR_METHODS = {"strip", "lstrip", "rstrip", "split", "upper", "lower", "join", "replace"}


def py_files(roots: Iterable[str] = DEPLOYED) -> list[Path]:
    return sorted(p for r in roots for p in (REPO / r).rglob("*.py") if "__pycache__" not in p.parts)


# ------------------------------------------------------------------------------------------- (1) credentials

def credential_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """Places that read a credential env var other than as ``secret_value(..., env_fallback=NAME)``."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "secret_value":
            allowed.update(id(k.value) for k in node.keywords if k.arg == "env_fallback")
    stores: set[int] = set()
    for node in ast.walk(tree):  # os.environ[NAME] = value: writing a rotated local stand-in back is fine
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Subscript):
                    stores.add(id(t.slice))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in CREDENTIAL_ENV and id(node) not in allowed | stores:
            out.append((node.lineno, node.value))
    return out


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                first.value = ast.Constant(value="")
    return tree


def _credential_findings(source: str) -> list[tuple[int, str]]:
    # docstrings may name the variables; messages that mention them are longer strings, not equal to the name
    return credential_reads(_strip_docstrings(ast.parse(source)))


def test_credentials_are_read_only_through_secret_value():
    offenders = []
    for path in py_files():
        for line, name in _credential_findings(path.read_text()):
            offenders.append(f"{path.relative_to(REPO)}:{line}: {name}")
    assert offenders == []


@pytest.mark.parametrize("planted", [
    'import os\nCLIENT_SECRET = os.environ["SORI_SPOTIFY_CLIENT_SECRET"]\n',
    'import os\ntoken = os.getenv("SORI_SPOTIFY_REFRESH_TOKEN")\n',
    'import os\npassword = os.environ.get("SORI_MYSQL_PASSWORD", "")\n',
])
def test_a_planted_direct_credential_read_is_caught(planted):
    assert _credential_findings(planted)


def test_the_local_stand_in_and_the_rotation_write_back_are_allowed():
    ok = ('from sori.settings import secret_value\nimport os\n'
          'x = secret_value(arn, "client_secret", env_fallback="SORI_SPOTIFY_CLIENT_SECRET")\n'
          'os.environ["SORI_SPOTIFY_REFRESH_TOKEN"] = new\n')
    assert _credential_findings(ok) == []


def test_secrets_manager_wins_over_the_env_stand_in(monkeypatch):
    """With an ARN configured, a stray env stand-in is never used (Secrets Manager is asked, and only it)."""
    import boto3
    from botocore.stub import Stubber

    from sori import settings as settings_mod

    sm = boto3.client("secretsmanager", region_name="ap-northeast-2", aws_access_key_id="x",
                      aws_secret_access_key="x", endpoint_url="http://127.0.0.1:9")
    stub = Stubber(sm)
    arn = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:sori-spotify"
    stub.add_response("get_secret_value", {"SecretString": json.dumps({"client_secret": "from-secrets-manager"})},
                      {"SecretId": arn})
    stub.activate()
    monkeypatch.setattr(boto3, "client", lambda *a, **k: sm)
    monkeypatch.setenv("SORI_SPOTIFY_CLIENT_SECRET", "from-env")
    settings_mod.clear_secret_cache()
    s = settings_mod.Settings.from_env({"SORI_SPOTIFY_SECRET_ARN": arn})
    try:
        assert settings_mod.secret_value(arn, "client_secret", env_fallback="SORI_SPOTIFY_CLIENT_SECRET",
                                         settings=s) == "from-secrets-manager"
        stub.assert_no_pending_responses()
    finally:
        settings_mod.clear_secret_cache()


def test_the_mysql_password_has_no_env_stand_in(monkeypatch):
    """On RDS (host set) the password comes from MysqlSecret only; without the ARN it fails loudly."""
    from sori.settings import Settings
    from sori.stores.mysql import connection_params

    monkeypatch.setenv("SORI_MYSQL_PASSWORD", "from-env")
    with pytest.raises(KeyError):
        connection_params(Settings.from_env({"SORI_MYSQL_HOST": "db.internal"}))


def test_the_template_passes_secret_arns_never_credentials():
    from local.provision import load_template, package, sam_transform

    cfn = sam_transform(package(load_template(), lambda data: "s3://artifacts/code.zip"))
    fns = {lid: r["Properties"]["Environment"]["Variables"] for lid, r in cfn["Resources"].items()
           if r["Type"] == "AWS::Lambda::Function"}
    for lid, env in fns.items():
        assert not set(env) & set(CREDENTIAL_ENV), lid
        assert not any("PASSWORD" in k or k.endswith(("_TOKEN", "_CLIENT_SECRET")) for k in env), lid
    needs = {"ChartsFunction": "SORI_SPOTIFY_SECRET_ARN", "CatalogFunction": "SORI_SPOTIFY_SECRET_ARN",
             "ListeningFunction": "SORI_LISTENING_SECRET_ARN", "ChatbotFunction": "SORI_SKILL_SECRET_ARN"}
    for lid, var in needs.items():
        assert var in fns[lid], (lid, var)
    for lid, env in fns.items():
        if "SORI_MYSQL_HOST" in env:
            assert "SORI_MYSQL_SECRET_ARN" in env and "SORI_MYSQL_URL" not in env, lid


# ------------------------------------------------------------------------------------------- (2) SQL

class SqlCheck:
    """Finds SQL sinks whose SQL argument is not built from constants (see module docstring)."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.module_consts = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign)
                              for t in n.targets if isinstance(t, ast.Name)}
        self.sinks = dict.fromkeys(SQL_SINKS, 0)  # name -> index of the SQL argument

    def _assignments(self, fn: ast.AST, name: str) -> list[ast.AST]:
        out = []
        for node in ast.walk(fn):
            if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)) or (isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name) or (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name \
                    and node.value is not None):
                out.append(node.value)
        return out

    # one branch per AST node kind the SQL-safety walker understands
    def safe(self, e: ast.AST, fn: ast.AST | None, bound: frozenset[str] = frozenset(),  # noqa: C901
             depth: int = 0) -> bool | str:
        """True (constant-built), False (value in SQL text) or ``"param:<name>"`` (the enclosing function's
        parameter: that function is itself a sink, checked at its call sites)."""
        if depth > 20:
            return False
        rec = lambda x: self.safe(x, fn, bound, depth + 1)  # noqa: E731
        if isinstance(e, ast.Constant):
            return isinstance(e.value, (str, int))
        if isinstance(e, ast.JoinedStr):
            return all(rec(v.value) is True if isinstance(v, ast.FormattedValue) else True for v in e.values)
        if isinstance(e, ast.BinOp):
            return isinstance(e.op, ast.Add) and rec(e.left) is True and rec(e.right) is True
        if isinstance(e, ast.IfExp):
            return rec(e.body) is True and rec(e.orelse) is True
        if isinstance(e, ast.Name):
            if e.id in bound:
                return True
            if fn is not None:
                args = fn.args  # type: ignore[attr-defined]
                params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
                assigned = self._assignments(fn, e.id)
                if e.id in params and not assigned:
                    return f"param:{e.id}"
                if assigned:
                    return all(rec(v) is True for v in assigned)
            if e.id in self.module_consts:
                return rec(self.module_consts[e.id])
            return False
        if isinstance(e, ast.Call):
            f = e.func
            if isinstance(f, ast.Name) and f.id in SAFE_HELPERS:
                return True
            if isinstance(f, ast.Attribute) and f.attr in SAFE_STR_METHODS and f.attr != "format":
                if rec(f.value) is not True:
                    return False
                return all(self._safe_arg(a, fn, bound, depth) for a in e.args)
            return False
        if isinstance(e, (ast.GeneratorExp, ast.ListComp)):
            names = set(bound)
            for g in e.generators:
                if rec(g.iter) is not True:
                    return False
                names |= {n.id for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            return self.safe(e.elt, fn, frozenset(names), depth + 1) is True
        if isinstance(e, (ast.List, ast.Tuple)):
            return all(rec(x) is True for x in e.elts)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult):
            return rec(e.left) is True
        return False

    def _safe_arg(self, a: ast.AST, fn, bound, depth) -> bool:
        if isinstance(a, ast.BinOp) and isinstance(a.op, ast.Mult):  # ["%s"] * n
            return self.safe(a.left, fn, bound, depth + 1) is True
        return self.safe(a, fn, bound, depth + 1) is True

    def _functions(self) -> Iterable[tuple[ast.AST | None, ast.Call]]:
        for fn in ast.walk(self.tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Call):
                        yield fn, node

    def problems(self) -> list[tuple[int, str, str]]:
        found: dict[tuple[int, str, str], None] = {}
        changed = True
        while changed:  # wrappers that pass their SQL parameter on become sinks too
            changed = False
            for fn, call in self._functions():
                name = getattr(call.func, "attr", getattr(call.func, "id", None))
                if name not in self.sinks or len(call.args) <= self.sinks[name]:
                    continue
                verdict = self.safe(call.args[self.sinks[name]], fn)
                if verdict is True:
                    continue
                if isinstance(verdict, str) and verdict.startswith("param:"):
                    pname = verdict.split(":", 1)[1]
                    params = [a.arg for a in fn.args.args]  # type: ignore[attr-defined]
                    idx = params.index(pname) - (1 if params and params[0] in ("self", "cls") else 0)
                    if fn.name not in self.sinks:  # type: ignore[attr-defined]
                        self.sinks[fn.name] = idx  # type: ignore[attr-defined]
                        changed = True
                    continue
                found[(call.lineno, f"{name}() gets SQL text built from a runtime value",
                       fn.name)] = None  # type: ignore[attr-defined]
        return sorted(found)


def sql_problems(source: str, rel: str = "") -> list[tuple[int, str]]:
    return [(line, msg) for line, msg, fn in SqlCheck(ast.parse(source)).problems()
            if (rel, fn) not in SQL_TRUSTED_TEXT]


def test_sql_is_built_from_constants_only():
    offenders, sinks_seen = [], 0
    for path in py_files():
        rel = str(path.relative_to(REPO))
        if rel in SQL_EXEMPT:
            continue
        src = path.read_text()
        sinks_seen += src.count(".execute(") + src.count(".executemany(")
        offenders += [f"{rel}:{line}: {msg}" for line, msg in sql_problems(src, rel)]
    assert offenders == []
    assert sinks_seen > 20  # the scan reached the MySQL store


def test_the_reviewed_helpers_emit_no_data():
    from sori.stores.mysql import _artist_order, _placeholders

    assert _placeholders(3) == "%s, %s, %s"
    assert "%" not in _artist_order() and _artist_order("a.").startswith("ORDER BY")


PLANTED_SQL = {
    "f-string with a value": (
        "def find(cur, name):\n    cur.execute(f\"SELECT * FROM artists WHERE name = '{name}'\")\n"),
    "concatenation": (
        "def find(cur, name):\n    cur.execute(\"SELECT * FROM artists WHERE name = '\" + name + \"'\")\n"),
    "%-formatting": (
        "def find(cur, name):\n    cur.execute(\"SELECT * FROM artists WHERE name = '%s'\" % name)\n"),
    ".format()": (
        "def find(cur, name):\n    cur.execute(\"SELECT * FROM artists WHERE name = '{}'\".format(name))\n"),
    "built in a variable": (
        "def find(cur, name):\n    sql = 'SELECT * FROM artists WHERE name = ' + repr(name)\n    cur.execute(sql)\n"),
    "through a wrapper": (
        "class S:\n    def _select(self, sql, args=()):\n        self.cur.execute(sql, args)\n"
        "    def find(self, name):\n        return self._select(f\"SELECT * FROM artists WHERE name = '{name}'\")\n"),
}


@pytest.mark.parametrize("kind", sorted(PLANTED_SQL))
def test_planted_string_built_sql_is_caught(kind):
    assert sql_problems(PLANTED_SQL[kind]), kind


def test_parameterised_sql_passes():
    ok = ("COLS = 'id, name'\n"
          "def _placeholders(n):\n    return ', '.join(['%s'] * n)\n"
          "class S:\n    def _select(self, sql, args=()):\n        self.cur.execute(sql, args)\n"
          "    def find(self, name, ids, limit=None):\n"
          "        sql = f'SELECT {COLS} FROM artists WHERE name = %s'\n"
          "        if limit:\n            sql += ' LIMIT %s'\n"
          "        self._select(sql, (name,))\n"
          "        self.cur.execute(f'SELECT 1 FROM artists WHERE id IN ({_placeholders(len(ids))})', ids)\n")
    assert sql_problems(ok) == []

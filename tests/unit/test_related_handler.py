"""The thin Lambda handler: settings in, build called, summary out (metrics emitted, nothing swallowed)."""
from __future__ import annotations

import pytest


def test_handler_calls_build_with_settings_and_returns_summary(monkeypatch, capsys):
    import consumers.related_builder.handler as h
    from sori.settings import get_settings

    monkeypatch.setenv("SORI_RELATED_K", "7")
    monkeypatch.setenv("SORI_MYSQL_URL", "mysql://root@127.0.0.1:3306/sori")  # required since settings are checked
    get_settings.cache_clear()
    seen = {}

    def fake_build(settings):
        seen["k"] = settings.related_k
        return {"generation": 3, "pairs": 70, "artists": 10}

    monkeypatch.setattr(h, "build", fake_build)
    try:
        out = h.lambda_handler({"source": "aws.scheduler"}, None)
    finally:
        get_settings.cache_clear()
    assert out == {"generation": 3, "pairs": 70, "artists": 10} and seen["k"] == 7
    assert "RelatedPairs" in capsys.readouterr().out  # EMF metrics line


def test_handler_propagates_failures(monkeypatch):
    import consumers.related_builder.handler as h
    from sori.settings import get_settings

    monkeypatch.setenv("SORI_MYSQL_URL", "mysql://root@127.0.0.1:3306/sori")  # required since settings are checked
    get_settings.cache_clear()

    def boom(settings):
        raise RuntimeError("lake empty")

    monkeypatch.setattr(h, "build", boom)
    with pytest.raises(RuntimeError, match="lake empty"):
        h.lambda_handler({}, None)

"""Invariants checked with real code, not ``assert`` (which ``python -O`` strips)."""
from __future__ import annotations

import numpy as np
import pytest
from test_chatbot_fakes import FakeBackend, skill_payload

from chatbot import service
from chatbot.budget import Deadline
from chatbot.resolve import Resolution
from sori.kakao import SkillRequest, validate_response


def test_an_artist_resolution_without_a_candidate_searches_instead_of_failing(monkeypatch):
    monkeypatch.setattr(service, "resolve", lambda utt, index: Resolution("artist", "Qxvwz", ()))
    out = service.answer(SkillRequest.parse(skill_payload("Qxvwz")), FakeBackend(), Deadline(3.0))
    assert out.kind != "error", out.notes  # before: AssertionError -> the error reply (and nothing under -O)
    assert validate_response(out.response) == []


def test_the_type_peek_refuses_a_prefix_layout_it_cannot_read():
    from consumers.s3_sink import logic

    assert logic._check_prefix_layout(logic._PREFIXES) is logic._PREFIXES
    mask, value = logic._PREFIXES[0]
    short = mask.copy()
    short[0] = np.uint64(0xFF)  # a first word that is not whole
    with pytest.raises(RuntimeError, match="first word"):
        logic._check_prefix_layout([(mask, value), (short, value)])

"""``ChatbotFunction`` (HTTP API v2 ``POST /skill``): the Kakao skill webhook. Routing, auth and replies live in
:mod:`chatbot.app`; this module is the Lambda entry point only.

Imports nothing heavy: pymysql, boto3 and spotipy load on the first request that needs them, and pandas,
pyarrow, awswrangler and numpy never load (``tests/unit/test_chatbot_imports.py`` checks).
"""
from __future__ import annotations

from typing import Any

from chatbot.app import app, logger
from sori.observability import observed
from sori.settings import ChatbotSettings, check_on_cold_start

check_on_cold_start(ChatbotSettings)


@observed(logger)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)

"""A Lambda context object for handlers the local stack calls in-process (moto cannot run code)."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


@dataclass
class LocalLambdaContext:
    """Duck-types ``awslambdaric``'s context: what Powertools and our handlers read."""

    function_name: str = "sori-local"
    memory_limit_in_mb: int = 512
    timeout_s: float = 30.0
    region: str = "ap-northeast-2"
    account_id: str = "123456789012"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/sori-local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))

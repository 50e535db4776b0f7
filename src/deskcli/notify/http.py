"""One HTTP POST with the failure mapping every HTTP channel shares.

429 and 5xx are worth retrying (honouring Retry-After); other 4xx mean the request itself
is wrong (a revoked key, a bad payload) and repeating it cannot help. Timeouts and refused
connections are retried: the receiver may just be down for a moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from .base import DeliveryError


def parse_retry_after(value: str | None, now: datetime | None = None) -> timedelta | None:
    """Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - (now or datetime.now(UTC)), timedelta(0))


class HttpPoster:
    """A reusable client, so a batch of sends shares connections."""

    def __init__(self, timeout: float) -> None:
        import httpx

        self._httpx = httpx
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str]) -> Any:
        httpx = self._httpx
        try:
            response = self._client.post(url, content=content, headers=dict(headers))
        except httpx.TimeoutException:
            raise DeliveryError(f"no answer from {_host(url)} in time (timeout)") from None
        except httpx.HTTPError as error:
            raise DeliveryError(f"cannot reach {_host(url)}: {_short(error)}") from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        detail = response.text.strip().replace("\n", " ")[:200]
        reason = f"{_host(url)} answered {status}" + (f": {detail}" if detail else "")
        if status == 429 or status >= 500:
            raise DeliveryError(reason, retry_after=parse_retry_after(
                response.headers.get("retry-after")))
        raise DeliveryError(reason, retryable=False)

    def close(self) -> None:
        self._client.close()


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc or url


def _short(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:160]

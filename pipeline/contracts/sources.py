"""Where contracts come from when the database does not know an account number yet.

A source answers one question: the raw contract record for an account number, or None when it
does not know it. Records use the same fields as ``flask contracts import``. The embedded default
has no external source (the database is the only one); with ``EXTERNAL_RDB_API_URL`` set, the
HTTP source asks ``GET {EXTERNAL_RDB_API_URL}/{account_number}``.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import urllib3
from urllib3.util import Retry, Timeout

from pipeline.core.errors import UpstreamError, UpstreamTimeout
from pipeline.core.settings import Settings

logger = logging.getLogger(__name__)


class ContractSource(Protocol):
    name: str

    def fetch(self, account_number: str) -> dict[str, Any] | None:
        """The contract record for this account number, or None when the source does not know it."""


class DatabaseOnlySource:
    """No source beyond the database: unknown account numbers stay unknown."""

    name = "database"

    def fetch(self, account_number: str) -> dict[str, Any] | None:
        return None


class HttpContractSource:
    """The lender's contract system over HTTP, with timeouts and retries on 5xx and resets."""

    name = "external"

    def __init__(self, base_url: str, *, timeout: float = 5.0, retries: int = 2, api_key: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        headers = {"Accept": "application/json", "User-Agent": "contract-refund-eligibility"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            backoff_factor=0.2,
            backoff_jitter=0.1,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.http = urllib3.PoolManager(
            headers=headers,
            retries=retry,
            timeout=Timeout(connect=min(timeout, 3.0), read=timeout),
            maxsize=16,
        )

    def fetch(self, account_number: str) -> dict[str, Any] | None:
        url = f"{self.base_url}/{account_number}"
        try:
            response = self.http.request("GET", url)
        except urllib3.exceptions.MaxRetryError as exc:
            # NewConnectionError (refused) subclasses ConnectTimeoutError in urllib3: test it first.
            if isinstance(exc.reason, urllib3.exceptions.NewConnectionError):
                raise UpstreamError("the external contract source is unreachable") from None
            if isinstance(exc.reason, urllib3.exceptions.TimeoutError):
                raise UpstreamTimeout("the external contract source did not answer in time") from None
            raise UpstreamError("the external contract source is unreachable") from None
        except urllib3.exceptions.TimeoutError:
            raise UpstreamTimeout("the external contract source did not answer in time") from None
        except urllib3.exceptions.HTTPError as exc:
            logger.warning("external contract source failed: %s", exc)
            raise UpstreamError("the external contract source is unreachable") from None
        if response.status == 404:
            return None
        if response.status != 200:
            logger.warning("external contract source answered %s for an account lookup", response.status)
            raise UpstreamError(f"the external contract source answered HTTP {response.status}")
        try:
            record = json.loads(response.data)
        except ValueError:
            raise UpstreamError("the external contract source answered something that is not JSON") from None
        if not isinstance(record, dict):
            raise UpstreamError("the external contract source answered something that is not a contract")
        return record


def get_source(settings: Settings) -> ContractSource:
    if not settings.external_rdb_api_url:
        return DatabaseOnlySource()
    return _http_source(
        settings.external_rdb_api_url,
        settings.external_rdb_timeout,
        settings.external_rdb_retries,
        settings.external_rdb_api_key,
    )


_sources: dict[tuple, HttpContractSource] = {}


def _http_source(url: str, timeout: int, retries: int, api_key: str) -> HttpContractSource:
    # One pool per configuration and process: connections are reused across requests.
    key = (url, timeout, retries, api_key)
    if key not in _sources:
        _sources[key] = HttpContractSource(url, timeout=timeout, retries=retries, api_key=api_key)
    return _sources[key]

"""Errors at the ccxt boundary, sorted into the two kinds that decide what happens next.

Temporary failures (network, 5xx, 429/418, malformed or suspiciously empty pages) are retried
with backoff; permanent ones (unknown symbol, bad credentials, bad request) fail at once.
"""

from __future__ import annotations

import ccxt

PERMANENT = (
    ccxt.AuthenticationError,
    ccxt.PermissionDenied,
    ccxt.AccountSuspended,
    ccxt.BadRequest,
    ccxt.NotSupported,
    ccxt.ArgumentsRequired,
)
TEMPORARY = (ccxt.OperationFailed,)  # network errors, 5xx, 429/418, timeouts, bad bodies
THROTTLED = (ccxt.DDoSProtection, ccxt.RateLimitExceeded)


class FetchError(Exception):
    """A fetch that cannot succeed (or gave up): the message names exchange, series and cause."""


# No candles where closed ones are due, and none after: the exchange has a gap in progress.
EMPTY_PAGE = "an empty page for"


class MalformedPage(Exception):
    """A page that cannot be trusted: retried like a network error, never taken as the end."""


def one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__

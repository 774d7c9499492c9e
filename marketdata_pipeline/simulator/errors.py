"""Binance error payloads, so clients see the same status codes and ``{"code", "msg"}`` bodies,
and the parsing of query parameters that answers with them."""

from __future__ import annotations

import json
from collections.abc import Mapping


class BinanceError(Exception):
    """An error answer: HTTP status plus Binance's numeric code and message."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg

    def body(self) -> str:
        return json.dumps({"code": self.code, "msg": self.msg}, separators=(",", ":"))


def invalid_symbol() -> BinanceError:
    return BinanceError(400, -1121, "Invalid symbol.")


def invalid_interval() -> BinanceError:
    return BinanceError(400, -1120, "Invalid interval.")


def missing_parameter(name: str) -> BinanceError:
    return BinanceError(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal_parameter(name: str, legal: str = "^[0-9]{1,20}$") -> BinanceError:
    return BinanceError(
        400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


SYMBOLS_PATTERN = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
"""Binance's legal range for a ``symbols`` list, quoted in its -1100 answer."""


def duplicate_symbols() -> BinanceError:
    return BinanceError(400, -1151, "Symbol is present multiple times in the list.")


def invalid_ticker_type() -> BinanceError:
    return BinanceError(400, -1139, "Invalid ticker type.")


def invalid_limit() -> BinanceError:
    return BinanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")


def window_too_long() -> BinanceError:
    return BinanceError(400, -1127, "More than 1 hours between startTime and endTime.")


def bad_combination() -> BinanceError:
    return BinanceError(400, -1128, "Combination of optional parameters invalid.")


def int_param(query: Mapping[str, str], name: str, signed: bool = True) -> int | None:
    """An optional integer query parameter; Binance's -1100 for anything else."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    digits = raw[1:] if signed and raw.startswith("-") else raw
    if not digits.isdigit() or len(raw) > 20 or not -(2**62) <= int(raw) < 2**62:
        raise illegal_parameter(name)
    return int(raw)


def page_limit(query: Mapping[str, str]) -> int:
    """``limit``: 500 by default, at most 1000 (larger values are capped, as on Binance spot)."""
    limit = int_param(query, "limit")
    if limit is not None and limit < 1:
        raise invalid_limit()
    return min(limit or 500, 1000)


def too_many_requests(ip: str, limit: int) -> BinanceError:
    return BinanceError(
        429,
        -1003,
        f"Too many requests; current limit of IP({ip}) is {limit} requests per minute. "
        "Please use the websocket for live updates to avoid polling the API.",
    )


def rejection(kind: str) -> BinanceError:
    """A permanent error: a bad API key (401) or a bad request (400); retrying cannot help."""
    if kind == "auth":
        return BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
    return BinanceError(400, -1100, "Illegal characters found in a parameter.")


def not_found() -> BinanceError:
    return BinanceError(404, -1000, "Unknown endpoint.")


def server_error_body(status: int) -> tuple[str, str]:
    """(content type, body) of a simulated 5xx: JSON for 500, HTML from the edge for 502/503."""
    if status == 500:
        body = json.dumps(
            {"code": -1000, "msg": "An unknown error occured while processing the request."},
            separators=(",", ":"),
        )
        return "application/json", body
    title = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable"}[status]
    html = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>"
    return "text/html", html

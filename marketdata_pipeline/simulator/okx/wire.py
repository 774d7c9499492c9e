"""OKX v5's wire formats: the ``{"code","msg","data"}`` envelope, instruments, errors.

Error codes, HTTP statuses and messages follow OKX's table of public error codes
(https://www.okx.com/docs-v5/en/#error-code-rest-api-public), so ccxt's ``okx`` class maps
them to the exceptions it raises against the real exchange.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from marketdata_pipeline.simulator import errors
from marketdata_pipeline.simulator.exchange_info import lot_step
from marketdata_pipeline.simulator.faults import malform
from marketdata_pipeline.simulator.symbols import MarketSpec

EMPTY = '{"code":"0","msg":"","data":[]}'
"""A valid answer with no rows: what an ``empty`` malformed-body fault serves."""


class OkxError(Exception):
    """An error answer: HTTP status plus OKX's string code and message."""

    def __init__(self, status: int, code: str, msg: str, data: bool = True) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.data = status, code, msg, data

    def body(self) -> str:
        doc: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.data:
            doc["data"] = []
        return json.dumps(doc, separators=(",", ":"))


def envelope(items: list[str]) -> str:
    """A success answer around already-serialised JSON items."""
    return '{"code":"0","msg":"","data":[' + ",".join(items) + "]}"


def param_empty(name: str) -> OkxError:
    return OkxError(400, "50014", f"Parameter {name} can not be empty.")


def param_error(name: str) -> OkxError:
    return OkxError(400, "51000", f"Parameter {name} error")


def no_instrument() -> OkxError:
    return OkxError(200, "51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")


def too_many_requests() -> OkxError:
    """The gateway's refusal over a limit: no ``data`` member."""
    return OkxError(429, "50011", "Too Many Requests", data=False)


def not_found() -> OkxError:
    return OkxError(404, "50005", "API endpoint is inactive or unavailable.")


def server_error_body(status: int) -> tuple[str, str]:
    """(content type, body) of a simulated 5xx: OKX's JSON for 500, the edge's HTML otherwise."""
    if status == 500:
        return "application/json", OkxError(500, "50026", "System error. Try again later").body()
    return errors.server_error_body(status)


def malformed(body: str, kind: str) -> str:
    return malform(body, kind, EMPTY)


def int_param(query: Mapping[str, str], name: str) -> int | None:
    """An optional integer (a timestamp, a limit); 51000 for anything else."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise param_error(name)
    return int(raw)


def page_limit(query: Mapping[str, str], default: int, most: int) -> int:
    """``limit``: ``default`` when absent, 51000 below 1, capped at ``most``."""
    limit = int_param(query, "limit")
    if limit is not None and limit < 1:
        raise param_error("limit")
    return min(limit or default, most)


def inst_id(spec: MarketSpec) -> str:
    return f"{spec.base}-{spec.quote}"


def _decimal(value: float) -> str:
    """OKX prints sizes without trailing zeros: 0.00001, 1."""
    return f"{value:.8f}".rstrip("0").rstrip(".")


def instrument(spec: MarketSpec, code: int) -> dict[str, Any]:
    """One ``public/instruments`` entry for a live spot market (field set of OKX's docs)."""
    step, top = _decimal(lot_step(spec.base_price)), "9999999999"
    return {
        "alias": "",
        "auctionEndTime": "",
        "baseCcy": spec.base,
        "category": "1",
        "contTdSwTime": "",
        "ctMult": "",
        "ctType": "",
        "ctVal": "",
        "ctValCcy": "",
        "expTime": "",
        "futureSettlement": False,
        "groupId": "1",
        "instCategory": "1",
        "instFamily": "",
        "instId": inst_id(spec),
        "instIdCode": code,
        "instType": "SPOT",
        "lever": "",
        "listTime": str(spec.listing_ms),
        "lotSz": step,
        "maxIcebergSz": top,
        "maxLmtAmt": "20000000",
        "maxLmtSz": top,
        "maxMktAmt": "1000000",
        "maxMktSz": "1000000",
        "maxStopSz": "1000000",
        "maxTriggerSz": top,
        "maxTwapSz": top,
        "minSz": step,
        "openType": "fix_price",
        "optType": "",
        "preMktSwTime": "",
        "quoteCcy": spec.quote,
        "ruleType": "normal",
        "settleCcy": "",
        "state": "live",
        "stk": "",
        "tickSz": _decimal(spec.tick),
        "tradeQuoteCcyList": [spec.quote],
        "uly": "",
        "upcChg": [],
    }

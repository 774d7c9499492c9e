"""Fault settings and the per-request dice that turn them into concrete misbehaviour.

All rates are probabilities per ``/api/v3`` request. A seeded RNG makes a sequential client
see the same fault sequence on every run; concurrent clients interleave nondeterministically.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

MALFORMED_KINDS = ("truncated", "empty", "garbage")
ERROR_STATUSES = (500, 502, 503)
WINDOW_FIELDS = ("maintenance", "bad_candles", "error_windows")
REJECTIONS = ("", "auth", "bad_request")


def _opt(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


def parse_time_ms(value: int | float | str | datetime) -> int:
    """Milliseconds from an int, a numeric string, an ISO-8601 string or a datetime (UTC)."""
    if isinstance(value, datetime):
        return int(value.replace(tzinfo=value.tzinfo or UTC).timestamp() * 1000)
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        return parse_time_ms(datetime.fromisoformat(value.strip()))
    return int(value)


@dataclass(frozen=True)
class Faults:
    """What should go wrong; every field defaults to "nothing"."""

    error_rate: float = _opt(0.0, "probability of a 500/502/503 answer")
    latency_ms: float = _opt(0.0, "delay added to every response")
    latency_jitter_ms: float = _opt(0.0, "extra uniform random delay in [0, jitter]")
    slow_rate: float = _opt(0.0, "probability of an additional slow_ms delay")
    slow_ms: float = _opt(0.0, "delay of a slow response")
    drop_rate: float = _opt(0.0, "probability of closing the connection without answering")
    malformed_rate: float = _opt(0.0, "probability of a 200 with a broken or bogus JSON body")
    storm_rate: float = _opt(0.0, "probability of a 429 + Retry-After even under budget")
    storm_retry_after_s: int = _opt(1, "Retry-After seconds sent with storm 429s (0: no header)")
    weight_limit: int | None = _opt(None, "overrides the per-minute request weight budget")
    maintenance: tuple[tuple[int, int], ...] = _opt(
        (), "[start_ms, end_ms) windows with no candles"
    )
    duplicate_rate: float = _opt(
        0.0, "probability of a klines or trades page with a duplicated, out-of-order row"
    )
    trade_hole_rate: float = _opt(
        0.0, "probability of a trades page missing three rows in its middle (once, not again)"
    )
    bad_candles: tuple[tuple[int, int], ...] = _opt(
        (), "[start_ms, end_ms) windows whose candles have high and low swapped"
    )
    error_windows: tuple[tuple[int, int], ...] = _opt(
        (), "[start_ms, end_ms) windows: a klines request starting inside one answers 503"
    )
    reject: str = _opt(
        "", "answer every request with a permanent error: auth (401) or bad_request (400)"
    )
    ws_delay_ms: float = _opt(0.0, "delay of every WebSocket message (their order is kept)")
    ws_depth_skip_rate: float = _opt(
        0.0, "probability that a depth diff event is withheld: a gap in the update ids"
    )
    ws_max_connection_s: float = _opt(
        0.0, "close WebSocket connections this many simulated seconds after they open (0: never)"
    )
    ws_drop_every_s: float = _opt(
        0.0, "cut every WebSocket connection (no close frame) every N simulated seconds (0: never)"
    )
    ws_connection_limit: int = _opt(
        0, "new WebSocket connections per IP in any 5 simulated minutes (Binance: 300; 0: no limit)"
    )
    seed: int = _opt(0, "seed of the fault dice")

    def __post_init__(self) -> None:
        for name in WINDOW_FIELDS:
            windows = tuple((parse_time_ms(s), parse_time_ms(e)) for s, e in getattr(self, name))
            object.__setattr__(self, name, windows)
        if self.reject not in REJECTIONS:
            raise ValueError(f"reject must be one of {', '.join(map(repr, REJECTIONS))}")
        for f in fields(self):
            if f.name.endswith("_rate") and not 0.0 <= getattr(self, f.name) <= 1.0:
                raise ValueError(f"{f.name} must be within [0, 1]")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        """Build from JSON-like data; unknown field names are an error, not silently ignored."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in WINDOW_FIELDS:
            data[name] = [list(window) for window in getattr(self, name)]
        return data

    def replace(self, **changes: Any) -> Faults:
        return replace(self, **changes)


@dataclass(frozen=True)
class FaultPlan:
    """The faults chosen for one request."""

    delay_s: float = 0.0
    slow: bool = False
    drop: bool = False
    storm: bool = False
    error_status: int | None = None
    malformed: str | None = None
    duplicate_at: float | None = None
    hole_at: float | None = None


class FaultInjector:
    """Holds the active ``Faults`` and rolls a ``FaultPlan`` per request (thread-safe)."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self.set(faults or Faults())

    @property
    def faults(self) -> Faults:
        return self._faults

    def set(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)

    def plan(self) -> FaultPlan:
        """Always draws the same number of values, so a seed gives a stable sequence."""
        with self._lock:
            f, draws = self._faults, [self._rng.random() for _ in range(12)]
        slow = draws[1] < f.slow_rate
        delay_ms = f.latency_ms + draws[0] * f.latency_jitter_ms + (f.slow_ms if slow else 0.0)
        return FaultPlan(
            delay_s=delay_ms / 1000.0,
            slow=slow,
            drop=draws[2] < f.drop_rate,
            storm=draws[3] < f.storm_rate,
            error_status=ERROR_STATUSES[int(draws[5] * 3)] if draws[4] < f.error_rate else None,
            malformed=MALFORMED_KINDS[int(draws[7] * 3)] if draws[6] < f.malformed_rate else None,
            duplicate_at=draws[9] if draws[8] < f.duplicate_rate else None,
            hole_at=draws[11] if draws[10] < f.trade_hole_rate else None,
        )


def malform(body: str, kind: str, empty: str) -> str:
    """A 200 body broken as ``kind`` says; ``empty`` is the protocol's valid but empty answer."""
    if kind == "truncated":
        return body[: max(1, len(body) // 2)]
    if kind == "empty":
        return empty
    return '{"code":0,"msg":"<html>upstream garbage'


def duplicate_row(rows: list[str], position: float, limit: int) -> list[str]:
    """Copy one row two places later (duplicated *and* out of order), then trim to ``limit``."""
    index = min(int(position * (len(rows) - 1)), len(rows) - 2)
    return [*rows[: index + 2], rows[index], *rows[index + 2 :]][:limit]

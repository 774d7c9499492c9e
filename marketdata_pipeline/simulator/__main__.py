"""``python -m marketdata_pipeline.simulator``: serve the simulator until Ctrl-C.

Every ``Faults`` field becomes an option (``error_rate`` -> ``--error-rate``), so new fault
kinds need no CLI changes; ``--fault-5xx`` is an alias of ``--error-rate`` and the fault
budget override is ``--fault-weight-limit`` (``--weight-limit`` is the normal budget).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from marketdata_pipeline.simulator.ccxt_config import config_snippet
from marketdata_pipeline.simulator.faults import REJECTIONS, WINDOW_FIELDS, Faults, parse_time_ms
from marketdata_pipeline.simulator.simulator import Simulator
from marketdata_pipeline.simulator.state import EXCHANGES
from marketdata_pipeline.simulator.symbols import (
    DEFAULT_SYMBOLS,
    DEFAULT_TRADES_PER_MINUTE,
    MAX_TRADES_PER_MINUTE,
    MIN_TRADES_PER_MINUTE,
)


def _window(text: str) -> tuple[int, int]:
    """``START/END`` as epoch ms or ISO-8601 UTC, e.g. ``2024-01-01T00:00/2024-01-01T02:00``."""
    start, sep, end = text.partition("/")
    if not sep:
        raise argparse.ArgumentTypeError("expected START/END")
    return parse_time_ms(start), parse_time_ms(end)


def _delisting(text: str) -> tuple[str, int]:
    """``SYMBOL@WHEN``, WHEN as epoch ms or ISO-8601 UTC."""
    symbol, sep, when = text.partition("@")
    if not sep or "/" not in symbol:
        raise argparse.ArgumentTypeError("expected SYMBOL@WHEN, e.g. XRP/USDT@2024-06-01T00:00")
    return symbol, parse_time_ms(when)


def _trade_rate(text: str) -> int:
    rate = int(text)
    if not MIN_TRADES_PER_MINUTE <= rate <= MAX_TRADES_PER_MINUTE:
        raise argparse.ArgumentTypeError(
            f"must be within [{MIN_TRADES_PER_MINUTE}, {MAX_TRADES_PER_MINUTE}]"
        )
    return rate


def _speed(text: str) -> float:
    speed = float(text)
    if not speed > 0:
        raise argparse.ArgumentTypeError("must be positive, e.g. 20 for a simulated minute in 3 s")
    return speed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m marketdata_pipeline.simulator", description=__doc__
    )
    parser.add_argument(
        "--exchange", choices=EXCHANGES, default="binance", help="wire protocol to speak"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--weight-limit", type=int, default=6000, help="Binance's request weight per minute"
    )
    parser.add_argument(
        "--trades-per-minute",
        type=_trade_rate,
        default=DEFAULT_TRADES_PER_MINUTE,
        help="mean raw trades per minute in every market (aggTrades are about 70%% of them)",
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="run the clock this many times faster than real time (REST and WebSocket streams)",
    )
    parser.add_argument(
        "--symbol",
        dest="symbols",
        action="append",
        default=[],
        help="list this market too, e.g. ABC/USDT (repeatable)",
    )
    parser.add_argument(
        "--delist",
        dest="delistings",
        type=_delisting,
        action="append",
        default=[],
        help="delist a market at a time, e.g. XRP/USDT@2024-06-01T00:00 (repeatable)",
    )
    for field in dataclasses.fields(Faults):
        name = field.name.replace("_", "-")
        flags = [f"--fault-{name}" if name == "weight-limit" else f"--{name}"]
        if field.name == "error_rate":
            flags.append("--fault-5xx")
        help_text = field.metadata.get("help", "")
        if field.name in WINDOW_FIELDS:
            parser.add_argument(
                *flags,
                dest=field.name,
                type=_window,
                action="append",
                default=[],
                help=help_text + " (START/END, repeatable)",
            )
        elif field.name == "reject":
            parser.add_argument(
                *flags, dest=field.name, choices=REJECTIONS, default="", help=help_text
            )
        else:
            integers = ("seed", "weight_limit", "storm_retry_after_s", "ws_connection_limit")
            kind = int if field.name in integers else float
            parser.add_argument(
                *flags, dest=field.name, type=kind, default=field.default, help=help_text
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(build_parser().parse_args(argv))
    host, port, weight_limit = args.pop("host"), args.pop("port"), args.pop("weight_limit")
    exchange = args.pop("exchange")
    symbols = {**DEFAULT_SYMBOLS, **{symbol: {} for symbol in args.pop("symbols")}}
    for symbol, when in args.pop("delistings"):
        symbols[symbol] = {**symbols.get(symbol, {}), "delisting": when}
    trades_per_minute, speed = args.pop("trades_per_minute"), args.pop("speed")
    sim = Simulator(
        host=host,
        port=port,
        weight_limit=weight_limit,
        faults=Faults(**args),
        symbols=symbols,
        trades_per_minute=trades_per_minute,
        exchange=exchange,
        speed=speed,
    )
    sim.start()
    print(f"{exchange} simulator listening on {sim.url}", flush=True)
    print(config_snippet(sim.url, exchange), flush=True)
    sim.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

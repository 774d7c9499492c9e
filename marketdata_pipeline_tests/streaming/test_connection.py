"""The ccxt.pro side: REST calls of a streaming exchange are budgeted, watch methods follow
ccxt's `has` flags, connection attempts back off and share the exchange's connection limit."""

import asyncio

from marketdata_pipeline.coordination.embedded import EmbeddedCoordination
from marketdata_pipeline.streaming.connection import Connections, EventLog, Gate, per_symbols

from ..conftest import market


def test_the_book_snapshot_of_a_watched_book_is_charged_to_the_budget(make_project, simulator):
    project = make_project([market()])
    lines: list[str] = []
    connections = Connections("binance", EventLog(lines.append), None)

    async def run():
        async with project.defs.resources["exchange_binance"].client(connections.wrap) as client:
            book = await client.exchange.watch_order_book("BTC/USDT")
            return client.stats, book

    stats, book = asyncio.run(run())
    assert book["nonce"] is not None
    # Loading the markets (weight 20) and the REST snapshot (limit 1000: weight 50), nothing else.
    assert simulator.stats()["depth_requests"] == 1
    assert (stats.requests, stats.weight) == (2, 70)
    assert lines[0].startswith('stream event=connect exchange="binance" url="ws://')


def test_watch_methods_follow_ccxts_has_flags():
    import ccxt.pro

    exchange = ccxt.pro.binance()
    assert len(per_symbols(exchange, "watchTradesForSymbols", "a", "b", ["X", "Y"], {})) == 1
    exchange.has["watchTradesForSymbols"] = False
    assert len(per_symbols(exchange, "watchTradesForSymbols", "a", "b", ["X", "Y"], {})) == 2


def test_connection_attempts_back_off_and_share_the_connection_limit(tmp_path):
    budget = EmbeddedCoordination(tmp_path).budget("binance/ws-connections", 2, 300)
    gate = Gate(budget, base=0.5, cap=30)
    assert gate.delay() == 0
    gate.failures = 3
    assert 0.5 * 4 * 0.5 <= gate.delay() <= 0.5 * 4 * 1.5
    gate.failures = 20
    assert gate.delay() <= 30 * 1.5
    asyncio.run(Gate(budget).attempt())
    asyncio.run(Gate(budget).attempt())
    # A third attempt in the same 5 minutes, from any process, waits for the window.
    assert budget.try_take(1) > 0

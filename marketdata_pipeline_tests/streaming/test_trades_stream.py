"""Streamed trades: holes in the ids are fetched over REST before anything past them is written.

The trades are offered as ccxt.pro's binance delivers an aggTrade stream (the unified trade with
the raw message as `info`), taken from the simulator's REST history, so what is stored can be
compared with that history exactly.
"""

import asyncio

import ccxt
import polars as pl

from marketdata_pipeline.exchange.quirks import RAW_TRADES
from marketdata_pipeline.exchange.trades import parse_raw_trades
from marketdata_pipeline.simulator import Faults, ccxt_config
from marketdata_pipeline.storage.schema import TRADES
from marketdata_pipeline.storage.store import store_for
from marketdata_pipeline.streaming import trades_stream
from marketdata_pipeline.streaming.connection import EventLog
from marketdata_pipeline.streaming.trades_stream import TradeStream

from ..conftest import market

QUIRK = RAW_TRADES["binance"]


def history(simulator, count: int) -> list[dict]:
    """The exchange's last `count` aggTrades (raw), oldest first."""
    exchange = ccxt.binance(ccxt_config(simulator.url))
    return exchange.publicGetAggTrades({"symbol": "BTCUSDT", "limit": count})


def as_stream(raw: list[dict]) -> list[dict]:
    """Trades as `watch_trades_for_symbols` returns them for Binance's aggTrade stream."""
    return [{"symbol": "BTC/USDT", "id": r["a"], "info": {"e": "aggTrade", **r}} for r in raw]


def run_stream(project, offers, capacity: int = 100_000):
    """Offer each batch of trades, then flush once; returns the stream and its log lines."""
    series = project.config.trade_series[0]
    store = project.store
    lines: list[str] = []

    async def go():
        async with project.defs.resources["exchange_binance"].client() as client:
            stream = TradeStream(series, store, client, EventLog(lines.append), capacity)
            stream.start()
            for batch in offers:
                stream.offer(batch)
            await stream.flush()
            return stream

    stream = asyncio.run(go())
    return stream, store.read(series, None, None, TRADES), lines


def test_holes_and_a_kill_before_the_last_flush_are_repaired_from_the_stored_last_id(
    make_project, simulator
):
    project = make_project([market(trades=True)])
    raw = history(simulator, 120)
    expected = parse_raw_trades(raw, QUIRK)
    # A first run stored the first 40 and died: the restart resumes from trade 40's id.
    first, _, _ = run_stream(project, [as_stream(raw[:40])])
    assert first.counts.rows_written == 40
    # Then the stream delivers from trade 60 on, with ids 80..89 lost in a reconnect.
    stream, stored, lines = run_stream(project, [as_stream(raw[60:80]), as_stream(raw[90:])])
    assert stored.sort("id").equals(expected)
    assert stream.counts.gaps_repaired == 2
    assert stream.last_id == raw[-1]["a"]
    repaired = [line for line in lines if "event=gap_repaired" in line]
    assert f'ids="{raw[40]["a"]}-{raw[59]["a"]}"' in repaired[0]
    assert f'ids="{raw[80]["a"]}-{raw[89]["a"]}"' in repaired[1]
    # What is contiguous is covered, each run from just after its first trade (earlier trades
    # of that millisecond may be missing) up to its last one's millisecond (later ones may come).
    coverage = project.store.coverage(project.config.trade_series[0], TRADES)
    assert coverage.ranges == [
        (raw[0]["T"] + 1, raw[39]["T"]),
        (raw[39]["T"] + 1, raw[-1]["T"]),
    ]


def test_an_overflowing_buffer_is_counted_and_repaired_over_rest(make_project, simulator):
    project = make_project([market(trades=True)])
    raw = history(simulator, 60)
    offers = [as_stream(raw[i : i + 10]) for i in range(0, 60, 10)]
    stream, stored, lines = run_stream(project, offers, capacity=25)
    # 20 fit, the next 10 fit up to 30 > 25: refused; every later batch too.
    assert stream.counts.dropped == 40
    assert sum("event=overflow" in line for line in lines) == 4
    assert stored.sort("id").equals(parse_raw_trades(raw, QUIRK))


def test_a_long_hole_is_repaired_a_chunk_a_flush(make_project, simulator, monkeypatch):
    """A restart after a long outage does not fetch the whole hole into memory first."""
    monkeypatch.setattr(trades_stream, "REPAIR_CHUNK", 40)
    project = make_project([market(trades=True)])
    raw = history(simulator, 130)
    series = project.config.trade_series[0]
    run_stream(project, [as_stream(raw[:5])])
    lines: list[str] = []
    progress: list[tuple[int, int]] = []

    async def go():
        async with project.defs.resources["exchange_binance"].client() as client:
            stream = TradeStream(series, project.store, client, EventLog(lines.append))
            stream.start()
            stream.offer(as_stream(raw[105:]))  # ids 5..104 lost: 100 to repair
            for _ in range(3):
                await stream.flush()
                progress.append((stream.counts.rows_written, stream.last_id))
            return stream

    stream = asyncio.run(go())
    # 40 repaired ids a flush, the streamed trades written with the last chunk.
    assert progress == [(40, raw[44]["a"]), (80, raw[84]["a"]), (125, raw[-1]["a"])]
    stored = project.store.read(series, None, None, TRADES)
    assert stored.sort("id").equals(parse_raw_trades(raw, QUIRK))
    repaired = [line for line in lines if "event=gap_repaired" in line]
    assert [r.split('ids="')[1].split('"')[0] for r in repaired] == [
        f"{raw[5]['a']}-{raw[44]['a']}",
        f"{raw[45]['a']}-{raw[84]['a']}",
        f"{raw[85]['a']}-{raw[104]['a']}",
    ]
    assert stream.counts.gaps_repaired == 1 and stream.pending == []


def test_failed_writes_during_a_long_repair_hold_only_the_streamed_trades(
    make_project, simulator, monkeypatch
):
    """A store down during a long repair must not pile up one repaired chunk a flush."""
    monkeypatch.setattr(trades_stream, "REPAIR_CHUNK", 40)
    project = make_project([market(trades=True)])
    raw = history(simulator, 130)
    series = project.config.trade_series[0]
    run_stream(project, [as_stream(raw[:5])])
    store = store_for(project.config)
    real_write = store.write
    failures = iter([RuntimeError("storage unreachable")] * 3)

    def flaky(*args, **kwargs):
        if (error := next(failures, None)) is not None:
            raise error
        return real_write(*args, **kwargs)

    monkeypatch.setattr(store, "write", flaky)
    held: list[tuple[int, int]] = []

    async def go():
        async with project.defs.resources["exchange_binance"].client() as client:
            stream = TradeStream(series, store, client, EventLog(lambda line: None))
            stream.start()
            stream.offer(as_stream(raw[105:]))  # ids 5..104 lost: 100 to repair
            for _ in range(6):
                await stream.flush()
                held.append((stream.held, sum(f.height for f in stream.pending)))
            return stream

    stream = asyncio.run(go())
    assert held == [(25, 25)] * 5 + [(0, 0)]  # 3 failed, then 40, 40, 20 + the 25 streamed
    assert store.read(series, None, None, TRADES).sort("id").equals(parse_raw_trades(raw, QUIRK))
    assert stream.last_id == raw[-1]["a"]


def test_nothing_is_written_past_a_hole_the_exchange_cannot_close_yet(make_project, simulator):
    project = make_project([market(trades=True)])
    raw = history(simulator, 30)
    ahead = dict(raw[-1], a=raw[-1]["a"] + 1000)  # an id the exchange has not served yet
    later = dict(raw[-1], a=raw[-1]["a"] + 1001)
    series = project.config.trade_series[0]

    async def go():
        async with project.defs.resources["exchange_binance"].client() as client:
            stream = TradeStream(series, project.store, client, EventLog(lambda line: None))
            stream.start()
            stream.offer(as_stream(raw[:20]))
            stream.offer(as_stream([ahead]))
            flushing = asyncio.create_task(stream.flush())
            await asyncio.sleep(0)  # the flush is waiting for REST to close the hole
            stream.offer(as_stream([later]))
            await flushing
            return stream

    stream = asyncio.run(go())
    stored = project.store.read(series, None, None, TRADES)
    assert stored.sort("id").equals(parse_raw_trades(raw[:20], QUIRK))
    assert stream.last_id == raw[19]["a"]
    # The trades beyond the hole wait for the next flush, in order, none dropped.
    assert [int(i) for i in pl.concat(stream.pending)["id"]] == [ahead["a"], later["a"]]


def test_a_hole_the_exchange_confirms_is_recorded_as_a_gap(make_project, simulator):
    project = make_project([market(trades=True)])
    raw = history(simulator, 300)  # minutes of trades: the lost minute ends well before the last
    minute = raw[20]["T"] // 60_000 * 60_000 + 60_000
    outage = (minute, minute + 60_000)  # the exchange lost this minute's trade ids for good
    assert outage[1] < raw[-1]["T"]
    simulator.set_faults(Faults(maintenance=(outage,)))
    exchange = ccxt.binance(ccxt_config(simulator.url))
    kept = exchange.publicGetAggTrades({"symbol": "BTCUSDT", "fromId": raw[0]["a"], "limit": 1000})
    kept = [r for r in kept if r["a"] <= raw[-1]["a"]]
    missing = sorted({r["a"] for r in raw} - {r["a"] for r in kept})
    assert missing
    # The stream delivered what the exchange kept, less a few seconds lost in a reconnect.
    stream, stored, lines = run_stream(project, [as_stream(kept[:30]), as_stream(kept[45:])])
    assert stored.sort("id").equals(parse_raw_trades(kept, QUIRK))
    assert stream.last_id == raw[-1]["a"]
    gaps = project.store.coverage(project.config.trade_series[0], TRADES).gaps
    assert gaps == [(missing[0], missing[-1] + 1)]
    repaired = [x for x in lines if "event=gap_repaired" in x]
    assert [x.endswith(f"confirmed_missing={len(missing)}") for x in repaired].count(True) == 1


def test_a_failed_write_keeps_the_trades_for_the_next_flush(make_project, simulator, monkeypatch):
    """A store that fails once (a lost lock, a storage hiccup) loses nothing and stops nothing:
    the next flush writes the same trades."""
    project = make_project([market(trades=True)])
    raw = history(simulator, 30)
    series = project.config.trade_series[0]
    lines: list[str] = []
    store = store_for(project.config)
    real_write = store.write
    failures = iter([RuntimeError("storage unreachable")])

    def flaky(*args, **kwargs):
        if (error := next(failures, None)) is not None:
            raise error
        return real_write(*args, **kwargs)

    monkeypatch.setattr(store, "write", flaky)

    async def go():
        async with project.defs.resources["exchange_binance"].client() as client:
            stream = TradeStream(series, store, client, EventLog(lines.append))
            stream.start()
            stream.offer(as_stream(raw))
            await stream.flush()  # fails, keeps them
            assert stream.counts.rows_written == 0
            await stream.flush()
            return stream

    stream = asyncio.run(go())
    assert stream.counts.rows_written == 30
    assert store.read(series, None, None, TRADES).equals(parse_raw_trades(raw, QUIRK))
    assert any("event=write_failed" in line and "storage unreachable" in line for line in lines)

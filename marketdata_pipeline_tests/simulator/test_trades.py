import numpy as np
import pytest

from marketdata_pipeline.simulator.candles import Candles
from marketdata_pipeline.simulator.market import minute_candles
from marketdata_pipeline.simulator.symbols import make_specs
from marketdata_pipeline.simulator.trades import (
    Trades,
    agg_trades,
    minute_so_far,
    raw_trades,
    to_candles,
)

from .conftest import MINUTE, NOW_MS

SPECS = make_specs()
START = NOW_MS // MINUTE - 3 * 1_440 - 7


def _equal(a: Candles, b: Candles) -> bool:
    return all(np.array_equal(column, getattr(b, name)) for name, column in a.columns().items())


@pytest.mark.parametrize("market_id", list(SPECS))
def test_trades_sum_exactly_to_the_candles(market_id: str) -> None:
    spec = SPECS[market_id]
    aggs = agg_trades(spec, START, START + 20)
    candles = minute_candles(spec, START, START + 20)
    assert _equal(to_candles(aggs), candles)
    assert _equal(to_candles(raw_trades(spec, aggs)), candles)
    assert np.all(aggs.qty > 0) and np.all(raw_trades(spec, aggs).qty > 0)
    assert np.all(aggs.price * aggs.qty * 10**8 % spec.quote_units == 0)  # 8 decimals suffice


def test_any_minute_range_gives_the_same_trades() -> None:
    spec = SPECS["ETHUSDT"]
    whole = agg_trades(spec, START, START + 5)
    parts = Trades.concat([agg_trades(spec, m, m + 1) for m in range(START, START + 5)])
    for name in ("id", "price", "qty", "first", "last", "time", "maker"):
        assert np.array_equal(getattr(whole, name), getattr(parts, name)), name


def test_order_and_timestamps_within_minutes() -> None:
    spec = SPECS["BTCUSDT"]
    aggs = agg_trades(spec, START, START + 30)
    candles = minute_candles(spec, START, START + 30)
    minute = aggs.time // MINUTE
    firsts = np.flatnonzero(np.diff(minute, prepend=-1))
    lasts = np.append(firsts[1:], len(minute)) - 1
    assert np.array_equal(aggs.time[firsts], candles.time)  # the open trade is at :00.000
    assert np.array_equal(aggs.price[firsts], candles.open)
    assert np.array_equal(aggs.price[lasts], candles.close)
    assert np.all(np.diff(aggs.time) >= 0) and np.all(np.diff(aggs.id) == 1)
    assert np.array_equal(aggs.first[1:], aggs.last[:-1] + 1)


def test_the_open_minute_holds_its_trades_so_far() -> None:
    spec = SPECS["SOLUSDT"]
    minute = NOW_MS // MINUTE
    trades = agg_trades(spec, minute, minute + 1)
    early = minute_so_far(spec, minute, minute * MINUTE)
    assert int(early.trades[0]) == trades.last[0] - trades.first[0] + 1  # just the open trade
    now = minute_so_far(spec, minute, NOW_MS)
    assert _equal(now, to_candles(trades.select(trades.time <= NOW_MS)))
    assert 0 < int(now.volume[0]) < int(minute_candles(spec, minute, minute + 1).volume[0])

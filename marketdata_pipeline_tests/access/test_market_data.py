"""The Python API reads what the real pipeline stored: series, candle ranges, indicators,
trades and candles built from trades."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from marketdata_pipeline import MarketData
from marketdata_pipeline.automation.partitions import partitions_for
from marketdata_pipeline.config import ConfigError
from marketdata_pipeline.indicators.formulas import INDICATOR_COLUMNS
from marketdata_pipeline.storage.schema import (
    CANDLE_SCHEMA,
    INDICATORS,
    TRADE_CANDLE_SCHEMA,
    TRADE_CANDLES,
    TRADE_SCHEMA,
)
from marketdata_pipeline.storage.store import store_for
from marketdata_pipeline.timeframes import HOUR_MS

from ..conftest import day_key, day_ms, fake_trades, market, store_trades, today


@pytest.fixture
def stored(make_project):
    """BTC/USDT 1m over 3 days, ETH/USDT 1m over 1 day and 1h over a month, through the pipeline."""
    project = make_project([market("BTC/USDT", ["1m"]), market("ETH/USDT", ["1m", "1h"])])
    project.materialize(project.series(), day_key(3), day_key(1))
    project.materialize(project.series("ETH/USDT"), day_key(2))
    hourly = project.series("ETH/USDT", "1h")
    month = partitions_for(hourly).get_partition_key_for_timestamp(day_ms(2) / 1000)
    project.materialize(hourly, month)
    return project


@pytest.fixture
def traded(make_project):
    """Written straight to the store: BTC/USDT trades of 3 hours of two days ago (ids 1000.., two a
    second) but none in the minute 02:30, with 1m and 1h candles built from them; ETH/USDT
    trades of its first hour (ids 1..7200); SOL/USDT collects no trades."""
    project = make_project(
        [
            {**market("BTC/USDT", ["1m", "1h"]), "trades": True},
            {**market("ETH/USDT"), "trades": True},
            market("SOL/USDT"),
        ]
    )
    start = day_ms(2)
    btc = fake_trades(start, 3 * 7200).filter(pl.col("timestamp").dt.strftime("%H:%M") != "02:30")
    store_trades(project, "BTC/USDT", btc, start, start + 3 * HOUR_MS)
    store_trades(project, "ETH/USDT", fake_trades(start, 7200, first_id=1), start, start + HOUR_MS)
    return project


def test_series_lists_each_configured_series_with_its_stored_range(stored):
    frame = MarketData().series()
    assert frame.columns == [
        *("exchange", "symbol", "timeframe", "data"),
        *("start", "first", "last", "rows"),
    ]
    btc = frame.row(0, named=True)
    assert (btc["exchange"], btc["symbol"], btc["timeframe"]) == ("binance", "BTC/USDT", "1m")
    assert btc["start"] == today() - timedelta(days=45) and btc["rows"] == 3 * 1440
    assert btc["first"] == datetime.fromtimestamp(day_ms(3) / 1000, UTC)
    assert btc["last"] == datetime.fromtimestamp((day_ms(0) - 60_000) / 1000, UTC)
    hourly = stored.store.read(stored.series("ETH/USDT", "1h"))
    assert frame["rows"].to_list() == [3 * 1440, 1440, hourly.height]


def test_candles_of_a_range_end_exclusive_in_any_date_form(stored):
    md = MarketData(stored.config.path)
    whole = md.candles("binance", "BTC/USDT", "1m")
    assert whole.schema == pl.Schema(CANDLE_SCHEMA) and whole.height == 3 * 1440
    day = md.candles(
        "binance", "btc/usdt", "1m", start=day_key(2), end=date.fromisoformat(day_key(1))
    )
    assert day.height == 1440 and day["open_time"][0] == whole["open_time"][1440]
    naive = datetime.fromisoformat(f"{day_key(2)}T10:05")
    five = md.candles("binance", "BTC/USDT", "1m", f"{day_key(2)}T10:00Z", naive)
    assert five["open_time"].dt.strftime("%H:%M").to_list() == [f"10:0{m}" for m in range(5)]
    assert md.candles("binance", "BTC/USDT", "1m", end=day_key(3)).is_empty()


def test_indicators_are_joined_on_open_time(stored):
    md = MarketData()
    frame = md.candles("binance", "BTC/USDT", "1m", day_key(2), day_key(1), indicators=True)
    assert frame.columns == [*CANDLE_SCHEMA, *INDICATOR_COLUMNS] and frame.height == 1440
    expected = stored.store.read(stored.series(), day_ms(2), day_ms(1), library=INDICATORS)
    assert frame.select("open_time", *INDICATOR_COLUMNS).equals(expected)
    assert frame["rsi14"].null_count() == 0  # three days stored: warm-up is before this day


def test_candles_of_a_series_without_indicators_get_null_columns(make_project):
    project = make_project()
    project.store.write(project.series(), _one_candle(day_ms(1)), day_ms(1), day_ms(0))
    frame = MarketData().candles("binance", "BTC/USDT", "1m", indicators=True)
    assert (
        frame.height == 1 and frame.select(INDICATOR_COLUMNS).null_count().sum_horizontal()[0] == 8
    )


def test_trades_of_a_range_with_their_exact_values(traded):
    md = MarketData()
    frame = md.trades("binance", "btc/usdt", f"{day_key(2)}T01:00", f"{day_key(2)}T01:00:02")
    assert frame.schema == pl.Schema(TRADE_SCHEMA)
    hour = datetime.fromisoformat(f"{day_key(2)}T01:00").replace(tzinfo=UTC)
    assert frame.rows() == [
        (hour, 8200, 50002.0, 0.001, 50002.0 * 0.001, "buy", 82000, 82000),
        (hour, 8201, 50002.5, 0.002, 50002.5 * 0.002, "sell", 82010, 82011),
        (hour + timedelta(seconds=1), 8202, 50003.0, 0.003, 50003.0 * 0.003, "sell", 82020, 82022),
        (hour + timedelta(seconds=1), 8203, 50000.0, 0.004, 50000.0 * 0.004, "buy", 82030, 82030),
    ]
    whole = md.trades("binance", "BTC/USDT")
    assert whole.height == 3 * 7200 - 120 and whole["id"].is_sorted()
    assert md.trades("binance", "ETH/USDT")["id"].to_list() == list(range(1, 7201))


def test_candles_from_trades_keep_a_minute_without_trades_as_an_empty_row(traded):
    md = MarketData()
    frame = md.candles(
        "binance", "BTC/USDT", "1m", f"{day_key(2)}T02:29", f"{day_key(2)}T02:32", from_trades=True
    )
    assert frame.schema == pl.Schema(TRADE_CANDLE_SCHEMA)
    # 02:29 holds trades 17880..17999 (price 50000 + i % 7 / 2), 02:31 holds 18120..18239
    assert frame.select("open", "high", "low", "close", "volume", "trades").rows() == [
        (50_001.0, 50_003.0, 50_000.0, 50_001.0, pytest.approx(0.36), 240),
        (None, None, None, None, 0.0, 0),
        (50_002.0, 50_003.0, 50_000.0, 50_002.0, pytest.approx(0.36), 240),
    ]
    stored = store_for(traded.config).read(traded.series(), library=TRADE_CANDLES)
    hourly = md.candles("binance", "BTC/USDT", "1h", from_trades=True)
    assert stored.height == 180 and hourly["trades"].to_list() == [14_400, 14_400, 14_160]
    assert md.candles("binance", "BTC/USDT", "1m").is_empty()  # the exchange's: none stored


def test_trades_and_their_candles_only_for_markets_that_collect_them(traded):
    md = MarketData()
    fix = (
        "binance SOL/USDT collects no trades; set `trades: true` on"
        f" exchanges[binance].markets[SOL/USDT] in {traded.config.path}, then sync"
    )
    for read in (
        lambda: md.trades("binance", "sol/usdt"),
        lambda: md.candles("binance", "SOL/USDT", "1m", from_trades=True),
    ):
        with pytest.raises(ConfigError) as caught:
            read()
        assert str(caught.value) == fix
    with pytest.raises(ConfigError, match="no configured series matches exchange=binance"):
        md.trades("binance", "DOGE/USDT")
    with pytest.raises(ValueError, match=r"^indicators are computed from the exchange's candles"):
        md.candles("binance", "BTC/USDT", "1m", indicators=True, from_trades=True)
    with pytest.raises(ValueError, match=r"^start 2024-01-02 is not before end 2024-01-01"):
        md.trades("binance", "BTC/USDT", "2024-01-02", "2024-01-01")


def test_series_lists_trade_series_after_the_candles(traded):
    frame = MarketData().series().filter(pl.col("data") == "trades")
    first = datetime.fromtimestamp(day_ms(2) / 1000, UTC)
    assert frame.select("symbol", "timeframe", "first", "last", "rows").rows() == [
        ("BTC/USDT", None, first, first + timedelta(seconds=3 * 3600 - 1), 3 * 7200 - 120),
        ("ETH/USDT", None, first, first + timedelta(seconds=3600 - 1), 7200),
    ]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("kraken", "BTC/USDT", "1m"), ConfigError, "no configured series matches exchange=kraken"),
        (("binance", "BTC/USDT", "2h"), ConfigError, "unknown timeframe '2h'; allowed: 1m, 5m"),
        (
            ("binance", "BTC/USDT", "1m", "2024-02-30"),
            ValueError,
            "start: invalid date '2024-02-30'; use YYYY-MM-DD",
        ),
        (("binance", "BTC/USDT", "1m", None, 1704067200), ValueError, "end: expected a date"),
        (
            ("binance", "BTC/USDT", "1m", "2024-01-02", "2024-01-01"),
            ValueError,
            "start 2024-01-02 is not before end 2024-01-01",
        ),
    ],
)
def test_bad_input_raises_one_clear_line(make_project, args, error, message):
    make_project()
    with pytest.raises(error) as caught:
        MarketData().candles(*args)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_missing_config_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MARKETDATA_CONFIG", raising=False)
    with pytest.raises(ConfigError, match=r"marketdata.yaml not found; create it or set"):
        MarketData()


def _one_candle(open_ms: int) -> pl.DataFrame:
    row = {"open_time": [open_ms], **{c: [1.0] for c in ("open", "high", "low", "close")}}
    return pl.DataFrame({**row, "volume": [2.0], "quote_volume": [2.0], "trades": [1]}).cast(
        CANDLE_SCHEMA
    )

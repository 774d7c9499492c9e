"""The Python API reads what the real pipeline stored: series, candle ranges, indicators."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from marketdata_pipeline import MarketData
from marketdata_pipeline.automation.partitions import partitions_for
from marketdata_pipeline.config import ConfigError
from marketdata_pipeline.indicators.formulas import INDICATOR_COLUMNS
from marketdata_pipeline.storage.schema import CANDLE_SCHEMA, INDICATORS

from ..conftest import day_key, day_ms, market, today


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


def test_series_lists_each_configured_series_with_its_stored_range(stored):
    frame = MarketData().series()
    assert frame.columns == ["exchange", "symbol", "timeframe", "start", "first", "last", "rows"]
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

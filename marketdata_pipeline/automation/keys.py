"""Asset keys of a series: `[<exchange>, <market_slug>, <data>_<timeframe>]`, shared by every
data type, so schedules, sensors and the CLI name assets without importing their factories;
and the tag that names the series of a run."""

from __future__ import annotations

from dagster import AssetKey

from ..config import Series

SERIES_TAG = "marketdata/series"


def series_key(series: Series, data: str) -> AssetKey:
    return AssetKey([series.exchange, series.market_slug, f"{data}_{series.timeframe.name}"])


def candles_key(series: Series) -> AssetKey:
    return series_key(series, "candles")


def indicators_key(series: Series) -> AssetKey:
    return series_key(series, "indicators")


def market_key(series: Series, data: str) -> AssetKey:
    """Data of a whole market, not of a timeframe: trades, order_book, book_metrics, ticker."""
    return AssetKey([series.exchange, series.market_slug, data])


def trades_key(series: Series) -> AssetKey:
    return market_key(series, "trades")


def trade_candles_key(series: Series) -> AssetKey:
    return series_key(series, "trade_candles")


def run_keys(series: Series) -> list[AssetKey]:
    """The assets one run of a series materializes: trades; a book with its metrics; tickers;
    or candles with their indicators, and the candles built from trades of the same partitions
    where the market has trades."""
    if series.data == "trades":
        return [trades_key(series)]
    if series.data == "order_book":
        return [market_key(series, "order_book"), market_key(series, "book_metrics")]
    if series.data == "ticker":
        return [market_key(series, "ticker")]
    built = [trade_candles_key(series)] if series.from_trades else []
    return [candles_key(series), indicators_key(series), *built]


def series_of(run) -> list[str]:
    """The series a run covers: a sync runs series that share partitions together, tagged
    with every name, comma-separated."""
    value = run.tags.get(SERIES_TAG)
    return value.split(",") if value else []

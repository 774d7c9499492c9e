"""Trades at the ccxt boundary: every trade of a time range, by id where the exchange allows.

By id (`quirks.RAW_TRADES`): one time probe finds the range's first id, then pages of ids are
fetched concurrently until a page reaches the range's end. Every page must hold exactly the
ids it was asked for; a hole is refetched, and only a hole the exchange serves twice is
accepted, as a recorded gap. Elsewhere: ccxt's `fetch_trades` by time, each page starting at
the previous page's last millisecond, deduplicated on the trade id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import polars as pl

from ..config import Series
from ..storage.schema import TRADE_SCHEMA
from ..timeframes import from_ms
from .client import ExchangeClient
from .errors import FetchError, MalformedPage
from .quirks import RAW_TRADES, TradeIds


@dataclass
class TradeChunk:
    """Trades fetched in id order; every trade in `covered` = [start, end) is among them."""

    frame: pl.DataFrame
    covered: tuple[int, int]
    gaps: list[tuple[int, int]] = field(default_factory=list)  # confirmed id holes [lo, hi)


def empty_trades() -> pl.DataFrame:
    return pl.DataFrame(schema=TRADE_SCHEMA)


async def trade_chunks(
    client: ExchangeClient, series: Series, lo: int, hi: int, pages_per_chunk: int
) -> AsyncIterator[TradeChunk]:
    """Every trade with lo <= timestamp < hi, in chunks of about `pages_per_chunk` pages."""
    quirk = RAW_TRADES.get(client.connector.id)
    if quirk is None:
        async for chunk in _by_time(client, series, lo, hi):
            yield chunk
        return
    first = await _first_id(client, quirk, series, lo, hi)
    if first is None:
        yield TradeChunk(empty_trades(), (lo, hi))
        return
    async for chunk in _by_id(client, quirk, series, first, lo, hi, pages_per_chunk):
        yield chunk


async def _first_id(
    client: ExchangeClient, quirk: TradeIds, series: Series, lo: int, hi: int
) -> int | None:
    """The id of the first trade at or after `lo`, one time window at a time; None if the
    range has no trade."""
    for start in range(lo, hi, quirk.window_ms):
        end = min(start + quirk.window_ms, hi) - 1
        rows = await _request(
            client,
            quirk,
            series,
            f"first trade from {from_ms(start):%Y-%m-%d %H:%M}",
            {quirk.start: start, quirk.end: end, quirk.limit: 1},
        )
        if rows.height:
            return int(rows["id"][0])
    return None


async def _by_id(
    client: ExchangeClient,
    quirk: TradeIds,
    series: Series,
    first: int,
    lo: int,
    hi: int,
    pages_per_chunk: int,
) -> AsyncIterator[TradeChunk]:
    """Pages of ids from `first`, `page_concurrency` at a time, until one reaches `hi` or holds
    the exchange's newest trade (the range ends now)."""
    size, width = quirk.page, client.connector.page_concurrency
    cursor, start = first, lo
    pages: list[pl.DataFrame] = []
    gaps: list[tuple[int, int]] = []
    done = False
    while not done:
        starts = [cursor + k * size for k in range(width)]
        wave = await asyncio.gather(*(_id_page(client, quirk, series, s, size) for s in starts))
        for page_first, (frame, holes, top) in zip(starts, wave, strict=True):
            last_id = page_first + size - 1
            if top < last_id and (not frame.height or _last_ms(frame) < hi):
                # Short of its last id before the range's end: the exchange's newest trade
                # (later ones happen after the range), or an answer cut short. Only the same
                # answer twice ends the range.
                again = await _id_page(client, quirk, series, page_first, size)
                if again[2] > top:
                    frame, holes, top = again
            if page_first == first and not frame.height:
                raise FetchError(
                    f"{client.connector.id} {series.name}: trade {first} was found by time but"
                    " not by id; the exchange's answers disagree"
                )
            pages.append(frame.filter(pl.col("timestamp").dt.epoch("ms") < hi))
            gaps += holes
            if top < last_id or (frame.height and _last_ms(frame) >= hi):
                done = True
                break
        cursor += width * size
        if done or len(pages) >= pages_per_chunk:
            chunk = pl.concat(pages)
            # Trades sharing the last one's millisecond may follow in the next chunk.
            end = hi if done else _last_ms(chunk)
            yield TradeChunk(chunk, (start, max(start, end)), gaps)
            start, pages, gaps = max(start, end), [], []


async def trades_by_id(
    client: ExchangeClient, series: Series, first: int, end: int
) -> tuple[pl.DataFrame, list[tuple[int, int]], int]:
    """Trades with first <= id < end by id (a stream's hole), `page_concurrency` pages at a
    time; with the holes the exchange served twice, and the highest id it has served (below
    end - 1: the rest does not exist yet, so the hole is not closed)."""
    quirk = RAW_TRADES[client.connector.id]
    size, width = quirk.page, client.connector.page_concurrency
    frames, gaps, top, cursor = [], [], first - 1, first
    while cursor < end and top == cursor - 1:
        starts = range(cursor, min(end, cursor + width * size), size)
        wave = await asyncio.gather(
            *(_id_page(client, quirk, series, s, min(size, end - s)) for s in starts)
        )
        for frame, holes, page_top in wave:
            frames.append(frame)
            gaps += holes
            top = max(top, page_top)
        cursor = starts[-1] + min(size, end - starts[-1])
    frame = pl.concat(frames).filter(pl.col("id") < end) if frames else empty_trades()
    return frame.sort("id"), [(lo, min(hi, end)) for lo, hi in gaps if lo < end], min(top, end - 1)


async def _id_page(
    client: ExchangeClient, quirk: TradeIds, series: Series, first: int, size: int
) -> tuple[pl.DataFrame, list[tuple[int, int]], int]:
    """Trades first..first+size-1, the holes among them the exchange served twice, and the
    highest id served (below first+size-1: the page holds the exchange's newest trade)."""
    what = f"trades of {series.symbol} from id {first}"
    params = {quirk.from_id: first, quirk.limit: size}
    raw = await _request(client, quirk, series, what, params)
    frame, holes = _ids_from(raw, first, size)
    top = int(raw["id"].max()) if raw.height else first - 1
    if not holes or not quirk.contiguous:
        return frame, [], top
    again, _ = _ids_from(await _request(client, quirk, series, what, params), first, size)
    merged = pl.concat([frame, again]).unique("id", keep="first").sort("id")
    return merged, _holes(merged["id"].to_list(), first, first + size, raw), top


def _ids_from(
    raw: pl.DataFrame, first: int, size: int
) -> tuple[pl.DataFrame, list[tuple[int, int]]]:
    """The rows with ids first..first+size-1, and the id ranges [lo, hi) missing among them."""
    frame = raw.filter(pl.col("id").is_between(first, first + size - 1))
    return frame, _holes(frame["id"].to_list(), first, first + size, raw)


def _holes(ids: list[int], first: int, end: int, raw: pl.DataFrame) -> list[tuple[int, int]]:
    """Missing ids below `end` up to the last id served (later ids may not exist yet)."""
    upto = min(end, int(raw["id"].max()) + 1) if raw.height else first
    holes, expected = [], first
    for i in [*ids, upto]:
        if i > expected:
            holes.append((expected, i))
        expected = max(expected, i + 1)
    return holes


async def _request(
    client: ExchangeClient, quirk: TradeIds, series: Series, what: str, params: dict
) -> pl.DataFrame:
    exchange = client.exchange
    request = {quirk.symbol: exchange.market_id(series.symbol), **params}

    async def fetch() -> pl.DataFrame:
        return parse_raw_trades(await getattr(exchange, quirk.method)(request), quirk)

    return await client.call(f"{series.name} {what}", fetch)


def parse_raw_trades(rows, quirk: TradeIds) -> pl.DataFrame:
    """The exchange's own rows as TRADE_SCHEMA, sorted by id; anything else is malformed."""
    if not isinstance(rows, list):
        raise MalformedPage(f"trades answer is a {type(rows).__name__}, not a list")
    if not rows:
        return empty_trades()
    try:
        raw = pl.from_dicts(rows, infer_schema_length=None)
        frame = raw.select(
            pl.col(quirk.fields["timestamp"])
            .cast(pl.Int64)
            .cast(pl.Datetime("ms", "UTC"))
            .alias("timestamp"),
            pl.col(quirk.fields["id"]).cast(pl.Int64).alias("id"),
            pl.col(quirk.fields["price"]).cast(pl.Float64).alias("price"),
            pl.col(quirk.fields["amount"]).cast(pl.Float64).alias("amount"),
            pl.lit(None, pl.Float64).alias("cost"),
            pl.when(pl.col(quirk.buyer_maker))
            .then(pl.lit("sell"))
            .otherwise(pl.lit("buy"))
            .alias("side"),
            *(
                pl.col(quirk.fields[c]).cast(pl.Int64).alias(c)
                if c in quirk.fields
                else pl.lit(None, pl.Int64).alias(c)
                for c in ("first_trade_id", "last_trade_id")
            ),
        )
    except (pl.exceptions.PolarsError, KeyError, TypeError) as e:
        raise MalformedPage(f"trades answer has unreadable rows: {e}") from None
    frame = frame.with_columns(cost=pl.col("price") * pl.col("amount"))
    if (
        frame.null_count()
        .select(pl.exclude("first_trade_id", "last_trade_id", "cost"))
        .sum_horizontal()[0]
    ):
        raise MalformedPage("trades answer has rows with missing fields")
    return frame.sort("id")


async def _by_time(
    client: ExchangeClient, series: Series, lo: int, hi: int
) -> AsyncIterator[TradeChunk]:
    """ccxt's unified trades by time: each page starts at the last page's last millisecond."""
    exchange, cursor = client.exchange, lo
    pages: list[pl.DataFrame] = []
    while cursor < hi:
        what = f"{series.name} trades from {from_ms(cursor):%Y-%m-%d %H:%M:%S}"

        async def fetch(since: int = cursor) -> list:
            return await exchange.fetch_trades(series.symbol, since=since, limit=client.page_size)

        rows = await client.call(what, fetch)
        page = unified_trades(rows).filter(pl.col("timestamp").dt.epoch("ms") < hi)
        if not page.height:
            break
        last = _last_ms(page)
        if last == cursor and page.height >= client.page_size:
            raise FetchError(
                f"{client.connector.id} {what}: one millisecond holds more trades than a page;"
                " this exchange cannot be paged by time here"
            )
        pages.append(page)
        cursor = last if last > cursor else cursor + 1
    frame = pl.concat(pages).unique("id", keep="first") if pages else empty_trades()
    yield TradeChunk(frame.sort("timestamp", "id"), (lo, hi))


def unified_trades(trades: list[dict]) -> pl.DataFrame:
    """ccxt's trade structures as TRADE_SCHEMA; numeric ids become integers."""
    if not trades:
        return empty_trades()
    frame = pl.DataFrame(
        {
            "timestamp": [t["timestamp"] for t in trades],
            "id": [int(t["id"]) for t in trades],
            "price": [t["price"] for t in trades],
            "amount": [t["amount"] for t in trades],
            "cost": [t.get("cost") for t in trades],
            "side": [t.get("side") for t in trades],
        }
    )
    return frame.with_columns(
        pl.col("timestamp").cast(pl.Datetime("ms", "UTC")),
        first_trade_id=pl.lit(None, pl.Int64),
        last_trade_id=pl.lit(None, pl.Int64),
    ).cast(TRADE_SCHEMA)


def _last_ms(frame: pl.DataFrame) -> int:
    return int(frame["timestamp"].dt.epoch("ms").max())

"""Book metrics against numbers worked out by hand, and against a plain-Python reference."""

import math
import random

import polars as pl
import pytest

from marketdata_pipeline.books.layout import snapshot_rows
from marketdata_pipeline.books.metrics import METRIC_COLUMNS, book_metrics

DEPTH = 6
# Mid 1000: the 10/50/100 bps bands reach 1, 5 and 10 away, and 995, 990, 1005 and 1010 sit
# exactly on an edge (inside). 989 and 1011 are outside every band.
FULL = {
    "bids": [[999, 2], [998, 1], [995, 4], [994, 1], [990, 2], [989, 5]],
    "asks": [[1001, 1], [1003, 2], [1005, 1], [1006, 3], [1010, 2], [1011, 4]],
}
BIDS_ONLY = {"bids": [[999, 2], [998, 1]], "asks": []}
SHALLOW = {"bids": [[100, 1]], "asks": [[101, 3], [102, 1]]}  # 1 and 2 levels of 6
EMPTY = {"bids": [], "asks": []}


def metrics(*books: dict, depth: int = DEPTH) -> list[dict]:
    frame = snapshot_rows([{"timestamp": None, "nonce": None, **b} for b in books], DEPTH, 0)
    return book_metrics(frame, depth).drop("timestamp", "local_timestamp").rows(named=True)


def test_a_full_book_matches_the_hand_computed_metrics_band_edges_included():
    assert metrics(FULL) == [
        {
            "mid": 1000.0,
            "spread": 2.0,
            "spread_bps": 20.0,
            "microprice": (999 * 1 + 1001 * 2) / 3,  # leans to the thin ask side
            "imbalance_1": (2 - 1) / (2 + 1),
            "imbalance_5": (10 - 9) / (10 + 9),
            "imbalance_n": (15 - 13) / (15 + 13),
            "bid_depth_10bps_base": 2.0,
            "bid_depth_10bps_quote": 1998.0,
            "ask_depth_10bps_base": 1.0,
            "ask_depth_10bps_quote": 1001.0,
            "bid_depth_50bps_base": 2.0 + 1 + 4,
            "bid_depth_50bps_quote": 1998.0 + 998 + 3980,
            "ask_depth_50bps_base": 1.0 + 2 + 1,
            "ask_depth_50bps_quote": 1001.0 + 2006 + 1005,
            "bid_depth_100bps_base": 7.0 + 1 + 2,
            "bid_depth_100bps_quote": 6976.0 + 994 + 1980,
            "ask_depth_100bps_base": 4.0 + 3 + 2,
            "ask_depth_100bps_quote": 4012.0 + 3018 + 2020,
        }
    ]


def test_a_one_sided_book_has_no_mid_and_leans_fully_to_its_side():
    (row,) = metrics(BIDS_ONLY)
    assert {k: row[k] for k in ("imbalance_1", "imbalance_5", "imbalance_n")} == dict.fromkeys(
        ("imbalance_1", "imbalance_5", "imbalance_n"), 1.0
    )
    assert {k for k, v in row.items() if v is None} == set(METRIC_COLUMNS[2:6]) | {
        c for c in METRIC_COLUMNS if "depth" in c
    }


def test_an_empty_book_gives_nulls_only():
    assert set(metrics(EMPTY)[0].values()) == {None}


def test_fewer_levels_than_depth_count_what_is_there():
    assert metrics(SHALLOW) == [
        {
            "mid": 100.5,
            "spread": 1.0,
            "spread_bps": 1 / 100.5 * 10_000,
            "microprice": (100 * 3 + 101 * 1) / 4,
            "imbalance_1": (1 - 3) / 4,
            "imbalance_5": (1 - 4) / 5,
            "imbalance_n": (1 - 4) / 5,
            # 10 bps of 100.5 is 0.1005: neither 100 nor 101 is that close.
            "bid_depth_10bps_base": 0.0,
            "bid_depth_10bps_quote": 0.0,
            "ask_depth_10bps_base": 0.0,
            "ask_depth_10bps_quote": 0.0,
            "bid_depth_50bps_base": 1.0,
            "bid_depth_50bps_quote": 100.0,
            "ask_depth_50bps_base": 3.0,  # 101 <= 101.0025 < 102
            "ask_depth_50bps_quote": 303.0,
            "bid_depth_100bps_base": 1.0,
            "bid_depth_100bps_quote": 100.0,
            "ask_depth_100bps_base": 3.0,  # 102 > 101.505
            "ask_depth_100bps_quote": 303.0,
        }
    ]


def test_nan_levels_count_as_missing_and_a_smaller_depth_uses_fewer_levels():
    frame = snapshot_rows([{"timestamp": 5, "nonce": 1, **SHALLOW}], DEPTH, 0)
    with_nan = frame.with_columns(pl.col(pl.Float64).fill_null(float("nan")))
    assert book_metrics(with_nan, DEPTH).equals(book_metrics(frame, DEPTH))
    (row,) = metrics(FULL, depth=1)
    assert row["imbalance_1"] == row["imbalance_5"] == row["imbalance_n"] == 1 / 3
    assert row["bid_depth_100bps_base"] == 2.0


def reference(book: dict, depth: int) -> dict:
    """The metrics of one ccxt-shaped book, written out plainly."""
    bids, asks = book["bids"][:depth], book["asks"][:depth]

    def imbalance(k: int):
        b, a = sum(x for _, x in bids[:k]), sum(x for _, x in asks[:k])
        return (b - a) / (b + a) if b + a > 0 else None

    out = {
        "imbalance_1": imbalance(1),
        "imbalance_5": imbalance(5),
        "imbalance_n": imbalance(depth),
    }
    mid = (bids[0][0] + asks[0][0]) / 2 if bids and asks else None
    out |= {
        "mid": mid,
        "spread": asks[0][0] - bids[0][0] if mid else None,
        "spread_bps": (asks[0][0] - bids[0][0]) / mid * 1e4 if mid else None,
        "microprice": (bids[0][0] * asks[0][1] + asks[0][0] * bids[0][1])
        / (bids[0][1] + asks[0][1])
        if mid
        else None,
    }
    for bps in (10, 50, 100):
        for side, levels in (("bid", bids), ("ask", asks)):
            inside = [
                (p, x)
                for p, x in levels
                if mid
                and (p >= mid - mid * bps / 1e4 if side == "bid" else p <= mid + mid * bps / 1e4)
            ]
            name = f"{side}_depth_{bps}bps"
            out[f"{name}_base"] = sum(x for _, x in inside) if mid else None
            out[f"{name}_quote"] = sum(p * x for p, x in inside) if mid else None
    return out


def random_book(rng: random.Random) -> dict:
    mid = rng.uniform(10, 1000)
    tick = mid * 2e-4
    sides = {}
    for side, sign in (("bids", -1), ("asks", 1)):
        levels = rng.choice([0, 1, 3, 8, 12])
        price = mid + sign * tick * rng.randint(1, 3)
        sides[side] = []
        for _ in range(levels):
            sides[side].append([price, rng.uniform(0.001, 5)])
            price += sign * tick * rng.randint(1, 4)
    return {"timestamp": None, "nonce": None, **sides}


def test_random_books_agree_with_the_plain_reference():
    rng = random.Random(7)
    books = [random_book(rng) for _ in range(300)]
    got = book_metrics(snapshot_rows(books, 10, 0), 10).rows(named=True)
    for book, row in zip(books, got, strict=True):
        want = reference(book, 10)
        for column, expected in want.items():
            if expected is None:
                assert row[column] is None, column
            else:
                assert row[column] == pytest.approx(expected, rel=1e-12, abs=1e-9), column
    assert any(math.isclose(r["imbalance_1"] or 0, 1.0) for r in got)  # one-sided books drawn

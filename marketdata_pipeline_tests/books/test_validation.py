"""Each rule over books and tickers flags exactly the crafted offender, named by its time."""

import polars as pl
import pytest

from marketdata_pipeline.books.layout import TICKER_SCHEMA, snapshot_rows
from marketdata_pipeline.books.validation import book_findings, cadence_finding, ticker_findings
from marketdata_pipeline.timeframes import iso

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
GOOD = {"bids": [[100.0, 1.0], [99.0, 2.0]], "asks": [[101.0, 1.0], [102.0, 3.0]]}


def snapshots(*books: dict, ids: list[int] | None = None) -> pl.DataFrame:
    """One snapshot per book, 10 s apart, update ids 1, 2, 3... unless given."""
    ids = ids or list(range(1, len(books) + 1))
    rows = [{"timestamp": None, "nonce": i, **b} for b, i in zip(books, ids, strict=True)]
    return snapshot_rows(rows, 2, [T0 + 10_000 * k for k in range(len(books))])


def violations(frame: pl.DataFrame) -> dict[str, tuple[int, list[str]]]:
    return {f.rule: (f.violations, f.first_offenders) for f in book_findings(frame, 2)}


def offending(rule: str, bad: dict, ids: list[int] | None = None):
    """`bad` as the second of three snapshots: only `rule` fails, naming its receive time."""
    found = violations(snapshots(GOOD, bad, GOOD, ids=ids))
    assert {r: v for r, v in found.items() if v[0]} == {rule: (1, [iso(T0 + 10_000)])}


def test_good_books_pass_every_rule():
    found = violations(snapshots(GOOD, GOOD | {"asks": [[101.0, 1.0]]}, ids=[5, 5 + 1]))
    assert set(found) == {
        "crossed",
        "bid_out_of_order",
        "ask_out_of_order",
        "level_gap",
        "amount_not_positive",
        "update_id_out_of_order",
        "update_id_reused",
    }
    assert {v for v, _ in found.values()} == {0}


@pytest.mark.parametrize(
    ("rule", "bad"),
    [
        ("crossed", {"bids": [[101.0, 1.0]], "asks": [[101.0, 1.0]]}),  # touching is crossed
        ("bid_out_of_order", {"bids": [[100.0, 1.0], [100.0, 2.0]], "asks": GOOD["asks"]}),
        ("ask_out_of_order", {"bids": GOOD["bids"], "asks": [[101.0, 1.0], [100.5, 2.0]]}),
        ("amount_not_positive", {"bids": [[100.0, 1.0], [99.0, 0.0]], "asks": GOOD["asks"]}),
        ("amount_not_positive", {"bids": GOOD["bids"], "asks": [[101.0, None]]}),
    ],
)
def test_each_book_rule_flags_its_offender(rule, bad):
    offending(rule, bad)


def test_a_present_level_below_a_missing_one_is_a_gap():
    frame = snapshots(GOOD, GOOD, GOOD).with_columns(
        pl.when(pl.col("update_id") == 2)
        .then(None)
        .otherwise(pl.col("ask_price_0"))
        .alias("ask_price_0")
    )
    found = violations(frame)
    assert found["level_gap"] == (1, [iso(T0 + 10_000)])
    assert found["crossed"][0] == found["ask_out_of_order"][0] == 0


def test_update_ids_may_repeat_for_the_same_book_but_never_go_back():
    offending("update_id_out_of_order", GOOD, ids=[5, 4, 6])
    assert violations(snapshots(GOOD, GOOD, ids=[5, 5]))["update_id_reused"][0] == 0
    offending("update_id_reused", GOOD | {"bids": [[100.0, 1.5]]}, ids=[5, 5, 6])


def test_one_sided_and_empty_books_break_no_rule():
    found = violations(snapshots({"bids": [], "asks": []}, {"bids": GOOD["bids"], "asks": []}))
    assert {v for v, _ in found.values()} == {0}


def test_cadence_scores_the_share_of_slots_with_a_snapshot_and_names_the_empty_runs():
    # Ten whole 10 s slots in [T0, T0 + 105 s); slots 2 and 4..6 are empty.
    offsets = [0, 19_999, 30_000, 70_000, 75_000, 80_000, 99_999]
    outside = [-1, 104_000]  # before the window, in the unfinished last slot
    stamps = pl.Series([T0 + o for o in offsets + outside]).cast(pl.Datetime("ms", "UTC"))
    found = cadence_finding(stamps, T0, T0 + 105_000, 10)
    assert (found.rule, found.rows_checked, found.violations) == ("cadence", 10, 4)
    assert found.completeness == 0.6
    assert found.first_offenders == [
        iso(T0 + 20_000),
        f"{iso(T0 + 40_000)}..{iso(T0 + 60_000)} (3 slots)",
    ]
    assert cadence_finding(stamps.dt.epoch("ms"), T0, T0 + 105_000, 10) == found


def test_cadence_of_nothing_collected_and_of_no_whole_slot():
    none = cadence_finding(pl.Series([], dtype=pl.Int64), T0, T0 + 60_000, 10)
    assert (none.completeness, none.first_offenders) == (
        0.0,
        [f"{iso(T0)}..{iso(T0 + 50_000)} (6 slots)"],
    )
    assert cadence_finding(pl.Series([T0]), T0, T0 + 9_999, 10).completeness == 1.0


def tickers(rows: list[dict]) -> pl.DataFrame:
    filled = [
        dict.fromkeys(TICKER_SCHEMA) | {"local_timestamp": T0 + 1000 * k} | r
        for k, r in enumerate(rows)
    ]
    schema = {**TICKER_SCHEMA, "local_timestamp": pl.Int64}
    return pl.DataFrame(filled, schema=schema).cast(TICKER_SCHEMA)


def test_ticker_rules_flag_a_bid_above_the_ask_and_a_price_at_zero():
    frame = tickers(
        [
            {"bid": 10.0, "ask": 10.0, "last": 10.0, "high": 11.0},
            {"bid": 10.5, "ask": 10.4, "last": 10.0},
            {"bid": 10.0, "ask": 10.1, "low": 0.0},
            {"last": 10.0},  # a ticker without bid or ask passes
        ]
    )
    found = {f.rule: (f.violations, f.first_offenders) for f in ticker_findings(frame)}
    assert found == {
        "bid_above_ask": (1, [iso(T0 + 1000)]),
        "price_not_positive": (1, [iso(T0 + 2000)]),
    }

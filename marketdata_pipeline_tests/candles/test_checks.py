"""Asset checks on real materializations: the right check fails with the right counts."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from marketdata_pipeline.simulator import Faults
from marketdata_pipeline.storage.schema import CANDLE_SCHEMA

from ..conftest import day_key, day_ms, market

MINUTE = 60_000


def checks_of(result) -> dict[str, tuple[bool, str, dict]]:
    """Check name -> (passed, severity, metadata values) for every evaluation of a run."""
    out = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            metadata = {k: v.value for k, v in data.metadata.items()}
            out[f"{data.asset_key.path[-1]}.{data.check_name}"] = (
                data.passed,
                data.severity.value,
                metadata,
            )
    return out


def indicators_ran(result) -> bool:
    return any(
        e.is_step_materialization
        and e.step_materialization_data.materialization.asset_key.path[-1].startswith("indicators")
        for e in result.all_events
    )


def test_clean_partition_passes_every_check_with_full_scores(make_project):
    project = make_project()
    checks = checks_of(project.materialize(project.series(), day_key(2)))
    assert {name: passed for name, (passed, _, _) in checks.items()} == {
        "candles_1m.structure": True,
        "candles_1m.exchange_anomalies": True,
        "indicators_1m.indicator_values": True,
    }
    anomalies = checks["candles_1m.exchange_anomalies"][2]
    assert anomalies["rows_checked"] == 1440
    assert anomalies["completeness_pct"] == 100.0 and anomalies["validity_pct"] == 100.0


def test_exchange_outage_is_reported_as_such_with_the_missing_count(make_project, simulator):
    project = make_project([market("BTC/USDT"), market("ETH/USDT")])
    outage = (day_ms(2) + 600 * MINUTE, day_ms(2) + 700 * MINUTE)
    simulator.set_faults(Faults(maintenance=(outage,)))
    project.materialize(project.series("ETH/USDT"), day_key(2))
    passed, severity, metadata = checks_of(project.materialize(project.series(), day_key(2)))[
        "candles_1m.exchange_anomalies"
    ]
    assert (passed, severity) == (False, "ERROR")  # 100 of 1440 missing: over the 1% threshold
    assert metadata["violations_gaps"] == 100
    assert metadata["completeness_pct"] == pytest.approx(100 * 1340 / 1440)
    assert "10:00:00+00:00 to" in metadata["exchange_outages"] and metadata["market_gaps"] == "none"


def test_a_single_markets_gap_is_a_market_gap(make_project, simulator):
    project = make_project([market("BTC/USDT"), market("ETH/USDT")])
    project.materialize(project.series("ETH/USDT"), day_key(2))
    project.materialize(project.series(), day_key(2))
    hole = (
        pd.Timestamp(day_ms(2) + 60 * MINUTE, unit="ms", tz="UTC"),
        pd.Timestamp(day_ms(2) + 62 * MINUTE, unit="ms", tz="UTC"),
    )
    project.store.library().delete_data_in_range("binance/btc_usdt/1m", hole)  # lost by one market
    passed, severity, metadata = checks_of(project.materialize(project.series(), day_key(2)))[
        "candles_1m.exchange_anomalies"
    ]
    assert (passed, severity, metadata["violations_gaps"]) == (False, "WARN", 3)
    assert "01:00:00+00:00 to" in metadata["market_gaps"] and metadata["exchange_outages"] == "none"


def test_invalid_candles_fail_ohlc_consistency_with_exact_counts(make_project, simulator):
    project = make_project()
    bad = (day_ms(2) + 100 * MINUTE, day_ms(2) + 130 * MINUTE)
    simulator.set_faults(Faults(bad_candles=(bad,)))
    result = project.materialize(project.series(), day_key(2))
    passed, severity, metadata = checks_of(result)["candles_1m.exchange_anomalies"]
    assert (passed, severity) == (False, "ERROR")  # 30 of 1440 is over 1%
    assert metadata["violations_ohlc_consistent"] == 30
    assert metadata["validity_pct"] == pytest.approx(100 * 1410 / 1440)
    assert "ohlc_consistent: " + day_key(2) + "T01:40:00+00:00" in metadata["first_offenders"]
    stored = project.store.read(project.series())
    assert (stored["high"] < stored["low"]).sum() == 30  # kept as the exchange served them
    assert indicators_ran(result)  # anomalies warn; they do not block


def test_broken_structure_blocks_the_indicators(make_project):
    project = make_project()
    series = project.series()
    project.materialize(series, day_key(2))
    misaligned = pl.DataFrame(
        {
            "open_time": [day_ms(2) + 30 * MINUTE + 7_000],
            **{c: [1.0] for c in ("open", "high", "low", "close", "volume", "quote_volume")},
            "trades": [1],
        }
    ).cast(CANDLE_SCHEMA)
    project.store.write(series, misaligned, day_ms(2), day_ms(1))
    result = project.materialize(series, day_key(2), raise_on_error=False)
    passed, severity, metadata = checks_of(result)["candles_1m.structure"]
    assert (passed, severity, metadata["violations_grid_aligned"]) == (False, "ERROR", 1)
    assert not indicators_ran(result)

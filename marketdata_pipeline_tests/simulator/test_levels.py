import numpy as np
import pytest

from marketdata_pipeline.simulator.levels import HIGH, LOW, level_units
from marketdata_pipeline.simulator.market import minute_levels
from marketdata_pipeline.simulator.symbols import MarketSpec, make_specs
from marketdata_pipeline.simulator.trades import agg_counts

from .conftest import MINUTE, NOW_MS

SPECS = [*make_specs(trades_per_minute=12).values(), *make_specs().values()]  # sparsest, default
START = NOW_MS // MINUTE - 40_000


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.market_id}-{s.trades_per_minute}")
def test_buckets_hold_whole_trades_and_units_that_sum_exactly(spec: MarketSpec) -> None:
    levels = minute_levels(spec, START, START + 5_000)
    assert np.array_equal(levels.trades.sum(axis=(0, 1)), levels.raw)
    assert levels.trades.min() >= 1 and np.all(levels.units >= levels.trades)
    assert np.all(levels.trades % 1 == 0) and np.all(levels.units % 1 == 0)
    aggs = agg_counts(levels)
    assert np.array_equal(aggs.sum(axis=0), levels.agg)
    assert aggs.min() >= 1 and np.all(aggs <= levels.trades.reshape(12, -1))
    assert np.all((levels.price[LOW] <= levels.price) & (levels.price <= levels.price[HIGH]))


def test_level_units_make_every_quote_amount_a_whole_number_of_1e8() -> None:
    prices = np.arange(1, 5_000, dtype=np.int64)
    for spec in make_specs().values():
        quote_1e8 = prices * level_units(spec, prices) * 10**8
        assert np.all(quote_1e8 % spec.quote_units == 0), spec.symbol
        assert level_units(spec, prices).max() == spec.quote_step

import numpy as np

from marketdata_pipeline.simulator.levels import level_units, split
from marketdata_pipeline.simulator.symbols import make_specs


def test_split_is_exact_and_never_negative() -> None:
    rng = np.random.default_rng(3)
    fraction = rng.random((6, 2, 500)) + 1e-3
    fraction /= fraction.sum(axis=(0, 1))
    total = rng.integers(0, 10**9, 500)
    total[:3] = [0, 1, 11]
    parts = split(total, fraction)
    assert np.array_equal(parts.sum(axis=(0, 1)), total) and parts.min() >= 0


def test_level_units_make_every_quote_amount_a_whole_number_of_1e8() -> None:
    prices = np.arange(1, 5_000, dtype=np.int64)
    for spec in make_specs().values():
        quote_1e8 = prices * level_units(spec, prices) * 10**8
        assert np.all(quote_1e8 % spec.quote_units == 0), spec.symbol
        assert level_units(spec, prices).max() == spec.quote_step

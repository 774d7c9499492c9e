import numpy as np
import pytest

from marketdata_pipeline.simulator.symbols import make_specs
from marketdata_pipeline.simulator.trade_ids import AGG, RAW, first_ids, minute_counts, minute_of

from .conftest import MINUTE, NOW_MS

SPEC = make_specs()["BNBUSDT"]
LISTING = SPEC.listing_ms // MINUTE
NOW_MINUTE = NOW_MS // MINUTE


def test_ids_start_at_zero_on_listing() -> None:
    assert first_ids(SPEC, LISTING - 5) == first_ids(SPEC, LISTING) == (0, 0)
    raw, agg = minute_counts(SPEC, np.array([LISTING]))
    assert first_ids(SPEC, LISTING + 1) == (int(raw[0]), int(agg[0]))
    assert minute_of(SPEC, AGG, 0, NOW_MINUTE) == LISTING
    assert minute_of(SPEC, AGG, 0, LISTING - 1) is None


@pytest.mark.parametrize("day_offset", [0, 1, 2])
def test_prefix_sums_match_counts_across_days_and_cache_blocks(day_offset: int) -> None:
    block_start = NOW_MINUTE // 1_440 // 32 * 32 * 1_440  # a 32-day block of cached day totals
    minutes = np.arange(block_start - 3 + day_offset * 1_440, block_start + 3 + day_offset * 1_440)
    starts = np.array([first_ids(SPEC, int(m)) for m in [*minutes, minutes[-1] + 1]])
    raw, agg = minute_counts(SPEC, minutes)
    assert np.array_equal(np.diff(starts[:, RAW]), raw)
    assert np.array_equal(np.diff(starts[:, AGG]), agg)


def test_minute_of_inverts_first_ids() -> None:
    rng = np.random.default_rng(7)
    for minute in rng.integers(LISTING, NOW_MINUTE, 40).tolist():
        for kind in (RAW, AGG):
            first, after = first_ids(SPEC, minute)[kind], first_ids(SPEC, minute + 1)[kind]
            assert minute_of(SPEC, kind, first, NOW_MINUTE) == minute
            assert minute_of(SPEC, kind, after - 1, NOW_MINUTE) == minute
    beyond = first_ids(SPEC, NOW_MINUTE + 1)[AGG]
    assert minute_of(SPEC, AGG, beyond - 1, NOW_MINUTE) == NOW_MINUTE
    assert minute_of(SPEC, AGG, beyond, NOW_MINUTE) is None

import numpy as np

from marketdata_pipeline.simulator.noise import uniform, value_noise


def test_uniform_is_counter_based() -> None:
    whole = uniform(7, 1, np.arange(1_000, 2_000))
    part = uniform(7, 1, np.arange(1_500, 1_600))
    assert np.array_equal(whole[500:600], part)
    assert whole.min() >= 0.0 and whole.max() < 1.0
    assert abs(whole.mean() - 0.5) < 0.05


def test_channels_and_seeds_are_independent() -> None:
    index = np.arange(10_000)
    a, b, c = uniform(7, 1, index), uniform(7, 2, index), uniform(8, 1, index)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.05
    assert abs(np.corrcoef(a, c)[0, 1]) < 0.05


def test_value_noise_is_smooth_and_window_independent() -> None:
    index = np.arange(50_000, 60_000)
    noise = value_noise(3, 100, index, 1_440)
    assert np.abs(noise).max() <= 1.0
    assert np.abs(np.diff(noise)).max() < 3.0 / 1_440
    assert np.array_equal(noise[123:456], value_noise(3, 100, index[123:456], 1_440))

"""Counters and heartbeats: what long-lived processes report through the shared backend."""

import multiprocessing

from marketdata_pipeline.coordination import coordination_from


def _count(spec, times):
    backend = coordination_from(spec)
    for _ in range(times):
        backend.add_counts([("rows_written", {"data": "candles"}, 2.0)])


def test_counters_merge_add_across_processes(spec, backend):
    backend.add_counts(
        [
            ("requests", {"exchange": "binance", "status": "200"}, 3),
            ("requests", {"status": "429", "exchange": "binance"}, 1),
        ]
    )
    backend.add_counts([("requests", {"status": "200", "exchange": "binance"}, 4)])
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_count, args=(spec, 25)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    assert backend.counts() == [
        ("requests", {"exchange": "binance", "status": "200"}, 7.0),
        ("requests", {"exchange": "binance", "status": "429"}, 1.0),
        ("rows_written", {"data": "candles"}, 150.0),
    ]


def test_the_newest_beat_of_each_name_wins(backend):
    backend.beat("stream binance", {"connected": False})
    backend.beat("api", {"port": 8000})
    backend.beat("stream binance", {"connected": True, "lag_seconds": 0.5})
    beats = backend.beats()
    assert [(b.name, b.payload) for b in beats] == [
        ("api", {"port": 8000}),
        ("stream binance", {"connected": True, "lag_seconds": 0.5}),
    ]
    assert all(0 <= b.age_seconds < 60 for b in beats)
    backend.ping()

"""The coordination backends side by side: embedded (SQLite budget, fcntl locks) vs Postgres
(a server started here from the system's binaries, like the tests do), in the same run.

Printed per backend, from 1 and from 8 processes:
- budget grants per second (takes that always fit);
- series lock acquire+release per second (each process its own series);
- the share of a budget that a 4-process backfill achieves: each process keeps 4 requests in
  flight (20 ms each), every one taking 2 weight first, against 400 weight per 10 s; counted
  once the first window has passed (a rolling window starts empty). The margin added to the
  window (0.5 s) caps it at 10 / 10.5 = 0.95; aim >= 0.9.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from marketdata_pipeline.coordination import coordination_from, embedded
from marketdata_pipeline_tests.services import PostgresServer, postgres_bin

SECONDS = 3.0
BACKFILL = {"weight": 400, "period": 10.0, "seconds": 31.5, "latency": 0.02, "in_flight": 4}


def _grants(spec, index, out):
    budget = coordination_from(spec).budget(f"bench{index}", 10**9, 1.0)
    count, end = 0, time.monotonic() + SECONDS
    while time.monotonic() < end:
        budget.try_take(1)
        count += 1
    out.put(count)


def _locks(spec, index, out):
    backend = coordination_from(spec)
    count, end = 0, time.monotonic() + SECONDS
    while time.monotonic() < end:
        with backend.series_lock(f"bench/series{index}/1m"):
            count += 1
    out.put(count)


def _backfill(spec, index, out):
    b = BACKFILL
    budget = coordination_from(spec).budget("backfill", b["weight"], b["period"])
    began = time.time()
    granted: list[float] = []

    async def requests():
        while time.time() - began < b["seconds"]:
            await budget.acquire(2)
            granted.append(time.time())
            await asyncio.sleep(b["latency"])

    async def run():
        await asyncio.gather(*(requests() for _ in range(b["in_flight"])))

    asyncio.run(run())
    out.put(granted)


def in_processes(target, spec, processes: int) -> list:
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    workers = [spawn.Process(target=target, args=(spec, i, out)) for i in range(processes)]
    for w in workers:
        w.start()
    results = [out.get(timeout=300) for _ in workers]
    for w in workers:
        w.join()
    return results


def backfill_share(spec) -> float:
    b = BACKFILL
    grants = sorted(t for times in in_processes(_backfill, spec, 4) for t in times)
    start = grants[0] + b["period"] + 0.5  # after the first (bursting) window
    end = grants[0] + b["seconds"]
    weight = 2 * sum(1 for t in grants if start <= t < end)
    return weight / (b["weight"] * (end - start) / b["period"])


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="marketdata-bench-"))
    bin_dir = postgres_bin()
    if bin_dir is None:
        sys.exit("PostgreSQL binaries not found: apt-get install postgresql")
    server = PostgresServer(bin_dir)
    server.start()
    try:
        backends = {
            "embedded": lambda: embedded(folder / f"e{time.monotonic_ns()}"),
            "postgres": lambda: {"data_dir": "unused", "url": server.new_database()},
        }
        print(
            f"{'':10} {'grants/s 1p':>12} {'grants/s 8p':>12} {'locks/s 1p':>11}"
            f" {'locks/s 8p':>11} {'backfill share':>15}"
        )
        for name, fresh in backends.items():
            row = []
            for target in (_grants, _locks):
                for processes in (1, 8):
                    counts = in_processes(target, fresh(), processes)
                    row.append(sum(counts) / SECONDS)
            share = backfill_share(fresh())
            print(
                f"{name:10} {row[0]:12.0f} {row[1]:12.0f} {row[2]:11.0f} {row[3]:11.0f}"
                f" {share:15.2f}"
            )
    finally:
        server.remove()


if __name__ == "__main__":
    main()

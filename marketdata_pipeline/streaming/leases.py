"""Each collected series is leased to one collector (REST polling or stream) at a time.

A second collector skips a series held elsewhere (and should two ever poll one series, the
store keeps one snapshot a slot: `store_snapshots`). A Postgres lease dies with its connection
(a database restart): the holder notices within `CHECK_SECONDS`, takes it again when it is
free, and stops when another collector took it meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack

from ..config import LoadedConfig, Series
from ..coordination import Hold, LockLost, coordination_for

CHECK_SECONDS = 5.0


class Leases:
    """The leases of `series` this process took, held until `stack` closes; one held elsewhere
    is skipped, saying so."""

    def __init__(
        self,
        stack: ExitStack,
        config: LoadedConfig,
        series: list[Series],
        say: Callable[[str], None],
    ) -> None:
        self.stack, self.say = stack, say
        self.backend = coordination_for(config)
        self.holds: dict[str, Hold] = {}
        self.lost: list[str] = []  # why this process stopped collecting, if it did
        self.waiting = False  # for the database, to take lost leases again (said once)
        self.by_exchange: dict[str, list[Series]] = defaultdict(list)
        for s in series:
            taken = self._take(s.name)
            if isinstance(taken, str):
                say(f"{s.name}: already collected by {taken}; skipped")
            else:
                self.holds[s.name] = taken
                self.by_exchange[s.exchange].append(s)

    def _take(self, name: str) -> Hold | str:
        return self.stack.enter_context(self.backend.lease(f"{name}.collector"))

    def check(self) -> bool:
        """Whether every lease is still this process's (a lost one taken again when free)."""
        for name, hold in self.holds.items():
            try:
                hold.confirm()
                continue
            except LockLost as e:
                lost = e
            try:
                taken = self._take(name)
            except Exception as e:  # the database cannot be reached: collect on, retake later
                if not self.waiting:
                    self.say(
                        f"{name}: {lost}; taking the leases again once the database answers: {e}"
                    )
                self.waiting = True
                return True  # the other leases too (each try could wait for a connect timeout)
            self.waiting = False
            if isinstance(taken, str):
                self.lost.append(
                    f"{name}: {lost}, and {taken} collects it now; stopping (a restart"
                    " collects the series still free)"
                )
                return False
            self.holds[name] = taken
            self.say(f"{name}: {lost}; the lease is taken again")
        return True

    async def keep(self, stop: asyncio.Event) -> None:
        """Check the leases every `CHECK_SECONDS` until `stop`; set `stop` when one is lost."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CHECK_SECONDS)
            if not stop.is_set() and not await asyncio.to_thread(self.check):
                stop.set()  # the caller says why (`lost`)

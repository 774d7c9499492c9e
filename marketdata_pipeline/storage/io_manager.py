"""Hands candles, indicators and derived frames between assets as polars, through ArcticDB.

Candle and indicator steps write ArcticDB themselves (they merge and lock per series), so this
IO manager only loads them for downstream assets: the input's partitions, including any
lookback its partition mapping asks for. Frames returned by downstream assets are stored under
their asset key, replacing the partitions they cover.
"""

import polars as pl
from dagster import ConfigurableIOManager, InputContext, OutputContext

from ..timeframes import to_ms
from .resource import CandleStoreResource
from .schema import DERIVED
from .store import Symbol

IO_MANAGER_KEY = "arctic_io_manager"


class ArcticIOManager(ConfigurableIOManager):
    store: CandleStoreResource

    def load_input(self, context: InputContext) -> pl.DataFrame:
        upstream = context.upstream_output
        metadata = upstream.definition_metadata or {}
        name = metadata.get("series") or "/".join(upstream.asset_key.path)
        library = metadata.get("library", DERIVED)
        start, end = _window(context)
        return self.store.read(Symbol(name), start, end, library)

    def handle_output(self, context: OutputContext, obj: pl.DataFrame | None) -> None:
        if obj is None:
            return
        start, end = _window(context)
        name = "/".join(context.asset_key.path)
        self.store.replace(Symbol(name), obj, start, end, DERIVED)


def _window(context: InputContext | OutputContext) -> tuple[int | None, int | None]:
    if not context.has_asset_partitions:
        return None, None
    window = context.asset_partitions_time_window
    return to_ms(window.start), to_ms(window.end)

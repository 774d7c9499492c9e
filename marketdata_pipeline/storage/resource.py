"""The candle store as a Dagster resource, kept apart so that reading data never imports Dagster."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource

from ..config import LoadedConfig
from .store import CandleStore, store_for


class CandleStoreResource(ConfigurableResource, CandleStore):
    """A CandleStore configured through Dagster: assets and the IO manager get the store itself."""

    uri: str
    coordination: dict[str, Any]


def store_resource(config: LoadedConfig) -> CandleStoreResource:
    """The project's store as the resource of its code location."""
    store = store_for(config)
    return CandleStoreResource(uri=store.uri, coordination=store.coordination)

"""marketdata_pipeline: crypto candles from exchanges (ccxt) into ArcticDB, run by Dagster."""

import warnings

from dagster import BetaWarning

# Single-run backfills rely on `backfill_policy`, still marked beta by Dagster.
warnings.filterwarnings("ignore", category=BetaWarning)

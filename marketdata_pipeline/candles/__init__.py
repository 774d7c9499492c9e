"""Candles: the partitioned candle assets, delta ingest, validation rules and checks."""

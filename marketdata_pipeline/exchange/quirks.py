"""Exchange quirks as data, keyed by ccxt exchange id: no `if exchange == ...` in the code."""

# Where raw kline rows carry quote volume and trade count (indices into the raw row).
RAW_EXTRAS = {"binance": (7, 8), "binanceus": (7, 8)}

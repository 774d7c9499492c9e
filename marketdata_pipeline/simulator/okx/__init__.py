"""OKX v5's public REST API over the shared market model: instruments, time and candles.

``routes`` serves the endpoints and applies OKX's per-endpoint limits, ``candles`` pages
candles the way ``market/candles`` and ``market/history-candles`` do, ``wire`` holds the
envelope, instrument and error formats, ``bars`` the bar names.
"""

"""Binance's WebSocket market streams on the simulator, as ccxt.pro's binance uses them."""

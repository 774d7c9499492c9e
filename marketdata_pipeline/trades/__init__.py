"""Trades: every trade by id, and candles built from them."""

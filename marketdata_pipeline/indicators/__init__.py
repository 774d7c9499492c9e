"""Indicators: TA-Lib-exact polars formulas and the assets that keep them beside candles."""

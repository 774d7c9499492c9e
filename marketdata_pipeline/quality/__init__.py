"""Data-quality rules over polars frames and the check results built from them."""

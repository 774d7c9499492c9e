"""Downstream analytics over stored series (market_summary)."""

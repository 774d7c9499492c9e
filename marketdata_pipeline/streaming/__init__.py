"""Streaming: the long-lived collector of data exchanges keep no history of (books, tickers)."""

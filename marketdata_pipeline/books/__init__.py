"""Order books and tickers: top-N snapshots in a wide layout, their metrics and rules."""

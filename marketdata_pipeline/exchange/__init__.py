"""The ccxt boundary: REST client (paging, cleaning, retries), errors, the request budget."""

"""Errors at the ccxt boundary: one line, of bounded length, and sorted by what comes next."""

import ccxt

from marketdata_pipeline.exchange.errors import PERMANENT, TEMPORARY, THROTTLED, one_line


def test_one_line_collapses_whitespace_caps_the_length_and_never_is_empty():
    assert one_line(ValueError("a\n  b\tc ")) == "a b c"
    assert one_line(ValueError("x" * 500)) == "x" * 300
    assert one_line(ValueError("")) == "ValueError"


def test_permanent_errors_are_never_temporary_and_throttling_is():
    for error in PERMANENT:
        assert not issubclass(error, TEMPORARY), error
    assert issubclass(ccxt.BadSymbol, PERMANENT) and issubclass(ccxt.DDoSProtection, THROTTLED)
    assert all(issubclass(e, TEMPORARY) for e in THROTTLED)
    assert issubclass(ccxt.RequestTimeout, TEMPORARY) and issubclass(ccxt.BadResponse, TEMPORARY)

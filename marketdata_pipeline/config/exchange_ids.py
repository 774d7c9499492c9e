"""ccxt's exchange ids, read from the installed ccxt package without importing it.

Importing ccxt costs about half a second; every command validates the config, and most of them
never talk to an exchange. ccxt lists its ids as a literal in its `__init__.py`.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import cache
from pathlib import Path


@cache
def exchange_ids() -> frozenset[str]:
    """Every id ccxt accepts (`ccxt.exchanges`)."""
    source = Path(importlib.util.find_spec("ccxt").origin).read_text()
    listed = listed_ids(source)
    if listed is None:  # a ccxt laid out differently: ask it, slowly
        import ccxt

        return frozenset(ccxt.exchanges)
    return listed


@cache
def pro_exchange_ids() -> frozenset[str]:
    """The ids ccxt.pro streams over WebSocket (`ccxt.pro.exchanges`)."""
    source = (
        Path(importlib.util.find_spec("ccxt").origin).parent / "pro" / "__init__.py"
    ).read_text()
    listed = listed_ids(source)
    if listed is None:
        import ccxt.pro

        return frozenset(ccxt.pro.exchanges)
    return listed


def listed_ids(source: str) -> frozenset[str] | None:
    """The `exchanges = [...]` literal of ccxt's `__init__.py`, if it has one."""
    found = re.search(r"^exchanges = (\[[^\]]*\])", source, re.MULTILINE)
    return frozenset(ast.literal_eval(found.group(1))) if found else None

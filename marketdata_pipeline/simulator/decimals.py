"""Exact decimal strings for integer amounts, the way Binance prints them (8 decimals).

Amounts are integers in units of ``1 / per``; callers guarantee ``amount * 10**8 / per`` is a
whole number, so integer arithmetic gives the exact digits, with no float rounding even where a
month of quote volume exceeds 2**53 units. ``%d.%08d`` is also twice as fast as ``%.8f``.
"""

from __future__ import annotations

import numpy as np

DIGITS = 10**8


def decimal_parts(amount: np.ndarray, per: int) -> tuple[np.ndarray, np.ndarray]:
    """(integer part, 8-digit fraction) of ``amount / per``, for ``"%d.%08d"``."""
    whole, rest = np.divmod(amount, per)
    if DIGITS % per == 0:
        return whole, rest * (DIGITS // per)
    return whole, rest * DIGITS // per


def interleave(*columns: tuple[np.ndarray, ...] | np.ndarray) -> list[list[int]]:
    """Rows of the given columns (pairs from ``decimal_parts`` count as two), as Python ints."""
    flat: list[np.ndarray] = []
    for column in columns:
        flat.extend(column if isinstance(column, tuple) else (column,))
    return np.column_stack(flat).tolist()

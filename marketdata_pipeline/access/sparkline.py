"""The indicator preview that Dagster's asset page shows in place: an SVG under 1000 characters.

The UI renders a Markdown metadata value inline only below 1000 characters (longer ones hide
behind "[Show Markdown]"), so the preview is a hand-written SVG of the latest few dozen candles
in a data URI: close (gray), EMA 12 (orange) and EMA 26 (blue) above; RSI 14 (purple) below,
between its 30 and 70 levels (silver).
"""

from __future__ import annotations

from itertools import pairwise

import polars as pl

INLINE_LIMIT = 1000  # Dagster UI: a longer Markdown value is behind "[Show Markdown]"
PRICE_LINES = {"close": "gray", "ema12": "orange", "ema26": "blue"}
COLUMNS = [*PRICE_LINES, "rsi14"]
STEP, PRICE_HEIGHT, GAP, RSI_HEIGHT, SCALE = 2, 40, 4, 20, 3
MOST = 80  # candles tried first; about 40 fit


def preview_markdown(recent: pl.DataFrame, title: str) -> str | None:
    """Markdown of the preview over as many of the latest rows of `recent` (close and
    indicators in time order) as fit inline; None without two complete rows."""
    rows = recent.select(COLUMNS).drop_nulls().tail(MOST)
    for n in range(rows.height, 1, -1):
        markdown = _markdown(rows.tail(n), title)
        if len(markdown) < INLINE_LIMIT:
            return markdown
    return None


def _markdown(rows: pl.DataFrame, title: str) -> str:
    width, height = STEP * (rows.height - 1), PRICE_HEIGHT + GAP + RSI_HEIGHT
    low = min(rows[c].min() for c in PRICE_LINES)
    span = (max(rows[c].max() for c in PRICE_LINES) - low) or 1.0
    lines = [
        _path(color, [PRICE_HEIGHT * (1 - (v - low) / span) for v in rows[c]])
        for c, color in PRICE_LINES.items()
    ]
    rsi_y = lambda v: PRICE_HEIGHT + GAP + RSI_HEIGHT * (1 - v / 100)  # noqa: E731
    levels = f"<path stroke='silver' d='M0,{rsi_y(70):.0f}H{width}M0,{rsi_y(30):.0f}H{width}'/>"
    lines += [levels, _path("purple", [rsi_y(v) for v in rows["rsi14"]])]
    svg = (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{SCALE * width}'"
        f" height='{SCALE * height}' viewBox='0 0 {width} {height}' fill='none'"
        f" stroke-width='.6'>{''.join(lines)}</svg>"
    )
    alt = title.replace("[", "(").replace("]", ")")
    # A Markdown link target holds no space; every other character of the SVG may stay as is.
    return f"![{alt}](data:image/svg+xml,{svg.replace(' ', '%20')})"


def _path(color: str, ys: list[float]) -> str:
    """A polyline as one absolute point and relative steps: a few characters per candle."""
    points = [round(y) for y in ys]
    steps = ",".join(f"{STEP},{b - a}" for a, b in pairwise(points))
    return f"<path stroke='{color}' d='M0,{points[0]}l{steps}'/>"

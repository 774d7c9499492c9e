"""Memory handed back after writes and large reads, so a long sync does not keep all it touched.

LMDB maps each library's `data.mdb` read-only into the process: every page a read or write
touches stays in its resident set (a 3-year 1m sync: +100 MB by the end). Those pages are clean
copies of the OS page cache (LMDB writes with `pwrite`), so dropping them (`MADV_DONTNEED`)
loses nothing and the next read maps them again. Only read-only shared mappings are dropped: a
writable one may hold changes.

The allocators keep what they freed, each measured on a 3-year 1m sync:
- Arrow's own jemalloc pool kept 45 MB; Arrow allocates from glibc here instead, so
  `malloc_trim` returns its memory with the rest of the heap.
- glibc's arena per thread (ArcticDB's and polars' pools, asyncio's), each with its own
  fragments: two arenas hold 20 MB less.
- glibc raises its mmap threshold as large blocks are freed, after which frames come from the
  heap and fragment there: a fixed 128 KB threshold hands every large block back (12 MB less,
  for 0.5 to 1 s more CPU on a year of 1m).
"""

from __future__ import annotations

import ctypes
import mmap
import sys

import pyarrow as pa

_LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # mallopt's parameter numbers in glibc's malloc.h
if _LIBC is not None:
    pa.set_memory_pool(pa.system_memory_pool())
    if hasattr(_LIBC, "mallopt"):
        _LIBC.mallopt(M_ARENA_MAX, 2)
        _LIBC.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    _LIBC.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

# A read of this many rows maps enough of `data.mdb` to be worth the 5 ms of a release:
# checks and indicators read a multi-year range window by window.
LARGE_READ_ROWS = 20_000


def release_after_read(rows: int) -> None:
    if rows >= LARGE_READ_ROWS:
        release_memory()


def release_memory() -> None:
    """Drop the LMDB pages mapped into this process and trim the heap (Linux; else nothing).
    Listing the mappings costs about 5 ms: after a write or a large read, not every read."""
    if _LIBC is None:
        return
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[1] == "r--s" and fields[5].rstrip().endswith(".mdb"):
                low, high = (int(address, 16) for address in fields[0].split("-"))
                _LIBC.madvise(low, high - low, mmap.MADV_DONTNEED)
    if hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)

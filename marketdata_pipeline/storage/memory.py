"""Memory handed back after every write, so a long sync does not keep all it ever touched.

Two things grow with the range otherwise. LMDB maps each library's `data.mdb` read-only into the
process: every page a read or write touches stays in its resident set (a 3-year 1m sync: +100
MB by the end). Those pages are clean copies of the OS page cache (LMDB writes with `pwrite`),
so dropping them from the mapping (`MADV_DONTNEED`) loses nothing and the next read maps them
again. And glibc keeps the heap that pandas, polars and ArcticDB freed; `malloc_trim` returns
it. Only mappings that are read-only and shared are dropped: a writable one may hold changes.
"""

from __future__ import annotations

import ctypes
import mmap
import sys

_LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None
if _LIBC is not None:
    _LIBC.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def release_memory() -> None:
    """Drop the LMDB pages mapped into this process and trim the heap (Linux; else nothing).
    Listing the mappings costs about 5 ms: once per write, not per read."""
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

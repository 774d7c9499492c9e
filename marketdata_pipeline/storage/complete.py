"""Ranges a sync found complete, so the next no-op sync answers without importing ArcticDB.

A cache, never the truth: each entry was written by the planner after reading the store, with
the store's version at the time, and counts only while that version is unchanged. The version
of an LMDB store is the last committed write transaction of each of its libraries, read from
the header of its `data.mdb` (any write by any process commits one and bumps it), so reading it
costs a few file reads. Other stores (S3 and the like) have no such cheap proof and get no
cache: they are always read.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

_MAGIC = 0xBEEFC0DE
# LMDB meta page: 16-byte page header, then magic, version, address, map size, two 48-byte
# database records (the first one's leading u32 holds the page size), last page, txnid.
_PAGE_SIZE_AT, _TXNID_AT = 16 + 4 + 4 + 8 + 8, 16 + 4 + 4 + 8 + 8 + 96 + 8


def _lmdb_root(storage_uri: str) -> Path | None:
    if not storage_uri.startswith("lmdb://"):
        return None
    return Path(storage_uri.removeprefix("lmdb://").split("?", 1)[0])


def _last_txnid(data_file: str) -> int | None:
    """The newer of the two meta pages' transaction ids, None if it is not an LMDB file."""
    with open(data_file, "rb") as f:
        first = f.read(_TXNID_AT + 8)
        if len(first) < _TXNID_AT + 8 or struct.unpack_from("<I", first, 16)[0] != _MAGIC:
            return None
        f.seek(struct.unpack_from("<I", first, _PAGE_SIZE_AT)[0])
        second = f.read(_TXNID_AT + 8)
    if len(second) < _TXNID_AT + 8 or struct.unpack_from("<I", second, 16)[0] != _MAGIC:
        return None
    return max(struct.unpack_from("<Q", page, _TXNID_AT)[0] for page in (first, second))


class CompleteRanges:
    """Plan keys known complete at one version of an LMDB store (`for_storage`: None if the
    store is not LMDB)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.file = root.with_name(root.name + ".complete.json")

    @classmethod
    def for_storage(cls, storage_uri: str) -> CompleteRanges | None:
        root = _lmdb_root(storage_uri)
        return cls(root) if root is not None else None

    def version(self) -> list | None:
        """(library, inode, last write transaction) of every library; None if unreadable."""
        try:
            libraries = [e for e in os.scandir(self.root) if e.is_dir()]
        except OSError:
            return None
        version = []
        for library in sorted(libraries, key=lambda e: e.name):
            try:
                data = os.path.join(library.path, "data.mdb")
                txnid = _last_txnid(data)
                inode = os.stat(data).st_ino
            except OSError:
                return None
            if txnid is None:
                return None
            version.append([library.name, inode, txnid])
        return version or None

    def _read(self) -> dict:
        try:
            return json.loads(self.file.read_text())
        except (OSError, ValueError):
            return {}

    def known(self, keys: list[str]) -> bool:
        """Whether every key was found complete at the store's current version."""
        version = self.version()
        recorded = self._read()
        return (
            version is not None
            and recorded.get("version") == version
            and set(keys) <= set(recorded.get("complete", []))
        )

    def record(self, keys: list[str], version: list | None) -> None:
        """Add `keys`, found complete at `version` (read before the store was), if the store
        is still at that version; a write since then makes the finding unprovable."""
        if not keys or version is None or self.version() != version:
            return
        recorded = self._read()
        known = set(recorded.get("complete", [])) if recorded.get("version") == version else set()
        temporary = self.file.with_name(f"{self.file.name}.{os.getpid()}")
        try:
            temporary.write_text(
                json.dumps({"version": version, "complete": sorted(known | set(keys))})
            )
            os.replace(temporary, self.file)
        except OSError:
            temporary.unlink(missing_ok=True)

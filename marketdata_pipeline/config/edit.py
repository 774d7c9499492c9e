"""Editing the YAML config in place, as the `connectors` and `markets` commands do.

The document is edited round-trip (ruamel.yaml), so comments, quoting and indentation stay as
the operator wrote them. The result must pass the same loader as every other command before it
replaces the file; it is written atomically (a temporary file in the same folder, then
`os.replace`), so a reader sees the old file or the new one, never half of one. Edits hold an
fcntl lock on a sibling file, so concurrent edits run one after the other and none is lost.
"""

from __future__ import annotations

import difflib
import fcntl
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from .loader import ConfigError, LoadedConfig, load_config, parse_config

# (mapping, sequence, offset) indentations tried in turn; the first is the shipped config's.
INDENTS = [(2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 4, 0), (4, 6, 4), (2, 4, 0), (4, 2, 0)]
NEW_FILE_MODE = 0o644


@dataclass(frozen=True)
class Edit:
    """What an edit did: `changed` is False when the file already said what was asked."""

    changed: bool
    message: str
    config: LoadedConfig


# A change edits the document in place and returns (changed, message). It raises ConfigError
# (without the file name, which is added) when the document lacks what it needs.
Change = Callable[[CommentedMap], tuple[bool, str]]


def edit_config(
    path: Path,
    change: Change,
    *,
    create: bool = False,
    check: Callable[[LoadedConfig], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Edit:
    """Apply `change` to the config at `path` and write it if it validates.

    `create` starts a missing file from nothing; `check` vets the validated result before it
    is written (it may raise); `on_wait` is told when another edit holds the lock. A rejected
    edit raises ConfigError and leaves the file as it was, byte for byte.
    """
    path = path.resolve()
    if not (create or path.exists()):
        load_config(path)  # reports the missing file as every command does
    if not path.parent.is_dir():
        raise ConfigError(f"{path}: folder {path.parent} does not exist; create it first")
    with _locked(path, on_wait):
        text = path.read_text() if path.exists() else ""
        parse_config(text, path)  # a broken file is reported as every command reports it
        yaml = round_trip(text)
        doc, prefix = yaml.load(text), ""
        if doc is None:  # empty, or only comments: those stay above the new content
            doc, prefix = CommentedMap(), text + "\n" if text and text[-1] != "\n" else text
        try:
            changed, message = change(doc)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None
        if not changed:
            return Edit(False, message, parse_config(text, path))
        new_text = prefix + dump(yaml, doc)
        config = parse_config(new_text, path)
        if check is not None:
            check(config)
        _replace(path, new_text)
        return Edit(True, message, config)


def round_trip(text: str) -> YAML:
    """A round-trip YAML whose indentation reproduces `text` (the closest one for a file whose
    indentation is inconsistent)."""
    best: tuple[int, YAML] | None = None
    for mapping, sequence, offset in INDENTS:
        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = 4096  # never fold a long line
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        doc = yaml.load(text)
        if doc is None:
            return yaml
        again = dump(yaml, doc)
        if again == text:
            return yaml
        changes = sum(
            1 for line in difflib.ndiff(text.splitlines(), again.splitlines()) if line[:1] in "+-"
        )
        if best is None or changes < best[0]:
            best = (changes, yaml)
    assert best is not None
    return best[1]


def dump(yaml: YAML, doc: CommentedMap) -> str:
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


@contextmanager
def _locked(path: Path, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    """Hold the config's edit lock; the OS drops it if this process dies."""
    lock = path.with_name(f".{path.name}.lock")
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(f"waiting for another edit of {path} to finish (lock {lock})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _replace(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else NEW_FILE_MODE
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)

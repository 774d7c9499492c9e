"""Keeping each comment beside what it describes when entries are appended or removed.

A comment line between two entries describes the entry below it, but ruamel.yaml keeps it on
the last scalar above (as the text after that scalar's end-of-line comment). Appending after
that scalar, or removing the entry the comment sits in, would move or drop it; these helpers
move such lines to where they belong.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

Container = CommentedMap | CommentedSeq


def append(container: Container, key: Any, value: Any) -> None:
    """Add `value` at the end of a mapping (under `key`) or a sequence (`key` is ignored);
    the comment lines after the old last entry stay after the new one."""
    following = _take_following(container)
    if isinstance(container, CommentedSeq):
        container.append(value)
    else:
        container[key] = value
    _add_following(container, following)


def remove(seq: CommentedSeq, index: int, parent: CommentedMap, key: str) -> None:
    """Remove `seq[index]` (the value of `parent[key]`) with the comment lines above it,
    keeping the lines below it, which describe the next entry or what follows the list."""
    following = _take_following(seq[index])
    if index > 0:
        _take_following(seq[index - 1])  # the removed entry's own header
        del seq[index]
        _add_following(seq[index - 1], following)
        return
    del seq[0]
    if not seq:  # an empty list is the default: the key goes, its lines stay
        del parent[key]
        _add_following(parent, following)
        return
    # The next entry's header replaces the removed one's (kept on the list and on its key;
    # after the key's own comment when it has one).
    slots = parent.ca.items.setdefault(key, [None] * 4)
    if slots[2] is not None:
        slots[2].value = slots[2].value.partition("\n")[0] + "\n"
    header = [
        _token(line.lstrip(" ") + "\n", len(line) - len(line.lstrip(" ")))
        for line in following.splitlines()
    ]
    seq.ca.comment, slots[3] = ([None, header], header) if header else (None, None)


def _tail(node: Any) -> tuple[Container, Any, int] | None:
    """Where the text after `node`'s last scalar is kept: (container, key, slot)."""
    while isinstance(node, CommentedMap | CommentedSeq) and len(node):
        last = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        value = node[last]
        if isinstance(value, CommentedMap | CommentedSeq) and len(value) and not _flow(value):
            node = value
            continue
        return node, last, 2 if isinstance(node, CommentedMap) else 0
    return None


def _flow(node: Container) -> bool:
    return bool(node.fa.flow_style())


def _take_following(node: Any) -> str:
    """Remove and return the lines after `node`'s last line (keeping its end-of-line comment)."""
    where = _tail(node)
    if where is None:
        return ""
    container, key, slot = where
    token = (container.ca.items.get(key) or [None] * 4)[slot]
    if token is None or "\n" not in token.value:
        return ""
    eol, _, following = token.value.partition("\n")
    token.value = eol + "\n"
    return following


def _add_following(node: Any, following: str) -> None:
    """Put `following` lines after `node`'s last line."""
    where = _tail(node)
    if not following or where is None:
        return
    container, key, slot = where
    slots = container.ca.items.setdefault(key, [None] * 4)
    if slots[slot] is None:
        slots[slot] = _token("\n", 0)
    slots[slot].value += following


def _token(text: str, column: int) -> CommentToken:
    return CommentToken(text, CommentMark(column))

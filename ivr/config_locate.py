"""Find the line of a TOML file that a validation error's location points at.

tomllib keeps no positions, so this walks the text the way TOML is laid out:
`[table]` and `[[array]]` headers, then `key = value` lines. It returns the most
specific line it can find: the key itself, else its table header, else None.
"""

from __future__ import annotations

import re

HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
KEY = re.compile(r"^\s*([A-Za-z0-9_\"'-]+)\s*=")


def locate_line(text: str, loc: tuple[int | str, ...]) -> int | None:
    """1-based line number for a pydantic error location, or None."""
    if not loc:
        return None
    table: tuple[int | str, ...] = ()
    array_counts: dict[tuple[str, ...], int] = {}
    best: tuple[int, int] | None = None  # (matched length, line)

    def consider(path: tuple[int | str, ...], lineno: int) -> None:
        nonlocal best
        n = _common_prefix(path, loc)
        if n == len(path) and (best is None or n > best[0]):
            best = (n, lineno)

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = HEADER.match(line)
        if header:
            names = tuple(part.strip().strip("\"'") for part in header[2].split("."))
            if header[1] == "[[":
                index = array_counts.get(names, 0)
                array_counts[names] = index + 1
                table = (*names, index)
            else:
                table = names
            consider(table, lineno)
            continue
        key = KEY.match(line)
        if key:
            consider((*table, key[1].strip("\"'")), lineno)
    return best[1] if best else None


def _common_prefix(path: tuple[int | str, ...], loc: tuple[int | str, ...]) -> int:
    n = 0
    for a, b in zip(path, loc, strict=False):
        if str(a) != str(b):
            break
        n += 1
    return n

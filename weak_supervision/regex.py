"""RE2 for labeling functions: DuckDB's `regexp_matches`, google-re2 and `pyarrow.compute` all
run RE2, so one pattern means the same in SQL and in Python. Their Unicode tables differ by
build (DuckDB's lacks Unicode 15.1), so keyword patterns use neither `(?i)` nor `\\p{..}`: case
variants and word characters are spelled out from Python's tables, as they always were.
"""

import functools
import unicodedata
from collections.abc import Iterable
from itertools import groupby
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the reason is raised, not printed


class RegexSyntaxError(ValueError):
    """A pattern RE2 cannot run (look-arounds, backreferences, malformed syntax)."""


@functools.lru_cache(maxsize=512)
def compiled(pattern: str) -> Any:
    """The google-re2 object for `pattern`; RE2's own reason if it cannot compile it."""
    try:
        regexp = re2.compile(pattern, _OPTIONS)
    except re2.error as err:
        reason = err.args[0].decode() if isinstance(err.args[0], bytes) else err.args[0]
        raise RegexSyntaxError(f"RE2 cannot compile {pattern!r}: {reason}") from None
    if regexp.groupindex:  # the one syntax DuckDB's older RE2 lacks is `(?<name>`; votes need none
        raise RegexSyntaxError(f"{pattern!r}: named groups are not supported, use (?:...)")
    return regexp


def search(texts: Any, pattern: str) -> np.ndarray:
    """Whether `pattern` matches somewhere in each text (NULL: no), over a whole column."""
    found = pc.match_substring_regex(pa.array(texts, type=pa.string(), from_pandas=True), pattern)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def _is_word(char: str) -> bool:
    """Letters, marks (they continue a word), numbers, connectors like `_`: UTS #18's `\\w`."""
    category = unicodedata.category(char)
    return category[0] in "LMN" or category == "Pc"


def _escape(char: str) -> str:
    return char if char.isascii() and (char.isalnum() or char == "_") else f"\\x{{{ord(char):X}}}"


@functools.cache
def _word_class() -> str:
    """The word characters as the inside of an RE2 class, in ranges of code points."""
    words = [chr(cp) for cp in range(0x110000) if _is_word(chr(cp))]
    runs = [[c for _, c in run] for _, run in groupby(enumerate(words), lambda x: ord(x[1]) - x[0])]
    return "".join(f"{_escape(run[0])}-{_escape(run[-1])}" for run in runs)


@functools.cache
def _case_variants() -> dict[str, str]:
    """Cased character -> its case variants: simple lower/upper mappings, closed (k K U+212A)."""
    orbit: dict[str, set[str]] = {}
    for start in range(0, 0x110000, 256):
        block = "".join(map(chr, range(start, start + 256)))
        for char in block if not block.lower() == block == block.upper() else ():
            for other in {char.lower(), char.upper()} - {char}:
                if len(other) == 1:
                    merged = orbit.get(char, {char}) | orbit.get(other, {other})
                    orbit.update(dict.fromkeys(merged, merged))
    return {char: "".join(sorted(members)) for char, members in orbit.items()}


def keyword_pattern(keywords: Iterable[str], *, ignore_case: bool, whole_word: bool) -> str:
    """An RE2 pattern matching any keyword; with `whole_word`, not inside a longer word. RE2
    has no look-arounds: a boundary is the text's end or a non-word character, required only
    next to a word character of the keyword (`$$$` matches in `win$$$`)."""
    variants = _case_variants() if ignore_case else {}
    groups: dict[tuple[bool, bool], list[str]] = {}
    for word in keywords:
        literal = "".join(f"[{''.join(map(_escape, variants.get(c, c)))}]" for c in word)
        needs = (whole_word and _is_word(word[0]), whole_word and _is_word(word[-1]))
        groups.setdefault(needs, []).append(literal)
    edge = f"[^{_word_class()}]" if whole_word else ""
    return "|".join(
        (f"(?:\\A|{edge})" if left else "")
        + f"(?:{'|'.join(literals)})"
        + (f"(?:\\z|{edge})" if right else "")
        for (left, right), literals in sorted(groups.items())
    )

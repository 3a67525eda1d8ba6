"""Portable regular expressions: one pattern, the same matches in DuckDB (RE2) and Python `re`.

RE2 and Python's `re` disagree on more than syntax: `\\w`, `\\d`, `\\s` and `\\b` are ASCII in
RE2 and Unicode in `re`; `$` in `re` also matches before a final newline; `(?i)` folds
different characters (`re` matches `i` with U+0131 and U+0130, RE2 does not); RE2 has no
lookarounds or backreferences, `re` has no `\\p{..}`. Instead of hoping a pattern means the same
thing in both, a pattern is parsed into a small syntax tree (rejecting what the engines do not
share) and each engine gets its own rendering of that tree. Everything engine-dependent is
spelled out explicitly in the rendering: shorthand classes become ASCII ranges, case-insensitive
matching becomes explicit classes of case variants (computed from Python's Unicode tables, so
both engines use the same variants), and anchors are rendered with each engine's exact operator.

Supported syntax (a subset of RE2's): literals, `\\`-escaped ASCII punctuation, `\\n \\t \\r \\f
\\v \\a`, `\\xHH`, `\\x{HHHH}`, `.`, classes `[...]` / `[^...]` with ranges and `\\d \\w \\s`
inside, `\\d \\D \\w \\W \\s \\S` (ASCII), `^ $ \\A \\z \\b`, groups `(...)`, `(?:...)`,
alternation `|`, and the quantifiers `* + ? {n} {n,} {n,m}` (greedy or lazy, at most 1000).
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Flavor = Literal["re2", "python"]

MAX_REPEAT = 1000  # RE2 rejects larger counted repetitions.
MAX_CODEPOINT = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)

Ranges = tuple[tuple[int, int], ...]


class RegexSyntaxError(ValueError):
    """A pattern uses syntax outside the portable subset (or is malformed)."""


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class CharSet:
    """A set of code points as sorted, disjoint, non-adjacent ranges; `negated` complements it."""

    ranges: Ranges
    negated: bool = False


@dataclass(frozen=True)
class Anchor:
    """A zero-width assertion."""

    kind: Literal["text_start", "text_end", "line_start", "line_end", "word_boundary"]


@dataclass(frozen=True)
class Concat:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alternation:
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Repeat:
    item: Node
    min: int
    max: int | None
    lazy: bool = False


Node = CharSet | Anchor | Concat | Alternation | Repeat

ANY_CHAR = CharSet((), negated=True)


def normalize_ranges(ranges: list[tuple[int, int]] | Ranges) -> Ranges:
    """Sort and merge overlapping or adjacent ranges, so equal sets have equal representations."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


_DIGIT: Ranges = ((0x30, 0x39),)
_WORD_ASCII: Ranges = normalize_ranges([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
_SPACE: Ranges = normalize_ranges([(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)])  # RE2's \s: no \v


# --------------------------------------------------------------------------- Unicode tables


def _all_chars_by_block() -> list[str]:
    """All non-surrogate code points, as strings of 256, for fast block-wise screening."""
    blocks = []
    for start in range(0, MAX_CODEPOINT + 1, 256):
        if _SURROGATES[0] <= start <= _SURROGATES[1]:
            continue
        blocks.append("".join(map(chr, range(start, start + 256))))
    return blocks


@functools.cache
def _case_variants() -> dict[int, tuple[int, ...]]:
    """Map each cased code point to all code points it matches case-insensitively.

    Two characters are variants when one is the other's simple (one-character) lower- or
    upper-case mapping, closed transitively: {k, K, U+212A KELVIN SIGN},
    {s, S, U+017F LONG S}, {i, I, U+0131 DOTLESS I}.
    Mappings that produce several characters (U+0130 -> i + U+0307, sharp s -> SS) are not
    simple and are ignored.
    """
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for block in _all_chars_by_block():
        if block.lower() == block and block.upper() == block:
            continue
        for ch in block:
            for other in (ch.lower(), ch.upper()):
                if len(other) == 1 and other != ch:
                    a, b = find(ord(ch)), find(ord(other))
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for cp in parent:
        groups.setdefault(find(cp), []).append(cp)
    variants: dict[int, tuple[int, ...]] = {}
    for root, members in groups.items():
        orbit = tuple(sorted({root, *members}))
        for cp in orbit:
            variants[cp] = orbit
    return variants


@functools.cache
def unicode_word_ranges() -> Ranges:
    """Word characters for whole-word matching: Unicode letters, marks, digits/numbers, `_`.

    This is the general-category part of UTS #18's `\\w` (L*, M*, N*, Pc). Marks are included so
    that a keyword does not match the start of a word written with combining accents.
    """
    ranges: list[tuple[int, int]] = []
    for cp in range(MAX_CODEPOINT + 1):
        if _SURROGATES[0] <= cp <= _SURROGATES[1]:
            continue
        cat = unicodedata.category(chr(cp))
        if cat[0] in "LMN" or cat == "Pc":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return tuple(ranges)


def fold_case(ranges: Ranges) -> Ranges:
    """Close a set of code points under case variants (see `_case_variants`)."""
    variants = _case_variants()
    cased = _sorted_cased()
    extra: list[tuple[int, int]] = []
    for lo, hi in ranges:
        for cp in cased[bisect.bisect_left(cased, lo) : bisect.bisect_right(cased, hi)]:
            extra.extend((v, v) for v in variants[cp])
    return normalize_ranges([*ranges, *extra])


@functools.cache
def _sorted_cased() -> tuple[int, ...]:
    return tuple(sorted(_case_variants()))


def contains(ranges: Ranges, cp: int) -> bool:
    """Whether code point `cp` lies in the normalized `ranges`."""
    i = bisect.bisect_right(ranges, (cp, MAX_CODEPOINT + 1)) - 1
    return i >= 0 and ranges[i][0] <= cp <= ranges[i][1]


# --------------------------------------------------------------------------- builders


def char_set(ranges: Ranges | list[tuple[int, int]], *, negated: bool = False) -> CharSet:
    return CharSet(normalize_ranges(ranges), negated)


def literal(text: str, *, ignore_case: bool = False) -> Node:
    """A node matching `text` literally (each character its own set, folded if asked)."""
    items = []
    for ch in text:
        ranges: Ranges = ((ord(ch), ord(ch)),)
        items.append(CharSet(fold_case(ranges) if ignore_case else ranges))
    return Concat(tuple(items))


# --------------------------------------------------------------------------- parser


_ESCAPED_CONTROL = {"n": 0x0A, "t": 0x09, "r": 0x0D, "f": 0x0C, "v": 0x0B, "a": 0x07}
_SHORTHAND = {"d": _DIGIT, "w": _WORD_ASCII, "s": _SPACE}
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _check_codepoint(cp: int) -> int:
    if cp > MAX_CODEPOINT or _SURROGATES[0] <= cp <= _SURROGATES[1]:
        raise RegexSyntaxError(f"invalid code point U+{cp:X}")
    return cp


class _Parser:
    """Recursive-descent parser for the portable subset (see the module docstring)."""

    def __init__(self, pattern: str, *, ignore_case: bool, multiline: bool, dotall: bool):
        self.pattern = pattern
        self.pos = 0
        self.ignore_case = ignore_case
        self.multiline = multiline
        self.dotall = dotall

    def error(self, message: str) -> RegexSyntaxError:
        return RegexSyntaxError(f"{message} at position {self.pos} in {self.pattern!r}")

    def peek(self) -> str | None:
        return self.pattern[self.pos] if self.pos < len(self.pattern) else None

    def take(self) -> str:
        ch = self.peek()
        if ch is None:
            raise self.error("unexpected end of pattern")
        self.pos += 1
        return ch

    def parse(self) -> Node:
        node = self.alternation()
        if self.peek() is not None:
            raise self.error("unbalanced ')'")
        return node

    def alternation(self) -> Node:
        options = [self.concat()]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.concat())
        return options[0] if len(options) == 1 else Alternation(tuple(options))

    def concat(self) -> Node:
        items: list[Node] = []
        while self.peek() not in (None, "|", ")"):
            items.append(self.quantified(self.atom()))
        return items[0] if len(items) == 1 else Concat(tuple(items))

    def quantified(self, atom: Node) -> Node:
        ch = self.peek()
        if ch in ("*", "+", "?"):
            self.pos += 1
            lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        elif ch == "{":
            lo, hi = self.counted()
        else:
            return atom
        if isinstance(atom, Anchor):
            raise self.error("quantifier on an anchor")
        lazy = self.peek() == "?"
        if lazy:
            self.pos += 1
        if self.peek() in ("*", "+", "?", "{"):
            raise self.error("stacked quantifiers are not portable")
        return Repeat(atom, lo, hi, lazy)

    def counted(self) -> tuple[int, int | None]:
        match = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.pattern, self.pos)
        if match is None:
            raise self.error("a literal '{' must be escaped as '\\{'")
        self.pos = match.end()
        lo = int(match.group(1))
        hi: int | None = lo
        if match.group(2):
            hi = int(match.group(3)) if match.group(3) else None
        if lo > MAX_REPEAT or (hi is not None and (hi > MAX_REPEAT or hi < lo)):
            raise self.error(f"repetition counts must satisfy 0 <= n <= m <= {MAX_REPEAT}")
        return lo, hi

    def atom(self) -> Node:
        ch = self.take()
        if ch == "(":
            return self.group()
        if ch == "[":
            return self.char_class()
        if ch == ".":
            return ANY_CHAR if self.dotall else CharSet(((0x0A, 0x0A),), negated=True)
        if ch == "^":
            return Anchor("line_start" if self.multiline else "text_start")
        if ch == "$":
            return Anchor("line_end" if self.multiline else "text_end")
        if ch in ("*", "+", "?"):
            raise self.error("quantifier without an operand")
        if ch == "{":
            self.pos -= 1
            raise self.error("a literal '{' must be escaped as '\\{'")
        if ch == "\\":
            return self.escape()
        return self.chars(((ord(ch), ord(ch)),))

    def chars(self, ranges: Ranges, *, negated: bool = False) -> CharSet:
        return CharSet(fold_case(ranges) if self.ignore_case else ranges, negated)

    def group(self) -> Node:
        if self.pattern.startswith("?:", self.pos):
            self.pos += 2
        elif self.peek() == "?":
            raise self.error("only '(' and '(?:' groups are portable (use the flags argument)")
        node = self.alternation()
        if self.peek() != ")":
            raise self.error("missing ')'")
        self.pos += 1
        return node

    def escape(self) -> Node:
        ch = self.take()
        anchors = {"A": "text_start", "z": "text_end", "b": "word_boundary"}
        if ch in anchors:
            return Anchor(anchors[ch])  # type: ignore[arg-type]
        if ch == "B":
            # RE2 scans UTF-8 bytes: \B also holds between the bytes of one non-ASCII character.
            raise self.error("\\B is not portable")
        if ch.lower() in _SHORTHAND:
            return self.chars(_SHORTHAND[ch.lower()], negated=ch.isupper())
        cp = self.escaped_codepoint(ch)
        return self.chars(((cp, cp),))

    def escaped_codepoint(self, ch: str) -> int:
        """The code point of a character escape (the backslash and `ch` already consumed)."""
        if ch in _ESCAPED_CONTROL:
            return _ESCAPED_CONTROL[ch]
        if ch in _ASCII_PUNCT:
            return ord(ch)
        if ch == "x":
            braced = re.compile(r"\{([0-9A-Fa-f]{1,6})\}").match(self.pattern, self.pos)
            short = re.compile(r"[0-9A-Fa-f]{2}").match(self.pattern, self.pos)
            found = braced or short
            if found is None:
                raise self.error("\\x needs two hex digits or \\x{...}")
            self.pos = found.end()
            return _check_codepoint(int(braced.group(1) if braced else found.group(0), 16))
        raise self.error(f"escape '\\{ch}' is not portable")

    def char_class(self) -> CharSet:
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        if self.peek() == "]":
            raise self.error("empty class or leading ']': escape it as '\\]'")
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            ch = self.take()
            if ch == "]":
                break
            if ch == "[":
                raise self.error("'[' inside a class must be escaped (no POSIX or set syntax)")
            if ch == "-":
                if not (first or self.peek() == "]"):
                    raise self.error("a literal '-' inside a class must be first, last or escaped")
                ranges.append((ord("-"), ord("-")))
                first = False
                continue
            if ch == "\\":
                esc = self.take()
                if esc in _SHORTHAND:
                    ranges.extend(_SHORTHAND[esc])
                    first = False
                    continue
                if esc.lower() in _SHORTHAND:
                    raise self.error("negated shorthand inside a class is not portable")
                lo = self.escaped_codepoint(esc)
            else:
                lo = ord(ch)
            hi = lo
            if self.peek() == "-" and self.pattern[self.pos + 1 : self.pos + 2] not in ("]", ""):
                self.pos += 1
                end = self.take()
                if end == "[":
                    raise self.error("'[' inside a class must be escaped")
                if end == "\\":
                    esc = self.take()
                    if esc.lower() in _SHORTHAND:
                        raise self.error("a range cannot end in a shorthand class")
                    hi = self.escaped_codepoint(esc)
                else:
                    hi = ord(end)
                if hi < lo:
                    raise self.error("range out of order")
            ranges.append((lo, hi))
            first = False
        return self.chars(normalize_ranges(ranges), negated=negated)


def parse(
    pattern: str, *, ignore_case: bool = False, multiline: bool = False, dotall: bool = False
) -> Node:
    """Parse a pattern in the portable subset; raise `RegexSyntaxError` for anything else."""
    return _Parser(pattern, ignore_case=ignore_case, multiline=multiline, dotall=dotall).parse()


# --------------------------------------------------------------------------- rendering


def _render_char(cp: int, flavor: Flavor) -> str:
    ch = chr(cp)
    if ch.isascii() and (ch.isalnum() or ch == "_"):
        return ch
    if ch in _ASCII_PUNCT:
        return "\\" + ch
    return f"\\x{{{cp:X}}}" if flavor == "re2" else f"\\U{cp:08X}"


def _render_set(node: CharSet, flavor: Flavor) -> str:
    if node.negated and not node.ranges:
        return "(?s:.)"
    if not node.ranges:
        raise RegexSyntaxError("empty character set")
    if not node.negated and len(node.ranges) == 1 and node.ranges[0][0] == node.ranges[0][1]:
        return _render_char(node.ranges[0][0], flavor)
    parts = []
    for lo, hi in node.ranges:
        parts.append(_render_char(lo, flavor))
        if hi != lo:
            parts.append(
                "-" + _render_char(hi, flavor) if hi > lo + 1 else _render_char(hi, flavor)
            )
    return "[" + ("^" if node.negated else "") + "".join(parts) + "]"


# The Python renderings reproduce RE2's semantics: an ASCII word boundary, and a multi-line `^`
# that does not match after a final newline.
_PY_WORD = "[0-9A-Za-z_]"
_ANCHORS: dict[str, dict[Flavor, str]] = {
    "text_start": {"re2": r"\A", "python": r"\A"},
    "text_end": {"re2": r"\z", "python": r"\Z"},
    "line_start": {"re2": "(?m:^)", "python": r"(?:\A|(?<=\n)(?!\Z))"},
    "line_end": {"re2": "(?m:$)", "python": "(?m:$)"},
    "word_boundary": {
        "re2": r"\b",
        "python": f"(?:(?<={_PY_WORD})(?!{_PY_WORD})|(?<!{_PY_WORD})(?={_PY_WORD}))",
    },
}


def render(node: Node, flavor: Flavor) -> str:
    """Render a syntax tree as a pattern string for one engine."""
    if isinstance(node, CharSet):
        return _render_set(node, flavor)
    if isinstance(node, Anchor):
        return _ANCHORS[node.kind][flavor]
    if isinstance(node, Concat):
        return "".join(render(item, flavor) for item in node.items)
    if isinstance(node, Alternation):
        return "(?:" + "|".join(render(option, flavor) for option in node.options) + ")"
    inner = render(node.item, flavor)
    if not isinstance(node.item, CharSet | Alternation):
        inner = f"(?:{inner})"
    if (node.min, node.max) == (0, None):
        quantifier = "*"
    elif (node.min, node.max) == (1, None):
        quantifier = "+"
    elif (node.min, node.max) == (0, 1):
        quantifier = "?"
    elif node.max is None:
        quantifier = f"{{{node.min},}}"
    elif node.max == node.min:
        quantifier = f"{{{node.min}}}"
    else:
        quantifier = f"{{{node.min},{node.max}}}"
    return inner + quantifier + ("?" if node.lazy else "")


@functools.lru_cache(maxsize=256)
def _compile_python(rendered: str) -> re.Pattern[str]:
    return re.compile(rendered)


def compile_python(node: Node) -> re.Pattern[str]:
    """The Python `re` pattern equivalent to `node` (cached)."""
    return _compile_python(render(node, "python"))

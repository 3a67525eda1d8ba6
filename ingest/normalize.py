"""Text normalization used by the ingest policy.

Two different jobs, kept apart on purpose:
- `normalize_text` is what the policy applies to the stored text. It is
  conservative (Unicode form, newlines, control characters, outer whitespace)
  so `raw.comments` stays close to what was received; dbt's staging layer does
  the cleaning for features.
- `dedupe_key` is aggressive: two texts that a reader would call the same
  (case, invisible characters, HTML escaping, spacing) get the same key.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

# Zero-width, bidi and BOM characters that change bytes but not what a reader sees.
INVISIBLE_CHARS = (
    "\ufeff\u200b\u200c\u200d\u2060\u00ad"
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_INVISIBLE_RE = re.compile(f"[{INVISIBLE_CHARS}]")
# C0/C1 control characters except tab and newline.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TAG_RE = re.compile(r"<[^<>]{0,500}>")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class NormalizeRules:
    """The `normalize:` block of the ingest policy."""

    unicode_form: str | None = "NFC"
    normalize_newlines: bool = True
    strip_control_chars: bool = True
    strip_whitespace: bool = True


def has_control_chars(text: str) -> bool:
    """True when the text holds control characters other than tab and newline."""
    return _CONTROL_RE.search(text.replace("\r", "")) is not None


def normalize_text(text: str, rules: NormalizeRules) -> str:
    """Apply the policy's normalization to a stored text."""
    if rules.normalize_newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if rules.strip_control_chars:
        text = _CONTROL_RE.sub("", text)
    if rules.unicode_form:
        text = unicodedata.normalize(rules.unicode_form, text)
    if rules.strip_whitespace:
        text = text.strip()
    return text


def unescape_html(text: str, max_rounds: int = 3) -> str:
    """Unescape until stable: real data holds double-escaped entities (`&amp;#39;`)."""
    for _ in range(max_rounds):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return text


def dedupe_key(text: str) -> str:
    """The key under which two texts count as the same comment."""
    text = unescape_html(text)
    text = _TAG_RE.sub(" ", text)
    text = _INVISIBLE_RE.sub("", text)
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE_RE.sub(" ", text).strip()

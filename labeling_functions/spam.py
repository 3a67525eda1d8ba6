"""Spam vs ham for short user comments: the default task's labeling functions.

Each LF encodes one heuristic a moderator would state; none is expected to be right
everywhere, which is what the label model is for. They read the columns of
`comment_features` (clean `text` plus counts). None uses whether a comment has a date: in
the reference data that alone gives the label away.

Spam LFs are precise and narrow (each catches one kind of promotion); ham LFs are broad,
and the widest, `no_promotion`, votes ham on comments that show none of the promotion cues,
so that almost every comment gets at least one vote. Declarative LFs run as SQL inside the
warehouse; the Python LFs combine a text cue with a condition (a cue and the absence of
another, or two counts), which one declarative LF cannot express. Their text cues are RE2
patterns, matched case-insensitively over whole Arrow columns: the same engine as the SQL LFs.

A Python LF's version covers the helpers and constants of this module that it uses
(`contains`, `PROMOTION`, ...), so editing a cue changes the version of every LF using it.
"""

import re

import numpy as np
import pandas as pd

from weak_supervision import (
    ABSTAIN,
    KeywordLF,
    LabelingFunction,
    RegexLF,
    ThresholdLF,
    labeling_function,
    regex,
)

CLASSES = ("ham", "spam")
HAM, SPAM = 0, 1


def describe(doc: str, lf: LabelingFunction) -> LabelingFunction:
    """Give a declarative LF its one-line description (Python LFs use their docstring)."""
    lf.__doc__ = doc
    return lf


def cue(pattern: str) -> str:
    """A Python LF's text cue: the RE2 `pattern`, case-insensitive, checked when defined."""
    regex.compiled(f"(?i){pattern}")  # a bad cue fails at import, not mid-run
    return f"(?i){pattern}"


def contains(texts: pd.Series, pattern: str) -> np.ndarray:
    """Whether each text matches the cue `pattern` (NULL: no), with RE2 over the whole column."""
    return regex.search(texts, pattern)


def counts(batch: pd.DataFrame, column: str) -> np.ndarray:
    """A count column as floats, NULL as 0."""
    return batch[column].to_numpy(dtype=np.float64, na_value=0.0)


# Links, calls to action and one's own content: what a comment that promotes something says.
PROMOTION = cue(
    r"http|www|\.com|subscri|channel|check\s*(it |this |me |my )?out|\bcheck my\b|please|plz"
    r"|follow me|\bmy (new |latest |first )?(video|music|song|page|rap|track)"
)
# Love, hate, laughter, swearing: a viewer reacting to what they watched.
EMOTION = cue(
    r"\b(love|loved|hate|lol|haha\w*|lmao|xd|funny|sucks?|shit|fuck\w*|miss|cry|omg|wow)\b"
    r"|<3|\x{2665}|:\)|:d\b"
)

# ----------------------------------------------------------------------------- spam

has_link = describe(
    "Links are how spam gets clicks; people reacting to a video rarely post one.",
    ThresholdLF("has_link", column="url_count", op=">", value=0, label=SPAM),
)

bare_domain = describe(
    "A domain name written out ('site. com') is a link that dodges link filters.",
    RegexLF(
        "bare_domain",
        r"[a-z0-9]\s?\.\s?(com|net|org|info|biz|ly|tk|me|co)\b",
        label=SPAM,
        flags=re.IGNORECASE,
    ),
)

asks_to_subscribe = describe(
    "Asking for subscribers (in any spelling) is self-promotion.",
    RegexLF(
        "asks_to_subscribe",
        r"subscri|suscri|sucscri|sub4sub|\bsubs?\b",
        label=SPAM,
        flags=re.IGNORECASE,
    ),
)

check_out = describe(
    "'Check out my ...' / 'take a look' is the classic spam opener.",
    RegexLF(
        "check_out",
        r"check\s*(it\s*|me\s*|this\s*)?out|checkout|\bcheck (my|me)\b|\btake a look\b",
        label=SPAM,
        flags=re.IGNORECASE,
    ),
)

my_channel = describe(
    "Pointing at a channel, or at one's own page, videos or music, is promotion.",
    RegexLF(
        "my_channel",
        r"\bchannel\b|\bmy\s+(\w+\s+)?(page|videos?|vids?|music|songs?|playlist|raps?|band|covers?)\b",
        label=SPAM,
        flags=re.IGNORECASE,
    ),
)

please_plea = describe(
    "Begging for views, likes or follows.",
    RegexLF("please_plea", r"\b(please|plz|pls|plzz)\b", label=SPAM, flags=re.IGNORECASE),
)

money_and_free = describe(
    "Offers of money, gifts or prizes.",
    KeywordLF(
        "money_and_free",
        [
            "free",
            "money",
            "earn",
            "cash",
            "gift",
            "giveaway",
            "win",
            "prize",
            "$",
            "paypal",
            "amazon",
            "itunes",
            "bitcoin",
        ],
        label=SPAM,
        whole_word=False,
    ),
)

social_follow = describe(
    "Requests to follow, add or visit elsewhere, and like-for-like trades.",
    KeywordLF(
        "social_follow",
        [
            "follow me",
            "like my",
            "add me",
            "facebook",
            "instagram",
            "twitter",
            "share this",
            "visit",
            "follow 4",
            "like 4 like",
            "f4f",
            "l4l",
        ],
        label=SPAM,
        whole_word=False,
    ),
)

like_bait = describe(
    "'Like this comment if ...' farms likes to push the comment up.",
    RegexLF(
        "like_bait",
        r"\b(like|thumbs? up)\b.{0,15}\bcomment\b|\bthumbs? up if\b|\blike if\b",
        label=SPAM,
        flags=re.IGNORECASE,
    ),
)

repeated_text = describe(
    "The same text posted before (by anyone) is copy-paste spam.",
    ThresholdLF("repeated_text", column="text_prior_count", op=">", value=0, label=SPAM),
)

repeat_author = describe(
    "Authors who keep commenting on the videos are working the comment section.",
    ThresholdLF("repeat_author", column="author_prior_comments", op=">", value=0, label=SPAM),
)

long_comment = describe(
    "Reactions are short; a comment of more than 200 characters is usually a pitch.",
    ThresholdLF("long_comment", column="char_count", op=">", value=200, label=SPAM),
)

self_pitch = describe(
    "Introducing oneself or one's group ('I make', 'we are', 'my name is') sells something.",
    RegexLF(
        "self_pitch",
        r"\b(i make|i am a|i'm a|we are|our|my name is)\b",
        label=SPAM,
        flags=re.IGNORECASE,
    ),
)

# ----------------------------------------------------------------------------- ham

song_praise = describe(
    "Praise for the song or the video is what genuine viewers write.",
    RegexLF(
        "song_praise",
        r"\b(love|like|best|awesome|amazing|beautiful|great|nice|cool)\b.{0,25}\b(song|video|"
        r"music|voice|dance|beat|lyrics|clip)\b",
        label=HAM,
        flags=re.IGNORECASE,
    ),
)

views_talk = describe(
    "Talk about the view count or the year is typical of genuine viewers.",
    RegexLF(
        "views_talk",
        r"\b(billion|million)\b|\bviews?\b.{0,20}\b(20\d\d|year)\b"
        r"|\b(check|see|checking) (the|how many) views?\b|\bview count\b",
        label=HAM,
        flags=re.IGNORECASE,
    ),
)


@labeling_function
def short_comment(batch: pd.DataFrame) -> np.ndarray:
    """Spam needs words or a link to sell something: a short comment without one reacts."""
    short = (counts(batch, "word_count") < 5) & (counts(batch, "url_count") == 0)
    return np.where(short, HAM, ABSTAIN)


@labeling_function
def no_promotion(batch: pd.DataFrame) -> np.ndarray:
    """No link and none of the PROMOTION cues: a remark about the video, not an ad."""
    quiet = ~contains(batch["text"], PROMOTION) & (counts(batch, "url_count") == 0)
    return np.where(quiet, HAM, ABSTAIN)


@labeling_function
def emotional_reaction(batch: pd.DataFrame) -> np.ndarray:
    """Love, hate, laughter or swearing (EMOTION) with no PROMOTION cue: a viewer reacting."""
    text = batch["text"]
    reacting = contains(text, EMOTION) & ~contains(text, PROMOTION)
    return np.where(reacting, HAM, ABSTAIN)


LFS = [
    has_link,
    bare_domain,
    asks_to_subscribe,
    check_out,
    my_channel,
    please_plea,
    money_and_free,
    social_follow,
    like_bait,
    repeated_text,
    repeat_author,
    long_comment,
    self_pitch,
    song_praise,
    views_talk,
    short_comment,
    no_promotion,
    emotional_reaction,
]

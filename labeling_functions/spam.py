"""Spam vs ham for short user comments: the default task's labeling functions.

Each LF encodes one heuristic a moderator would state; none is expected to be
right everywhere, which is what the label model is for. They read the columns of
`comment_features` (clean `text` plus counts). None uses whether a comment has a
date: in the reference data that alone gives the label away.
"""

import re

import numpy as np
import pandas as pd

from weak_supervision import KeywordLF, LabelingFunction, RegexLF, ThresholdLF, labeling_function

CLASSES = ("ham", "spam")
HAM, SPAM = 0, 1


def describe(doc: str, lf: LabelingFunction) -> LabelingFunction:
    """Give a declarative LF its one-line description (Python LFs use their docstring)."""
    lf.__doc__ = doc
    return lf


has_link = describe(
    "Links are how spam gets clicks; people reacting to a video rarely post one.",
    ThresholdLF("has_link", column="url_count", op=">", value=0, label=SPAM),
)

asks_to_subscribe = describe(
    "Asking for subscribers is self-promotion.",
    KeywordLF(
        "asks_to_subscribe", ["subscribe", "subscribers", "subs", "sub4sub", "sub"], label=SPAM
    ),
)

check_out = describe(
    "'Check out my ...' is the classic spam opener.",
    RegexLF("check_out", r"check\s*(it\s*)?out|checkout", label=SPAM, flags=re.IGNORECASE),
)

my_channel = describe(
    "Pointing at one's own channel or content is promotion.",
    RegexLF(
        "my_channel",
        r"\bmy\s+(channel|page|video|music|song|playlist|vids?)\b",
        label=SPAM,
        flags=re.IGNORECASE,
    ),
)

please_plea = describe(
    "Begging for views, likes or follows.",
    KeywordLF("please_plea", ["please", "plz", "pls", "plzz"], label=SPAM),
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
    "Requests to follow or visit elsewhere.",
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
        ],
        label=SPAM,
        whole_word=False,
    ),
)

short_comment = describe(
    "Spam needs words to sell something; very short comments are reactions.",
    ThresholdLF("short_comment", column="word_count", op="<", value=5, label=HAM),
)

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
        r"\b(billion|million)\b|\bviews?\b.{0,20}\b(20\d\d|year)\b",
        label=HAM,
        flags=re.IGNORECASE,
    ),
)


@labeling_function
def shouting(batch: pd.DataFrame) -> np.ndarray:
    """Long comments written mostly in capitals are attention-seeking."""
    loud = (batch["uppercase_ratio"].fillna(0) > 0.6) & (batch["char_count"].fillna(0) >= 20)
    return np.where(loud, SPAM, -1)


@labeling_function
def repeated_text(batch: pd.DataFrame) -> np.ndarray:
    """The same text posted before (by anyone) is copy-paste spam."""
    return np.where(batch["text_prior_count"].fillna(0) > 0, SPAM, -1)


@labeling_function
def long_and_first_person(batch: pd.DataFrame) -> np.ndarray:
    """Long first-person pitches ('I make', 'we are', 'our') sell something."""
    text = batch["text"].fillna("").str.lower()
    pitch = text.str.contains(r"\b(?:i make|i am a|i'm a|we are|our|my name is)\b", regex=True)
    return np.where(pitch & (batch["word_count"].fillna(0) >= 12), SPAM, -1)


LFS = [
    has_link,
    asks_to_subscribe,
    check_out,
    my_channel,
    please_plea,
    money_and_free,
    social_follow,
    short_comment,
    song_praise,
    views_talk,
    shouting,
    repeated_text,
    long_and_first_person,
]

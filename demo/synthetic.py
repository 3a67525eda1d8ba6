"""A synthetic comment stream with gold labels, for demos, scale tests and benchmarks.

Comments are built from templates and vocabularies (no external data): ham is
opinion about a song, its video or its artist; spam advertises channels, links,
giveaways and phone numbers. Some templates are shared by both classes, and
"check out", "channel" or "subscribe" occur on both sides, so the classes are
not trivially separable. Authors follow Zipf-like activity, spammers more
heavily so. With `noise` on, the stream carries the defects ingest must handle:
re-sent records, reposts under a new id, invisible characters, HTML, late,
missing or malformed dates and a few unparseable records.

Each day is generated from its own seed, `(seed, day)`: a day's files do not
depend on `start` or `days`, so landing a range in one call or day by day gives
byte-identical files. Random draws are vectorised with numpy; strings are
assembled in tight comprehensions, the one part that costs per record.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import html
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring  # the C escaper json.dumps uses

import numpy as np

from demo.labels import LandedFile, LandingReport, class_counts, write_labels
from storage.object_store import ObjectStore

FORMATS = ("jsonl", "csv", "jsonl.gz", "csv.gz")
SECONDS_PER_DAY = 86_400

# Videos the comments belong to: (artist, song). Ham usually talks about its own video.
VIDEOS = [
    ("Luna Vale", "Midnight Drive"),
    ("The Static Hearts", "Paper Planes"),
    ("DJ Marlow", "Golden Hour"),
    ("Kira Nox", "Neon Rain"),
    ("Echo Park Kids", "Summer Static"),
    ("Rafa Solís", "Corazón de Fuego"),
    ("Mina Park", "Starlight"),
    ("Northbound", "Lost Signals"),
    ("Jules & the Foxes", "Runaway"),
    ("Big Tone", "Hustle Season"),
    ("Aya Mori", "Blue Lanterns"),
    ("Oslo Drift", "Cold Coffee"),
]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


SOURCES = [_slug(f"{a} {s}") for a, s in VIDEOS]

# Vocabulary tables read better packed than one item per line.
# fmt: off
ADJ = [
    "amazing", "good", "beautiful", "catchy", "underrated", "epic", "awesome", "perfect",
    "brilliant", "incredible", "emotional", "addictive", "fire", "legendary", "relaxing",
]
_VOCAB: dict[str, list[str]] = {
    "adj": ADJ,
    "adj_cap": [a.capitalize() for a in ADJ],
    "part": [
        "chorus", "beat", "bridge", "dance", "video", "drop", "ending", "intro", "voice",
        "lyrics", "guitar solo", "bass line",
    ],
    "relative": [
        "mom", "little sister", "dad", "brother", "best friend", "grandma", "kids", "girlfriend",
        "boyfriend", "roommate",
    ],
    "memory": [
        "summer 2014", "my first car", "high school", "my wedding", "road trips with my dad",
        "my ex lol", "the best year of my life", "my childhood",
    ],
    "country": [
        "Brazil", "Poland", "the Philippines", "India", "Mexico", "Germany", "Egypt", "Vietnam",
        "Nigeria", "Canada", "Turkey", "Indonesia", "Chile", "Morocco",
    ],
    "city": ["Berlin", "São Paulo", "Manila", "Chicago", "Lagos", "Madrid", "Seoul", "Lima"],
    "event": [
        "Grammys", "halftime show", "concert last night", "TikTok trend", "movie trailer",
        "award show",
    ],
    "place": [
        "the radio", "a TikTok", "my Spotify playlist", "the movie", "Reddit", "a Netflix show",
        "my friend's story",
    ],
    "occasion": ["wedding", "prom", "graduation", "birthday party", "first dance"],
    "love": ["love", "love", "LOVE", "loooove", "luv", "adore"],
    "so": ["so", "so", "soooo", "sooo", "really", "super", "sooooooo"],
    "punct": ["", "", "!", "!!", "!!!", " :)", " <3", "...", " xD", "!!!!!!"],
    "excl": ["!", "!!", "!!!", "!!!!!!", " !!!", ""],
    "please": ["please", "pls", "plz", "pleeease", "PLEASE", "pleaseeee"],
    "emoji": ["❤", "😍", "🔥", "👍", "😂", "🎶", "💯", "🙏", "😭", "👌", "✌", "😎"],
    "views": ["1 billion", "500 million", "2 billion", "800M", "3 billion"],
    "prize": [
        "iPhone 6", "PS4", "$500 Amazon gift card", "Xbox One", "iPad", "$100 PayPal cash",
        "Galaxy S6", "Steam gift card",
    ],
    "money": ["500", "1000", "2500", "3000", "5000", "750"],
    "content": [
        "music covers", "prank videos", "gaming videos", "makeup tutorials", "beats", "vlogs",
        "Minecraft let's plays", "rap songs", "funny animal videos", "dance covers",
    ],
    "subs": ["1000", "10K", "500", "100k", "5,000", "2k"],
    "social": ["twitter", "instagram", "facebook", "soundcloud", "snapchat"],
    "job": ["rapper", "singer", "producer", "gamer", "student", "DJ", "beatmaker"],
    "offer": [
        "cheap followers", "free likes", "a free trial", "50% off", "real views",
        "1000 subscribers in 24h",
    ],
    "action": ["like this comment", "subscribe", "share this", "click the link"],
    "lucky": ["lucky for 10 years", "rich", "happy forever", "loved by everyone"],
    "n": ["5", "10", "50", "100", "1000"],
    "age": [str(a) for a in range(13, 26)],
    "year": [str(y) for y in range(2013, 2025)],
    "other_artist": [a for a, _ in VIDEOS],
    "other_song": [s for _, s in VIDEOS],
}
_FIRST = [
    "Anna", "Lucas", "Maria", "John", "Sofia", "Ahmed", "Mei", "Carlos", "Olga", "David",
    "Fatima", "Kevin", "Yuki", "Emma", "Ivan", "Priya", "Tom", "Lina", "Mateo", "Chloe", "Omar",
    "Hana", "Pedro", "Grace", "Ali", "Zoe", "Nikolai", "Ama", "Diego", "Sara",
]
_LAST = [
    "Smith", "Silva", "Nguyen", "Kowalski", "Garcia", "Kim", "Müller", "Okafor", "Rossi",
    "Ivanova", "Haddad", "Tanaka", "Brown", "Santos", "Novak", "Patel", "Lopez", "Yilmaz",
]
_BRANDS = [
    "Music", "Beats", "Gaming", "Promo", "Vlogs", "Official", "TV", "Studio", "Records", "Covers",
    "Money", "Deals",
]
# fmt: on

HAM_TEMPLATES = [
    "I {love} this song{punct}",
    "{artist} never disappoints{punct}",
    "This song reminds me of {memory}",
    "Who else is still listening to {song} in {year}?",
    "{song} is {adj} but {other_song} is still my favourite",
    "The {part} at {time} is {so} {adj}{punct}",
    "My {relative} plays this song every day{punct}",
    "I can't stop listening to this{punct}",
    "{adj_cap} video, the {part} is {so} {adj}",
    "Not a big fan of {artist} but this one is {adj}",
    "{artist} and {other_artist} need to do a song together",
    "Anyone here after the {event}?",
    "{views} views and it's still {adj}",
    "the {part} gives me chills every time",
    "Honestly the best song of {year}{punct}",
    "I came here from {place}",
    "Check out the live version of {song}, it's even better",
    "I do covers on my channel too but nobody beats the original{punct}",
    "{artist} you are my inspiration, greetings from {country}{punct}",
    "lol the {part} at {time}",
    "Why does this have dislikes? It's {adj}",
    "Watching this with my {relative}, we {love} it",
    "{song} was playing at my {occasion} <3",
    "This is {so} {adj}{punct}",
    "The lyrics hit different when you're older",
    "{artist}'s voice is {so} {adj}",
    "When I hear this I think of {memory}",
    "Can someone tell me what happens at {time}?",
    "Saw {artist} live in {city}, best night ever",
    "{year} and I still know every word",
    "The dancers in this video are {adj}",
    "Listening to this on repeat while studying for my exams",
    "I don't usually comment but this song deserves it",
    "My {relative} showed me this and now I'm obsessed",
    "Shout out to the director, the {part} looks {adj}",
    "Subscribed to {artist} years ago and never regretted it",
]
SPAM_TEMPLATES = [
    "Check out my channel {url}",
    "Hey guys {please} subscribe to my channel, I make {content} {emoji}",
    "{please} subscribe to me, I'm trying to reach {subs} subscribers{excl}",
    "Win a free {prize}{excl} Go to {url}",
    "Earn ${money} a week working from home, visit {url}",
    "Call {phone} for {offer}",
    "SUBSCRIBE TO MY CHANNEL{excl}",
    "I {love} this song! Check out my cover of {song} {url}",
    "Follow me on {social} {handle}{excl}",
    "Hi, I'm a {age} year old {job} from {country}. {please} check out my videos {emoji}",
    "{song} is {adj}! also {please} check my channel",
    "Free {prize} giveaway, the first {n} people to {action} get one: {url}",
    "Go to {url} and get {offer}",
    "Text {phone} now to claim your {prize}",
    "{url}",
    "Help me get to {subs} subs {please}",
    "Whoever reads this will be {lucky}. Check my channel {emoji}",
    "Hey everyone, I just uploaded a new video with {content} {url}",
    "{adj_cap} song! {url}",
    "I'm giving away one {prize} to a subscriber, details on my channel{excl}",
    "Get {offer} for your channel at {url}",
    "Want to make money online? Message me on {social} {handle}",
    "Visit my channel for {content}, new video every day{excl}",
    "{please} give my music a chance, just one listen {url}",
    "Only {n} people will see this... check out my channel {emoji}",
    "Who wants a free {prize}? Reply to this comment and visit {url}",
    "Call me {phone} lovely girl waiting for you xxx",
    "If you {love} {artist} you will love my remix {url}",
    "I'm a small {job} and I'd {love} some feedback on my {content}",
]
# Drawn by both classes alike: the irreducible ambiguity of real comment sections.
SHARED_TEMPLATES = [
    "first{punct}",
    "{emoji}{emoji}",
    "Who is watching this in {year}?",
    "Like if you're watching in {year}{punct}",
    "{love} it{punct}",
    "Hi everyone {emoji}",
    "{song}{punct}",
    "Thumbs up if you think this deserves more views",
]
SHARED_SHARE = 0.08

# Record-level styles (ham, spam probability); they survive `noise=False`.
_STYLES = {"caps": (0.03, 0.12), "lower": (0.20, 0.10), "emoji": (0.12, 0.15)}
# Text noise, independent of the class so that it does not leak the label.
_TEXT_NOISE = {
    "html": 0.06,
    "br": 0.03,
    "newline": 0.005,
    "zero_width": 0.02,
    "bidi": 0.01,
    "bom": 0.10,
}
# How each text defect shows in a landed text (what the report counts).
CONTENT_NOISE = {
    "bom": re.compile("\ufeff"),
    "zero_width": re.compile("\u200b"),
    "bidi": re.compile("[\u200e\u202b\u202c]"),
    "html": re.compile(r"&(?:amp|lt|gt|quot|#39);|<br />|<a href="),
    "newline": re.compile("\n"),
}
_TAG = re.compile(r"<[^<>]*>")
_INVISIBLE = re.compile("[\ufeff\u200b\u200e\u202b\u202c]")
_ANCHOR_SHARE = 0.25  # of URLs, rendered as an <a> tag when noise is on
_SIGNOFFS = ["lol", "❤", "greetings from Brazil", "xD", "anyway", "who's with me?"]
_BAD_DATES = ["yesterday", "{d}T25:61:00", "0000-00-00T00:00:00", "{m}-32T08:15:00", "unknown"]

# Per-record date categories and their shares among originals when noise is on.
_DATE_OK, _DATE_LATE, _DATE_MISSING, _DATE_BAD = range(4)
_DATE_SHARES = [0.94, 0.03, 0.02, 0.01]
_DUPLICATE_SHARE = 0.02  # exact re-sends (same comment_id), of a day's records
_REPOST_SHARE = 0.015  # same author and text under a new id, mostly spam bots
_MALFORMED_EVERY = 5000  # one record per kind per this many (at least one from 100 up)
_OK, _BAD_LINE, _MISSING_TEXT, _EMPTY_TEXT, _INVALID_UTF8 = range(5)
_KIND_NAMES = {
    _BAD_LINE: "bad_line",
    _MISSING_TEXT: "missing_text",
    _EMPTY_TEXT: "empty_text",
    _INVALID_UTF8: "invalid_utf8",
}

_HANDLE_WORDS = ["beatz", "kingmusic", "freegifts", "djlife", "vlogqueen", "promo", "rapgod"]
_URL_SHAPES = [
    "http://bit.ly/{t7}",
    "https://www.youtube.com/watch?v={t}",
    "www.{s}.com",
    "http://{s}.net/?ref={t5}",
    "https://goo.gl/{t5}",
]
_SITES = ["freegiftcards", "bestdeals4u", "musicpromo", "getfollowers", "cashclub", "winbig"]
_ALNUM = np.frombuffer(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "u1")
_ID_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", "u1"
)
_COLUMNS = ("comment_id", "author", "text", "published_at", "source")
_JSON_LINE = '{"comment_id": %s, "author": %s, "text": %s, "published_at": %s, "source": %s}\n'
_JSON_NO_TEXT = '{"comment_id": %s, "author": %s, "published_at": %s, "source": %s}\n'


def _tokens(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray) -> list[str]:
    """`n` random strings of `length` characters from an ASCII alphabet, without a loop."""
    codes = alphabet[rng.integers(0, len(alphabet), size=(n, length))]
    return codes.view(f"S{length}").ravel().astype(f"U{length}").tolist()


def _pick(rng: np.random.Generator, values: Sequence[str], n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.integers(0, len(values), size=n)]


def _url(rng: np.random.Generator, n: int, noise: bool) -> np.ndarray:
    kind = rng.integers(0, len(_URL_SHAPES), size=n)
    tok = _tokens(rng, n, 11, _ALNUM)
    site = _pick(rng, _SITES, n)
    urls = np.array(
        [
            _URL_SHAPES[k].format(t=t, t5=t[:5], t7=t[:7], s=s)
            for k, t, s in zip(kind.tolist(), tok, site, strict=True)
        ],
        dtype=object,
    )
    if noise:
        tag = rng.random(n) < _ANCHOR_SHARE
        urls[tag] = [f'<a href="{u}">{u}</a>' for u in urls[tag]]
    return urls


def _phone(rng: np.random.Generator, n: int, noise: bool) -> list[str]:
    area = rng.integers(200, 1000, size=n).tolist()
    line = rng.integers(0, 10_000, size=n).tolist()
    dashed = (rng.random(n) < 0.5).tolist()
    return [
        f"{a}-555-{b:04d}" if d else f"+1 ({a}) 555-{b:04d}"
        for a, b, d in zip(area, line, dashed, strict=True)
    ]


def _handle(rng: np.random.Generator, n: int, noise: bool) -> list[str]:
    words = _pick(rng, _HANDLE_WORDS, n)
    nums = rng.integers(1, 1000, size=n).tolist()
    return [f"@{w}{k}" for w, k in zip(words, nums, strict=True)]


def _clock(rng: np.random.Generator, n: int, noise: bool) -> list[str]:
    secs = rng.integers(5, 300, size=n).tolist()
    return [f"{s // 60}:{s % 60:02d}" for s in secs]


_GENERATED: dict[str, Callable[[np.random.Generator, int, bool], Sequence[str]]] = {
    "url": _url,
    "phone": _phone,
    "handle": _handle,
    "time": _clock,
}


@dataclass(frozen=True)
class _Template:
    fmt: str  # %-format string
    slots: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> _Template:
        slots = tuple(re.findall(r"\{(\w+)\}", text))
        unknown = set(slots) - set(_VOCAB) - set(_GENERATED) - {"artist", "song"}
        if unknown:
            raise ValueError(f"template {text!r} uses unknown slots {sorted(unknown)}")
        return cls(re.sub(r"\{\w+\}", "%s", text.replace("%", "%%")), slots)


_HAM = [_Template.parse(t) for t in HAM_TEMPLATES]
_SPAM = [_Template.parse(t) for t in SPAM_TEMPLATES]
_SHARED = [_Template.parse(t) for t in SHARED_TEMPLATES]


def _fill(
    rng: np.random.Generator,
    templates: list[_Template],
    rows: np.ndarray,
    video: np.ndarray,
    out: np.ndarray,
    noise: bool,
) -> None:
    """Write texts for `rows` into `out`, one uniformly chosen template per row."""
    choice = rng.integers(0, len(templates), size=len(rows))
    for t, template in enumerate(templates):
        idx = rows[choice == t]
        if len(idx) == 0:
            continue
        columns = []
        for slot in template.slots:
            if slot in ("artist", "song"):
                columns.append(np.asarray(VIDEOS, dtype=object)[video[idx], int(slot == "song")])
            elif slot in _GENERATED:
                columns.append(_GENERATED[slot](rng, len(idx), noise))
            else:
                columns.append(_pick(rng, _VOCAB[slot], len(idx)))
        if columns:
            out[idx] = [template.fmt % values for values in zip(*columns, strict=True)]
        else:
            out[idx] = template.fmt % ()


def _apply(
    rng: np.random.Generator, texts: np.ndarray, share: float | np.ndarray, fn: Callable
) -> None:
    """Transform a random `share` of `texts` in place (a share per row is allowed)."""
    hit = np.flatnonzero(rng.random(len(texts)) < share)
    texts[hit] = [fn(t) for t in texts[hit]]


def _with_entities(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("'", "&#39;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _with_bidi(text: str) -> str:
    """A left-to-right mark, or the text wrapped in a right-to-left embedding."""
    return f"\u200e{text}" if len(text) % 2 else f"\u202b{text}\u202c"


def _texts(
    rng: np.random.Generator, spam: np.ndarray, noise: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Comment texts for a class vector, and the video index each one was posted under."""
    n = len(spam)
    weights = 1.0 / np.arange(1, len(VIDEOS) + 1) ** 0.7
    video = rng.choice(len(VIDEOS), size=n, p=weights / weights.sum())
    texts = np.empty(n, dtype=object)
    shared = rng.random(n) < SHARED_SHARE
    _fill(rng, _SHARED, np.flatnonzero(shared), video, texts, noise)
    _fill(rng, _HAM, np.flatnonzero(~shared & ~spam), video, texts, noise)
    _fill(rng, _SPAM, np.flatnonzero(~shared & spam), video, texts, noise)

    def by_class(style: str) -> np.ndarray:
        return np.where(spam, _STYLES[style][1], _STYLES[style][0])

    _apply(rng, texts, by_class("caps"), str.upper)
    _apply(rng, texts, by_class("lower"), str.lower)
    emoji = _pick(rng, _VOCAB["emoji"], n)
    hit = np.flatnonzero(rng.random(n) < by_class("emoji"))
    texts[hit] = [f"{t} {e}" for t, e in zip(texts[hit], emoji[hit], strict=True)]
    if noise:
        signoff = iter(_pick(rng, _SIGNOFFS, n).tolist())
        _apply(rng, texts, _TEXT_NOISE["html"], _with_entities)
        _apply(rng, texts, _TEXT_NOISE["br"], lambda t: f"{t}<br />{next(signoff)}")
        _apply(rng, texts, _TEXT_NOISE["newline"], lambda t: f"{t}\n{next(signoff)}")
        _apply(rng, texts, _TEXT_NOISE["zero_width"], lambda t: t.replace(" ", " \u200b", 1))
        _apply(rng, texts, _TEXT_NOISE["bidi"], _with_bidi)
        _apply(rng, texts, _TEXT_NOISE["bom"], lambda t: t + "\ufeff")
    return texts, video


def generate_texts(
    n: int, seed: int = 0, spam_share: float = 0.45, noise: bool = True
) -> tuple[list[str], np.ndarray]:
    """`n` comment texts and their class indices (0 ham, 1 spam), in memory, for benchmarks."""
    rng = np.random.default_rng([seed, 2])
    spam = rng.random(n) < spam_share
    texts, _ = _texts(rng, spam, noise)
    return texts.tolist(), spam.astype(np.int64)


def _unique(names: list[str]) -> list[str]:
    """Suffix repeated names (" 2", " 3", ...): ingest knows authors by name only."""
    seen: set[str] = set()
    repeats: Counter[str] = Counter()
    out = []
    for name in names:
        candidate = name
        while candidate in seen:
            repeats[name] += 1
            candidate = f"{name} {repeats[name] + 1}"
        seen.add(candidate)
        out.append(candidate)
    return out


@dataclass(frozen=True)
class _Authors:
    """Author pools, one per class, with Zipf-like posting weights (spammers steeper)."""

    names: np.ndarray  # ham pool, then spam pool
    ham_cdf: np.ndarray
    spam_cdf: np.ndarray

    @classmethod
    def build(cls, seed: int, per_day: int) -> _Authors:
        rng = np.random.default_rng([seed, 3])
        n_ham, n_spam = max(50, per_day), max(10, per_day // 20)
        first, last = _pick(rng, _FIRST, n_ham + n_spam), _pick(rng, _LAST, n_ham + n_spam)
        brand = _pick(rng, _BRANDS, n_ham + n_spam)
        num = rng.integers(1, 10_000, size=n_ham + n_spam).tolist()
        shape = rng.integers(0, 4, size=n_ham + n_spam).tolist()
        ham_shapes = ["{f} {l}", "{f}{l}{n}", "{f} {l0}.", "{f} {l}"]
        spam_shapes = ["{f} {l}", "{f}{b} {n}", "DJ {f} {b}", "{f} {l} {b}"]
        names = _unique(
            [
                (ham_shapes if i < n_ham else spam_shapes)[s].format(
                    f=first[i], l=last[i], l0=last[i][0], n=num[i], b=brand[i]
                )
                for i, s in enumerate(shape)
            ]
        )

        def cdf(size: int, exponent: float, offset: float) -> np.ndarray:
            """Zipf-Mandelbrot: rank k posts in proportion to 1 / (k + offset) ** exponent."""
            weights = np.cumsum(1.0 / (np.arange(1, size + 1) + offset) ** exponent)
            return weights / weights[-1]

        # Regulars are flatter than bots: the top spammer posts far more than any fan.
        ham, spam = cdf(n_ham, 0.9, 10.0), cdf(n_spam, 1.1, 2.0)
        return cls(np.asarray(names, dtype=object), ham, spam)

    def draw(self, rng: np.random.Generator, spam: np.ndarray, zipf: bool = True) -> np.ndarray:
        """Pool index per row: Zipf-weighted, or uniform (used to break chance collisions)."""
        u = rng.random(len(spam))
        n_ham, n_spam = len(self.ham_cdf), len(self.spam_cdf)
        if zipf:
            ham = np.searchsorted(self.ham_cdf, u, side="right")
            bot = n_ham + np.searchsorted(self.spam_cdf, u, side="right")
        else:
            ham = (u * n_ham).astype(np.int64)
            bot = n_ham + (u * n_spam).astype(np.int64)
        return np.where(spam, np.minimum(bot, n_ham + n_spam - 1), np.minimum(ham, n_ham - 1))


def _ids(rng: np.random.Generator, n: int, day: dt.date) -> np.ndarray:
    """YouTube-like ids, unique by construction: random body + encoded day + row number."""
    if n > 64**4:
        raise ValueError(f"at most {64**4} records per day")
    body = _ID_ALPHABET[rng.integers(0, 64, size=(n, 15))]
    digits = [(day.toordinal() // 64**k) % 64 for k in (2, 1, 0)]
    stamp = np.broadcast_to(_ID_ALPHABET[digits], (n, 3))
    row = np.arange(n)
    seq = np.stack([_ID_ALPHABET[(row // 64**k) % 64] for k in (3, 2, 1, 0)], axis=1)
    chars = np.ascontiguousarray(np.concatenate([body, stamp, seq], axis=1))
    return chars.view("S22").ravel().astype("U22").astype(object)


def _iso(seconds: np.ndarray, micros: np.ndarray | None) -> list[str]:
    """ISO 8601 local timestamps from epoch seconds, with microseconds where given."""
    stamps = seconds.astype("datetime64[s]")
    if micros is None:
        return np.datetime_as_string(stamps, unit="s").tolist()
    return np.datetime_as_string(
        stamps.astype("datetime64[us]") + micros.astype("timedelta64[us]"), unit="us"
    ).tolist()


@dataclass
class _Day:
    """One landing day's records (originals, reposts, re-sends), in arrival order."""

    columns: dict[str, np.ndarray]  # the landed fields, object arrays
    kind: np.ndarray  # _OK or a malformed kind
    gold: list[tuple[str, int, str]]
    noise: dict[str, int]


def _day(
    day: dt.date,
    n: int,
    seed: int,
    spam_share: float,
    noise: bool,
    label_share: float,
    authors: _Authors,
) -> _Day:
    """Generate one landing day from its own seed, so it never depends on other days."""
    rng = np.random.default_rng([seed, 1, day.toordinal()])
    n_dup = round(n * _DUPLICATE_SHARE) if noise else 0
    n_rep = round(n * _REPOST_SHARE) if noise else 0
    n_orig = n - n_dup - n_rep

    spam = rng.random(n_orig) < spam_share
    texts, video = _texts(rng, spam, noise)
    author = authors.draw(rng, spam)
    arrival = rng.integers(0, SECONDS_PER_DAY, size=n_orig)

    # published_at: mostly the landing day; with noise some late, missing or malformed.
    date_kind = rng.choice(4, size=n_orig, p=_DATE_SHARES) if noise else np.zeros(n_orig, np.int64)
    day_start = (day - dt.date(1970, 1, 1)).days * SECONDS_PER_DAY
    published = day_start + arrival  # posted when it arrived, unless it came late
    late = date_kind == _DATE_LATE
    published[late] = day_start - SECONDS_PER_DAY + rng.integers(0, SECONDS_PER_DAY, late.sum())
    precise = rng.random(n_orig) < 0.3
    micros = rng.integers(0, 1_000_000, size=n_orig)
    pub = np.empty(n_orig, dtype=object)
    pub[precise] = _iso(published[precise], micros[precise])
    pub[~precise] = _iso(published[~precise], None)
    pub[date_kind == _DATE_MISSING] = None
    bad_dates = [b.format(d=day.isoformat(), m=day.isoformat()[:7]) for b in _BAD_DATES]
    pub[date_kind == _DATE_BAD] = _pick(rng, bad_dates, int((date_kind == _DATE_BAD).sum()))

    # A few unparseable or unusable records, at distinct rows.
    kind = np.zeros(n_orig, dtype=np.int64)
    per_kind = (max(1, n // _MALFORMED_EVERY) if n >= 100 else 0) if noise else 0
    bad_rows = rng.permutation(n_orig)[: per_kind * len(_KIND_NAMES)]
    kind[bad_rows] = np.repeat(list(_KIND_NAMES), per_kind)
    texts[kind == _EMPTY_TEXT] = ""
    # A lone surrogate is written as the raw byte 0xE9 (surrogateescape): invalid UTF-8.
    texts[kind == _INVALID_UTF8] = [f"{t} caf\udce9" for t in texts[kind == _INVALID_UTF8]]
    ok = kind == _OK

    # Only reposts may repeat a post within a day: re-draw the author of chance repeats
    # (same author name and the same text to a reader: case, HTML and invisibles aside).
    seen: set[tuple[str, str]] = set()
    reader_texts = np.array([_as_read(t) for t in texts], dtype=object)
    pending = np.flatnonzero(ok)
    for _ in range(100):
        pending = _claim(seen, authors.names[author], reader_texts, pending)
        if len(pending) == 0:
            break
        author[pending] = authors.draw(rng, spam[pending], zipf=False)
    else:
        raise RuntimeError(f"{day}: author pools too small to keep (author, text) unique")

    ids = _ids(rng, n_orig + n_rep, day)
    sources = np.asarray(SOURCES, dtype=object)[video]

    # Reposts: same author and text under a new id, a little later; spam three times as likely.
    eligible = np.flatnonzero(ok)
    keys = rng.random(len(eligible)) ** (1.0 / np.where(spam[eligible], 3.0, 1.0))
    rep = eligible[np.argsort(-keys, kind="stable")[:n_rep]]
    delay = rng.integers(60, 7200, size=len(rep))
    rep_pub = pub[rep].copy()
    dated = np.isin(date_kind[rep], (_DATE_OK, _DATE_LATE))
    shifted = published[rep] + delay
    end_of_day = (published[rep] // SECONDS_PER_DAY + 1) * SECONDS_PER_DAY - 1
    rep_pub[dated] = _iso(np.minimum(shifted, end_of_day)[dated], None)

    # Exact re-sends of well-formed originals or reposts, some time after the first send.
    pool = np.concatenate([eligible, n_orig + np.arange(len(rep))])
    dup = pool[rng.integers(0, len(pool), size=n_dup)] if len(pool) else pool[:0]

    origin = np.concatenate([np.arange(n_orig), rep])  # base row -> original row
    columns = {
        "comment_id": ids,
        "author": authors.names[np.concatenate([author, author[rep]])],
        "text": np.concatenate([texts, texts[rep]]),
        "published_at": np.concatenate([pub, rep_pub]),
        "source": np.concatenate([sources, sources[rep]]),
    }
    last_second = SECONDS_PER_DAY - 1
    times = np.concatenate([arrival, np.minimum(arrival[rep] + delay, last_second)])
    resent_at = np.minimum(times[dup] + rng.integers(1, 3600, len(dup)), last_second)
    times = np.concatenate([times, resent_at])
    rows = np.concatenate([np.arange(n_orig + len(rep)), dup])
    order = rows[np.lexsort((np.arange(len(rows)), times))]
    src = origin[order]
    landed = {name: values[order] for name, values in columns.items()}
    row_kind = kind[src]

    labeled = ok & (rng.random(n_orig) < label_share)
    split = np.where(rng.random(n_orig) < 0.5, "dev", "test")[labeled].tolist()
    gold = list(
        zip(ids[:n_orig][labeled].tolist(), spam[labeled].astype(int).tolist(), split, strict=True)
    )
    noise_counts = _count_noise(landed, row_kind, date_kind[src], n_dup, len(rep))
    return _Day(landed, row_kind, gold, noise_counts)


def _as_read(text: str) -> str:
    """The text as a reader sees it: entities decoded, tags, invisibles, case and spacing gone."""
    text = _INVISIBLE.sub("", _TAG.sub(" ", html.unescape(text)))
    return " ".join(text.casefold().split())


def _claim(
    seen: set[tuple[str, str]], names: np.ndarray, texts: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Add each row's (author name, text) to `seen`; return the rows whose pair was taken."""
    again = []
    keys = zip(names[rows].tolist(), texts[rows].tolist(), strict=True)
    for row, key in zip(rows.tolist(), keys, strict=True):
        if key in seen:
            again.append(row)
        seen.add(key)
    return np.asarray(again, dtype=np.int64)


def _count_noise(
    columns: dict[str, np.ndarray],
    kind: np.ndarray,
    date_kind: np.ndarray,
    duplicates: int,
    reposts: int,
) -> dict[str, int]:
    """Defects per kind, counted on the landed records so a reader can verify them.

    Content defects count well-formed records (with a usable text) that carry
    them, copies included; malformed records count once each.
    """
    ok = kind == _OK
    texts = columns["text"][ok].tolist()
    dates = date_kind[ok]
    counts = {
        "duplicate_id": duplicates,
        "repost_new_id": reposts,
        "late_arrival": int((dates == _DATE_LATE).sum()),
        "published_at_missing": int((dates == _DATE_MISSING).sum()),
        "published_at_malformed": int((dates == _DATE_BAD).sum()),
    }
    # One scan per pattern over all texts joined by NUL (which no generated text holds).
    joined = "\x00".join(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.cumsum(lengths + 1) - lengths - 1
    for name, pattern in CONTENT_NOISE.items():
        hits = np.fromiter((m.start() for m in pattern.finditer(joined)), dtype=np.int64)
        counts[name] = len(np.unique(np.searchsorted(starts, hits, side="right")))
    counts.update({name: int((kind == code).sum()) for code, name in _KIND_NAMES.items()})
    return counts


def _jsonl(columns: dict[str, np.ndarray], kind: np.ndarray) -> str:
    """JSON lines exactly as `json.dumps(record, ensure_ascii=False)` writes them."""
    enc = encode_basestring
    ids, authors, texts, pubs, sources = (columns[c].tolist() for c in _COLUMNS)
    pub_json = ["null" if p is None else enc(p) for p in pubs]
    lines = [
        _JSON_LINE % (enc(i), enc(a), enc(t), p, enc(s))
        for i, a, t, p, s in zip(ids, authors, texts, pub_json, sources, strict=True)
    ]
    for j in np.flatnonzero(kind == _MISSING_TEXT).tolist():
        lines[j] = _JSON_NO_TEXT % (enc(ids[j]), enc(authors[j]), pub_json[j], enc(sources[j]))
    for j in np.flatnonzero(kind == _BAD_LINE).tolist():
        lines[j] = lines[j][: len(lines[j]) // 2] + "\n"  # a record cut off mid-write
    return "".join(lines)


def _csv(columns: dict[str, np.ndarray], kind: np.ndarray) -> str:
    """RFC 4180 CSV with a header; malformed rows have too few or too many fields."""
    ids, authors, texts, pubs, sources = (columns[c].tolist() for c in _COLUMNS)
    rows: list[tuple[str, ...]] = list(
        zip(ids, authors, texts, ["" if p is None else p for p in pubs], sources, strict=True)
    )
    for j in np.flatnonzero(kind == _MISSING_TEXT).tolist():
        rows[j] = rows[j][:2]
    for j in np.flatnonzero(kind == _BAD_LINE).tolist():
        head, _, tail = texts[j].partition(" ")
        rows[j] = (*rows[j][:2], head, tail, *rows[j][3:])  # an unquoted comma split the text
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_COLUMNS)
    writer.writerows(rows)
    return buf.getvalue()


def _encode(fmt: str, columns: dict[str, np.ndarray], kind: np.ndarray) -> bytes:
    text = _jsonl(columns, kind) if fmt.startswith("jsonl") else _csv(columns, kind)
    data = text.encode("utf-8", "surrogateescape")
    # mtime=0 and no file name in the header: the same records give the same bytes.
    return gzip.compress(data, compresslevel=6, mtime=0) if fmt.endswith(".gz") else data


def generate(
    store: ObjectStore,
    start: dt.date,
    days: int,
    per_day: int,
    seed: int = 0,
    spam_share: float = 0.45,
    noise: bool = True,
    formats: Sequence[str] = ("jsonl", "csv", "jsonl.gz"),
    label_share: float = 0.05,
    name: str = "synthetic",
) -> LandingReport:
    """Land `days` days of `per_day` comments each, from `start`, plus gold labels.

    Every landing day gets exactly `per_day` records (re-sends, reposts and
    malformed records included), in arrival order, split into one file per
    format: `comments/dt=<day>/<name>-<i>.<format>`. Gold labels cover a
    `label_share` of the well-formed original records, each put in `dev` or
    `test` with equal odds, in `labels/<name>.csv`; that file describes this
    call's days only, so give ranges landed separately different names.
    Same arguments, same bytes; `seed` must be non-negative.

    `report.noise` counts every injected defect as it sits in the files, so
    ingest's quarantine can be checked against it. A bad line is a truncated
    JSON line or, in CSV, a row with one field too many; a missing text is a
    JSON record without the key or, in CSV, a row of two fields.
    """
    unknown = set(formats) - set(FORMATS)
    if not formats or unknown:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats}")
    if days < 1 or per_day < 1 or seed < 0:
        raise ValueError("days and per_day must be positive and seed non-negative")
    if not (0 <= spam_share <= 1 and 0 <= label_share <= 1):
        raise ValueError("spam_share and label_share are shares between 0 and 1")

    authors = _Authors.build(seed, per_day)
    files: list[LandedFile] = []
    gold: list[tuple[str, int, str]] = []
    noise_counts: dict[str, int] = {}
    landing_days = [start + dt.timedelta(days=k) for k in range(days)]
    for day in landing_days:
        batch = _day(day, per_day, seed, spam_share, noise, label_share, authors)
        for i, part in enumerate(np.array_split(np.arange(per_day), len(formats))):
            if len(part) == 0:
                continue
            key = f"comments/dt={day.isoformat()}/{name}-{i}.{formats[i]}"
            chunk = {column: values[part] for column, values in batch.columns.items()}
            store.put_bytes(key, _encode(formats[i], chunk, batch.kind[part]))
            files.append(LandedFile(key, len(part)))
        gold.extend(batch.gold)
        for kind, count in batch.noise.items():
            noise_counts[kind] = noise_counts.get(kind, 0) + count

    labels_key = f"labels/{name}.csv"
    written = write_labels(store, labels_key, gold)
    return LandingReport(
        files=files,
        days=landing_days,
        splits={
            split: class_counts(label for _, label, s in gold if s == split)
            for split in ("dev", "test")
        },
        label_files={labels_key: written},
        noise=noise_counts,
    )

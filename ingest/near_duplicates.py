"""Near-duplicate texts: datasketch MinHash signatures of character shingles, LSH banding.

Spam campaigns repeat a text with small edits (a changed link, an emoji, a name). A record
is a `near_duplicate` when an earlier record of its scope has a text whose estimated
Jaccard similarity is at least the policy's threshold. Texts are compared by their dedupe
key (`ingest.normalize.dedupe_key`: case, HTML, invisible characters and spacing aside),
cut into shingles of `shingle_size` characters.

Deterministic and independent of file and run order: the scope is every valid record
owned by the day and the `lookback_days` before it, as landed (not as another run kept
them), ranked by a total order (owning day, then arrival order, then record number), and
a record repeats the earliest such record it is similar to. The cost is bounded: records
are compared only when they share an LSH band (datasketch's optimal banding for the
threshold), and with at most `MAX_PER_BAND` earlier records of a band.

`signatures` computes datasketch's MinHash (`scheme="affine32"`, its permutations and its
finalizer, a shingle hash of ours as `hashfunc`) for a batch of texts at once with numpy;
`signature` is the same through `datasketch.MinHash`, one text at a time, and
`repeats_reference` decides through `datasketch.MinHashLSH`: the references the batch
functions are tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

MAX_PER_BAND = 32  # earlier records of a band a record is compared with
SEED = 1
_MULTIPLIER = np.uint32(0x01000193)  # FNV's 32-bit prime: mixes code points into a shingle hash
_CHUNK_KEYS = 1 << 13  # keys cut into shingles at once
_CHUNK_SHINGLES = 1 << 16  # shingles permuted at once: a (num_perm x shingles) array in cache


@dataclass(frozen=True)
class NearDuplicateRules:
    """The `near_duplicate:` block of the ingest policy."""

    enabled: bool = False
    threshold: float = 0.9
    shingle_size: int = 5
    num_perm: int = 64
    lookback_days: int = 1


def shingle_hashes(key: str, size: int) -> list[int]:
    """32-bit hashes of the `size`-character shingles of `key` (the whole key when shorter)."""
    points = [ord(ch) for ch in key]
    width = min(size, len(points))
    out = []
    for start in range(len(points) - width + 1):
        value = 0
        for point in points[start : start + width]:
            value = (value * int(_MULTIPLIER) + point) & 0xFFFFFFFF
        out.append(value)
    return out


def signature(key: str, rules: NearDuplicateRules) -> np.ndarray:
    """The MinHash of one key through `datasketch.MinHash` (the reference)."""
    from datasketch import MinHash

    sketch = MinHash(num_perm=rules.num_perm, seed=SEED, hashfunc=_identity, scheme="affine32")
    sketch.update_batch(shingle_hashes(key, rules.shingle_size))
    return sketch.hashvalues


def _identity(value: int) -> int:
    return value


@cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=SEED, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def _batch_shingles(keys: Sequence[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Every key's shingle hashes back to back, and where each key's run starts."""
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    points = np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    width = np.minimum(lengths, size)
    counts = lengths - width + 1  # one shingle for a key shorter than `size`
    first = np.repeat(starts, counts)
    first += np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    widths = np.repeat(width, counts)
    hashes = np.zeros(len(first), dtype=np.uint32)
    with np.errstate(over="ignore"):
        for offset in range(size):
            inside = offset < widths
            hashes[inside] = hashes[inside] * _MULTIPLIER + points[first[inside] + offset]
    runs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return hashes, runs


def signatures(keys: Sequence[str] | pa.Array, rules: NearDuplicateRules) -> np.ndarray:
    """datasketch's MinHash of each (non-empty) key, for a batch at once: (len(keys), num_perm).

    Keys are taken `_CHUNK_KEYS` at a time and their shingles `_CHUNK_SHINGLES` at a time, so
    memory stays flat however many keys a day has.
    """
    from datasketch.minhash import _fmix

    out = np.empty((len(keys), rules.num_perm), dtype=np.uint32)
    a, b = _permutations(rules.num_perm)
    for base in range(0, len(keys), _CHUNK_KEYS):
        chunk = keys[base : base + _CHUNK_KEYS]
        texts = chunk.to_pylist() if isinstance(chunk, pa.Array) else list(chunk)
        hashes, runs = _batch_shingles(texts, rules.shingle_size)
        ends = np.append(runs[1:], len(hashes))
        key = 0
        while key < len(texts):  # whole keys, about _CHUNK_SHINGLES shingles at a time
            last = max(key + 1, int(np.searchsorted(ends, runs[key] + _CHUNK_SHINGLES, "right")))
            lo, hi = runs[key], ends[last - 1]
            with np.errstate(over="ignore"):  # (num_perm, shingles): reduced along rows
                permuted = np.multiply.outer(a, _fmix(hashes[lo:hi], 32))
                permuted += b[:, None]
            out[base + key : base + last] = np.minimum.reduceat(
                permuted, runs[key:last] - lo, axis=1
            ).T
            key = last
    return out


@cache
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band): datasketch's choice for the threshold (equal weights)."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def repeats(
    sigs: np.ndarray,
    rank: np.ndarray,
    decide: np.ndarray,
    rules: NearDuplicateRules,
    codes: np.ndarray | None = None,
) -> np.ndarray:
    """For each row, the row it repeats, or -1.

    `sigs` holds one signature per distinct key and `codes` each row's key (None: a row per
    signature), so equal texts are hashed once.

    A row repeats the lowest-ranked row of lower rank that shares an LSH band with it (one of
    the `MAX_PER_BAND` lowest-ranked of that band) with an estimated Jaccard similarity of
    at least the threshold. Decided for the rows `decide` marks; every row is a candidate.
    Candidates are taken in rank order, step by step over all bands at once, and a row stops
    as soon as no band's next candidate can rank below the repeat already found: memory
    stays a few arrays of rows, and most rows stop after their first candidate.
    """
    codes = np.arange(len(sigs)) if codes is None else codes
    n = len(codes)
    best = np.full(n, -1, dtype=np.int64)
    if n < 2 or not decide.any():
        return best
    bands, rows = lsh_bands(rules.threshold, rules.num_perm)
    best_rank = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    members, positions = [], []  # per band: rows in (group, rank) order; each row's place
    for band in range(bands):
        part = np.ascontiguousarray(sigs[:, band * rows : (band + 1) * rows])
        _, group = np.unique(part.view(f"V{4 * rows}").ravel(), return_inverse=True)
        group = group.ravel()[codes]
        order = np.lexsort((rank, group))
        start = np.searchsorted(group[order], group[order], side="left")
        place = np.empty(n, dtype=np.int64)
        place[order] = np.arange(n) - start  # the row's position among its band's group
        members.append((order, start))
        positions.append(place)
    active = decide.copy()
    for step in range(MAX_PER_BAND):
        next_rank = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        for (order, start), place in zip(members, positions, strict=True):
            group_start = np.empty(n, dtype=np.int64)
            group_start[order] = start
            mine = np.flatnonzero(active & (place > step))
            other = order[group_start[mine] + step]
            _better(sigs, codes, rank, mine, other, rules.threshold, best, best_rank)
            later = mine[place[mine] > step + 1]
            following = rank[order[group_start[later] + step + 1]]
            next_rank[later] = np.minimum(next_rank[later], following)
        active &= next_rank < best_rank
        if not active.any():
            break
    return best


def _better(
    sigs: np.ndarray,
    codes: np.ndarray,
    rank: np.ndarray,
    rows: np.ndarray,
    others: np.ndarray,
    threshold: float,
    best: np.ndarray,
    best_rank: np.ndarray,
) -> None:
    """Record `others[i]` as the repeat of `rows[i]` where similar and ranked lower than the
    repeat found so far (each row appears at most once in `rows`)."""
    for lo in range(0, len(rows), 1 << 16):
        row, other = rows[lo : lo + (1 << 16)], others[lo : lo + (1 << 16)]
        same = sigs[codes[row]] == sigs[codes[other]]
        agree = np.count_nonzero(same, axis=1) / sigs.shape[1]
        take = (agree >= threshold) & (rank[other] < best_rank[row])
        best[row[take]], best_rank[row[take]] = other[take], rank[other[take]]


def repeats_reference(
    keys: Sequence[str], rank: Sequence[int], decide: Sequence[bool], rules: NearDuplicateRules
) -> list[int]:
    """`repeats` one record at a time through `datasketch.MinHash` and `MinHashLSH`."""
    from datasketch import MinHash, MinHashLSH

    sketches = [
        MinHash(hashvalues=signature(key, rules), seed=SEED, scheme="affine32") for key in keys
    ]
    lsh = MinHashLSH(num_perm=rules.num_perm, params=lsh_bands(rules.threshold, rules.num_perm))
    for row, sketch in enumerate(sketches):
        lsh.insert(row, sketch)
    out = []
    for row, sketch in enumerate(sketches):
        if not decide[row]:
            out.append(-1)
            continue
        compared: set[int] = set()
        for table, (start, end) in zip(lsh.hashtables, lsh.hashranges, strict=True):
            bucket = table.get(lsh._H(sketch.hashvalues[start:end]))
            earlier = sorted((r for r in bucket if rank[r] < rank[row]), key=rank.__getitem__)
            compared.update(earlier[:MAX_PER_BAND])
        similar = [r for r in compared if sketch.jaccard(sketches[r]) >= rules.threshold]
        out.append(min(similar, key=rank.__getitem__) if similar else -1)
    return out

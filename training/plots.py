"""Model-card plots, as PNG bytes: precision-recall, calibration, confusion matrix,
LF coverage and accuracy, and the terms that weigh most for each class."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np


def _figure(width: float = 5.0, height: float = 4.0, ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, ncols, figsize=(width, height), dpi=100)
    return plt, fig, ax


def _png(plt: Any, fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", metadata={"Software": None})  # no timestamp: stable bytes
    plt.close(fig)
    return buf.getvalue()


def precision_recall_png(y: np.ndarray, curves: dict[str, np.ndarray], positive: int = 1) -> bytes:
    """One PR curve per model (`curves` maps name -> probability of `positive`)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt, fig, ax = _figure()
    for name, score in curves.items():
        p, r, _ = precision_recall_curve(y == positive, score)
        ax.plot(r, p, label=f"{name} (AP {average_precision_score(y == positive, score):.3f})")
    ax.set(
        xlabel="recall", ylabel="precision", title="Precision-recall (gold test)", ylim=(0, 1.02)
    )
    ax.legend(loc="lower left", fontsize=8)
    return _png(plt, fig)


def calibration_png(y: np.ndarray, curves: dict[str, np.ndarray], positive: int = 1) -> bytes:
    from sklearn.calibration import calibration_curve

    plt, fig, ax = _figure()
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect")
    for name, score in curves.items():
        frac, mean = calibration_curve(y == positive, score, n_bins=10, strategy="quantile")
        ax.plot(mean, frac, marker="o", label=name)
    ax.set(xlabel="predicted probability", ylabel="observed frequency", title="Calibration")
    ax.legend(loc="upper left", fontsize=8)
    return _png(plt, fig)


def confusion_png(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> bytes:
    plt, fig, ax = _figure(4.0, 3.6)
    data = np.asarray(matrix)
    ax.imshow(data, cmap="Blues")
    for (i, j), value in np.ndenumerate(data):
        ax.text(j, i, str(value), ha="center", va="center",
                color="white" if value > data.max() / 2 else "black")  # fmt: skip
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="predicted", ylabel="gold", title="Confusion matrix (test)")
    return _png(plt, fig)


def lf_png(names: Sequence[str], coverage: Sequence[float], accuracy: Sequence[float]) -> bytes:
    """Coverage and empirical accuracy per labeling function, side by side."""
    plt, fig, ax = _figure(6.0, 0.3 * len(names) + 1.5)
    pos = np.arange(len(names))
    ax.barh(pos - 0.2, coverage, height=0.4, label="coverage")
    ax.barh(
        pos + 0.2,
        np.nan_to_num(np.asarray(accuracy, dtype=float)),
        height=0.4,
        label="accuracy (dev)",
    )
    ax.set_yticks(pos, names, fontsize=8)
    ax.set(xlim=(0, 1), title="Labeling functions")
    ax.legend(fontsize=8)
    return _png(plt, fig)


def top_terms_png(terms: dict[str, list[tuple[str, float]]]) -> bytes:
    """The features with the largest weights for each class."""
    plt, fig, axes = _figure(4.0 * len(terms), 4.5, ncols=len(terms))
    for ax, (cls, pairs) in zip(np.atleast_1d(axes), terms.items(), strict=True):
        labels = [t for t, _ in pairs][::-1]
        ax.barh(range(len(labels)), [w for _, w in pairs][::-1])
        ax.set_yticks(range(len(labels)), [repr(t)[1:-1] for t in labels], fontsize=7)
        ax.set(title=f"weighs for '{cls}'")
    return _png(plt, fig)


def top_terms(
    pipeline: Any, classes: Sequence[str], n: int = 15, texts: Sequence[str] | None = None
) -> dict[str, list[tuple[str, float]]]:
    """Largest coefficients per class of a fitted features+linear-model Pipeline.

    Hashed features have no names: `texts` (a sample of the training texts) name each hashed
    column by its most frequent term; without them it shows as `<transformer>#<column>`.
    """
    coef = pipeline.named_steps["model"].coef_
    if coef.shape[0] == 1:  # binary: one row, positive class = 1
        coef = np.vstack([-coef[0], coef[0]])
    best = {cls: np.argsort(-row)[:n] for cls, row in zip(classes, coef, strict=True)}
    wanted = {int(i) for indices in best.values() for i in indices}
    names = _feature_names(pipeline.named_steps["features"], wanted, texts)
    return {
        cls: [(names[int(i)], float(row[i])) for i in best[cls]]
        for cls, row in zip(classes, coef, strict=True)
    }


def _feature_names(features: Any, indices: set[int], texts: Sequence[str] | None) -> dict[int, str]:
    """Names of the output columns `indices` of a fitted ColumnTransformer."""
    names: dict[int, str] = {}
    for name, transformer, _ in features.transformers_:
        span = features.output_indices_[name]
        inside = sorted(i for i in indices if span.start <= i < span.stop)
        if not inside:
            continue
        hasher = _hashing_vectorizer(transformer)
        if hasher is None:
            out = transformer.get_feature_names_out()
            names.update({i: str(out[i - span.start]) for i in inside})
            continue
        terms = _hashed_terms(hasher, texts or [], {i - span.start for i in inside})
        names.update({i: terms.get(i - span.start, f"{name}#{i - span.start}") for i in inside})
    return names


def _hashing_vectorizer(transformer: Any) -> Any:
    """The HashingVectorizer a transformer is or starts with, else None."""
    from sklearn.feature_extraction.text import HashingVectorizer

    steps = [transformer, *getattr(transformer, "named_steps", {}).values()]
    return next((s for s in steps if isinstance(s, HashingVectorizer)), None)


def _hashed_terms(vectorizer: Any, texts: Sequence[str], columns: set[int]) -> dict[int, str]:
    """For each hashed column in `columns`, the most frequent term of `texts` hashed to it."""
    from collections import Counter

    from sklearn.feature_extraction import FeatureHasher

    analyze = vectorizer.build_analyzer()
    counts = Counter(term for text in texts[:5000] for term in analyze(str(text)))
    if not counts:
        return {}
    terms = [term for term, _ in counts.most_common()]
    hasher = FeatureHasher(n_features=vectorizer.n_features, input_type="string",
                           alternate_sign=False)  # fmt: skip
    hashed = hasher.transform([[term] for term in terms])
    found: dict[int, str] = {}
    for term, column in zip(terms, hashed.indices, strict=True):
        if column in columns and column not in found:
            found[int(column)] = term
    return found


def compact_png(png: bytes, max_width: int = 800, colors: int = 64) -> bytes:
    """A smaller copy of a plot for inlining in a page (the Dagster UI stores metadata in its
    event log): scaled down to `max_width` and reduced to a `colors`-colour palette, which
    charts of a few flat colours survive unharmed; at most the original's size."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image = image.convert("RGB")
        if image.width > max_width:
            height = round(image.height * max_width / image.width)
            image = image.resize((max_width, height), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        image.quantize(colors=colors).save(buf, format="PNG", optimize=True)
    return min(buf.getvalue(), png, key=len)

"""Train the affect models on the labelled dev and eval sets (never the locked set).

``python -m her_desktop.affect.train head`` fits the MiniLM emotion head (``head.py``) on the
dev and eval sets and writes ``data/head.json``; it first prints the head's 5-fold
cross-validated accuracy on the dev set (trained on the eval set and the other folds).

``python -m her_desktop.affect.train calibrate --lm-cache FILE`` measures the refined estimate's
log-linear pool (``combine.HEAD_CALIBRATION``) on the dev set: its inputs are the LM's label
probabilities (computed with the configured LM, or read from ``FILE`` when it holds them, then
saved there) and the fast detector's probabilities *out of fold* (the head trained without the
utterance, as it will meet unseen turns); prints the nested cross-validated accuracy of a grid
search and the best grid points (the constant in ``combine`` is set by hand from them). Slow:
one LM pass over the dev set.

``python -m her_desktop.affect.train stack --lm-cache FILE`` cross-validates the stacked pool
(``combine.StackedPool``, a softmax regression on the LM's and the fast detector's
log-probabilities, the fast ones out of fold) on the dev set and writes ``data/pool.json``.

``python -m her_desktop.affect.train sign --lm-cache FILE`` cross-validates the valence sign's
own estimate (``combine.SignModel``) on the dev set, its inputs out of fold (the pooled
estimate from a stacked pool fitted without the utterance's fold, on the fast estimate with the
out-of-fold head), prints each fold's valence-sign accuracy and accuracy against the label-only
sign (mean and spread over the folds), and writes ``data/sign.json`` fitted on the whole set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from her_desktop.affect.base import EMOTIONS, TextAffect
from her_desktop.affect.blend import EMBEDDING_SHARE
from her_desktop.affect.combine import (
    FLOOR,
    HEAD_CALIBRATION,
    SIGN_MODEL_FILE,
    SIGNS,
    STACKED_POOL_FILE,
    Calibration,
    SignModel,
    StackedPool,
    combine,
    sign_features,
)
from her_desktop.affect.head import HEAD_FILE, HEAD_SHARE, EmotionHead, fit_softmax
from her_desktop.affect.text import LexiconDetector
from her_desktop.events import EmotionLabel

if TYPE_CHECKING:
    from her_desktop.llm.base import LLMEngine

DATA = Path(__file__).with_name("data")
FOLDS = 5
SEEDS = 2

Array = npt.NDArray[np.float64]


def folds(labels: Sequence[int], k: int = FOLDS, seed: int = 0) -> npt.NDArray[np.int64]:
    """A stratified fold number for each item."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    fold = np.zeros(len(y), dtype=np.int64)
    for c in range(len(EMOTIONS)):
        idx = rng.permutation(np.flatnonzero(y == c))
        fold[idx] = np.arange(len(idx)) % k
    return fold


def _embed(texts: Sequence[str]) -> Array:
    from her_desktop.affect.embedding import PrototypeDetector, clean_text

    prototypes = PrototypeDetector.create()
    if prototypes is None:
        raise SystemExit("The MiniLM package is not installed; the head needs it.")
    return np.asarray(prototypes.encoder.encode([clean_text(t) for t in texts]), np.float64)


def _sets() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    from her_desktop.bench.affect import load_eval_set

    def pairs(name: str) -> list[tuple[int, str]]:
        return [(EMOTIONS.index(i.label), i.text) for i in load_eval_set(name=name)]

    return pairs("dev"), pairs("eval")


def out_of_fold_head(
    dev_x: Array, dev_y: Sequence[int], extra_x: Array, extra_y: Sequence[int]
) -> Array:
    """The head's probabilities for each dev item from heads trained without it (on
    ``extra`` and the other folds), averaged over ``SEEDS`` fold draws."""
    out = np.zeros((len(dev_y), len(EMOTIONS)))
    y = np.asarray(dev_y)
    for seed in range(SEEDS):
        fold = folds(dev_y, seed=seed)
        for k in range(FOLDS):
            train = fold != k
            weights, bias = fit_softmax(
                np.vstack([extra_x, dev_x[train]]), [*extra_y, *y[train].tolist()]
            )
            out[~train] += EmotionHead(weights, bias).probs(dev_x[~train]) / SEEDS
    return out


def train_head() -> None:
    dev, extra = _sets()
    dev_x = _embed([t for _, t in dev])
    extra_x = _embed([t for _, t in extra])
    dev_y = [c for c, _ in dev]
    extra_y = [c for c, _ in extra]
    oof = out_of_fold_head(dev_x, dev_y, extra_x, extra_y)
    print(f"head, dev {FOLDS}-fold CV accuracy: {(oof.argmax(1) == dev_y).mean():.3f}")
    weights, bias = fit_softmax(np.vstack([extra_x, dev_x]), [*extra_y, *dev_y])
    data = {
        "labels": list(EMOTIONS),
        "trained_on": ["dev_set.tsv", "eval_set.tsv"],
        "bias": [round(float(v), 5) for v in bias],
        "weights": [[round(float(v), 5) for v in row] for row in weights],
    }
    (DATA / HEAD_FILE).write_text(json.dumps(data) + "\n", encoding="utf-8")
    print(f"wrote {DATA / HEAD_FILE}")


def _lm_probs(
    texts: Sequence[str],
    cache: Path | None,
    make_engine: Callable[[], LLMEngine] | None = None,
) -> Array:
    """The LM's label probabilities for ``texts`` (rows in ``EMOTIONS`` order). ``cache`` (JSON
    rows ``{"text", "probs"}``) is read first: only the texts it lacks go to the LM (the
    configured one, or ``make_engine()``), and the cache is written back every ten answers, so
    a grown set costs only its new lines and a cut-short run keeps what it did."""
    stored: dict[str, dict[str, float]] = {}
    if cache is not None and cache.exists():
        rows = json.loads(cache.read_text(encoding="utf-8"))
        stored = {r["text"]: r["probs"] for r in rows}
    missing = list(dict.fromkeys(t for t in texts if t not in stored))
    if missing:
        from her_desktop.affect.lm_label import LMLabeler

        def save() -> None:
            if cache is not None:
                rows = [{"text": t, "probs": p} for t, p in stored.items()]
                cache.write_text(json.dumps(rows), encoding="utf-8")

        async def run() -> None:
            if make_engine is None:
                from her_desktop.bench.affect import _default_engine

                engine = _default_engine()
            else:
                engine = make_engine()
            try:
                labeler = LMLabeler(engine, deadline_s=300.0)
                for n, text in enumerate(missing, start=1):
                    probs = await labeler.probabilities(text)
                    stored[text] = {str(e): p for e, p in probs.items()}
                    if n % 10 == 0:
                        save()
            finally:
                save()
                await engine.close()

        asyncio.run(run())
    return np.array([[stored[t][e] for e in EMOTIONS] for t in texts])


def fast_out_of_fold(texts: Sequence[str], head_oof: Array) -> Array:
    """The fast detector's probabilities (``HeadDetector``'s mix) with the out-of-fold head."""
    from her_desktop.affect.embedding import PrototypeDetector

    prototypes = PrototypeDetector.create()
    assert prototypes is not None
    lexicon = LexiconDetector()
    rest = 1.0 - HEAD_SHARE
    rows = []
    for text, head in zip(texts, head_oof, strict=True):
        lexical: TextAffect = lexicon.detect(text)
        proto: TextAffect = prototypes.detect(text)
        rows.append(
            [
                rest * (1.0 - EMBEDDING_SHARE) * lexical.prob(e)
                + rest * EMBEDDING_SHARE * proto.prob(e)
                + HEAD_SHARE * float(head[n])
                for n, e in enumerate(EMOTIONS)
            ]
        )
    return np.array(rows)


POOL_FAST_WEIGHTS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
POOL_SURPRISE_BIASES = (0.0, 0.5, 1.0, 1.5)
POOL_NEUTRAL_BIASES = (-0.5, 0.0, 0.5)


def pool_grid() -> list[Calibration]:
    return [
        Calibration(1.0, w, {"surprise": s, "neutral": n})
        for w in POOL_FAST_WEIGHTS
        for s in POOL_SURPRISE_BIASES
        for n in POOL_NEUTRAL_BIASES
    ]


def pool_labels(lm: Array, fast: Array, calibration: Calibration) -> npt.NDArray[np.int64]:
    """The pooled label (index into ``EMOTIONS``) of each row (see ``combine.combine``)."""
    bias = np.array([calibration.bias.get(e, 0.0) for e in EMOTIONS])
    scores = (
        calibration.lm_weight * np.log(np.maximum(lm, FLOOR))
        + calibration.fast_weight * np.log(np.maximum(fast, FLOOR))
        + bias
    )
    out: npt.NDArray[np.int64] = scores.argmax(axis=1)
    return out


def _dev_inputs(
    cache: Path | None,
) -> tuple[list[int], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The dev set's labels, its out-of-fold fast estimates (the head never saw the sentence),
    the LM's label probabilities (from ``cache`` where recorded) and the labels as an array."""
    dev, extra = _sets()
    texts = [t for _, t in dev]
    dev_y = [c for c, _ in dev]
    head_oof = out_of_fold_head(
        _embed(texts), dev_y, _embed([t for _, t in extra]), [c for c, _ in extra]
    )
    fast = fast_out_of_fold(texts, head_oof)
    lm = _lm_probs(texts, cache)
    return dev_y, fast, lm, np.asarray(dev_y)


def calibrate(cache: Path | None) -> None:
    """Grid-search the pool for the head on the dev set, with nested cross-validation (the
    grid point is chosen on the training folds, scored on the held-out fold)."""
    dev_y, fast, lm, y = _dev_inputs(cache)
    grid = pool_grid()
    hits = np.array([pool_labels(lm, fast, c) == y for c in grid])
    print(f"lm alone {(lm.argmax(1) == y).mean():.3f}, fast {(fast.argmax(1) == y).mean():.3f}")
    for seed in range(SEEDS):
        fold = folds(dev_y, seed=seed)
        correct = 0
        for k in range(FOLDS):
            train = fold != k
            best = int(np.argmax(hits[:, train].mean(axis=1)))
            correct += int(hits[best, ~train].sum())
        print(f"pool, dev nested {FOLDS}-fold CV accuracy (seed {seed}): {correct / len(y):.3f}")
    for n in np.argsort(-hits.mean(axis=1))[:5]:
        print(f"  in-sample {hits[n].mean():.3f}: {grid[n]}")
    print(f"  in-sample {hits[grid.index(HEAD_CALIBRATION)].mean():.3f}: HEAD_CALIBRATION")


STACK_L2 = 0.1
"""The stacked pool's L2 penalty (on standardised features). Dev 5-fold CV (532 lines with the
LM's answers): 0.001 → 80.5 %, 0.01 → 80.9 %, 0.1 → 80.8 %, 0.3 → 80.6 %, 1.0 → 79.5 %."""


def stack_features(lm: npt.ArrayLike, fast: npt.ArrayLike) -> Array:
    """The stacked pool's twelve features per row (``combine.StackedPool.scores``)."""
    return np.hstack(
        [
            np.log(np.maximum(np.asarray(lm, np.float64), FLOOR)),
            np.log(np.maximum(np.asarray(fast, np.float64), FLOOR)),
        ]
    )


def fit_stack(
    lm: npt.ArrayLike, fast: npt.ArrayLike, labels: Sequence[int], *, l2: float = STACK_L2
) -> StackedPool:
    """A ``StackedPool`` fitted on standardised features, the standardisation folded into its
    weights and bias."""
    features = stack_features(lm, fast)
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    weights, bias = fit_softmax((features - mean) / scale, labels, l2=l2, iters=2000)
    return StackedPool.from_arrays(
        (weights / scale[:, None]).tolist(), (bias - (mean / scale) @ weights).tolist()
    )


def stack_labels(
    pool: StackedPool, lm: npt.ArrayLike, fast: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """The stacked pool's label (index into ``EMOTIONS``) of each row."""
    scores = stack_features(lm, fast) @ np.array(pool.weights) + np.array(pool.bias)
    out: npt.NDArray[np.int64] = scores.argmax(axis=1)
    return out


def write_stack(pool: StackedPool, trained_on: int) -> Path:
    data = {
        "labels": list(EMOTIONS),
        "trained_on": f"dev_set.tsv ({trained_on} lines, the head's probabilities out of fold)",
        "l2": STACK_L2,
        "bias": [round(v, 6) for v in pool.bias],
        "weights": [[round(v, 6) for v in row] for row in pool.weights],
    }
    path = DATA / STACKED_POOL_FILE
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    return path


def stack(cache: Path | None) -> None:
    """Cross-validate the stacked pool on the dev set (against ``HEAD_CALIBRATION`` on the
    same folds), then fit it on the whole dev set and write ``data/pool.json``."""
    dev_y, fast, lm, y = _dev_inputs(cache)
    plain = pool_labels(lm, fast, HEAD_CALIBRATION) == y
    for seed in range(SEEDS):
        fold = folds(dev_y, seed=seed)
        hits = np.zeros(len(y), dtype=bool)
        for k in range(FOLDS):
            train = fold != k
            pool = fit_stack(lm[train], fast[train], y[train].tolist())
            hits[~train] = stack_labels(pool, lm[~train], fast[~train]) == y[~train]
        print(
            f"stacked pool, dev {FOLDS}-fold CV accuracy (seed {seed}): {hits.mean():.3f} "
            f"(HEAD_CALIBRATION {plain.mean():.3f})"
        )
    print(f"wrote {write_stack(fit_stack(lm, fast, dev_y), len(dev_y))}")


SIGN_L2 = 0.03
"""The sign model's L2 penalty (on standardised features). Dev 5-fold CV (796 lines, seeds 0 /
1), valence-sign accuracy: 0.003 -> 89.8 / 88.8 %, 0.01 -> 90.0 / 88.9 %, 0.03 -> 90.0 / 89.2 %
(the steadiest), 0.1 -> 88.7 / 88.8 %; the label-only sign 86.8 / 86.4 %."""


def _as_dict(row: npt.ArrayLike) -> dict[EmotionLabel, float]:
    return {e: float(v) for e, v in zip(EMOTIONS, np.asarray(row, np.float64), strict=True)}


def pooled_probs(pool: StackedPool, lm: Array, fast: Array) -> Array:
    """The pooled estimate's probabilities of each row (``combine`` with ``pool``, no sign
    model), rows in ``EMOTIONS`` order."""
    bare = StackedPool(pool.weights, pool.bias)
    rows = []
    for lm_row, fast_row in zip(lm, fast, strict=True):
        quick = TextAffect.from_scores(_as_dict(fast_row), 0.0, 0.5)
        rows.append(list(dict(combine(quick, _as_dict(lm_row), bare).probs).values()))
    return np.array(rows)


def sign_feature_rows(lm: Array, pooled: Array) -> Array:
    """``combine.sign_features`` of each row."""
    return np.array(
        [sign_features(_as_dict(a), _as_dict(b)) for a, b in zip(lm, pooled, strict=True)]
    )


def fit_sign(lm: Array, pooled: Array, signs: Sequence[int], *, l2: float = SIGN_L2) -> SignModel:
    """A ``SignModel`` fitted on standardised features (``signs`` are -1, 0 or 1), the
    standardisation folded into its weights and bias."""
    features = sign_feature_rows(lm, pooled)
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    classes = [SIGNS.index(s) for s in signs]
    weights, bias = fit_softmax(
        (features - mean) / scale, classes, l2=l2, iters=2000, classes=len(SIGNS)
    )
    return SignModel.from_arrays(
        (weights / scale[:, None]).tolist(), (bias - (mean / scale) @ weights).tolist()
    )


def _signed(lm: Array, fast: Array, pool: StackedPool) -> tuple[list[int], list[int]]:
    """The refined label (index into ``EMOTIONS``) and valence sign of each row."""
    from her_desktop.bench.affect import sign_of

    labels, signs = [], []
    for lm_row, fast_row in zip(lm, fast, strict=True):
        quick = TextAffect.from_scores(_as_dict(fast_row), 0.0, 0.5)
        refined = combine(quick, _as_dict(lm_row), pool)
        labels.append(EMOTIONS.index(refined.label))
        signs.append(sign_of(refined.valence))
    return labels, signs


def _spread(values: Sequence[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def train_sign(cache: Path | None) -> None:
    """Cross-validate the sign model on the dev set (the pool refitted without each fold; the
    sign model fitted on the other folds' out-of-fold pooled estimates), then fit it on the
    whole set and write ``data/sign.json``."""
    from her_desktop.bench.affect import load_eval_set

    dev_y, fast, lm, y = _dev_inputs(cache)
    gold = np.array([i.sign for i in load_eval_set(name="dev")])
    pooled_all = np.zeros_like(lm)
    for seed in range(SEEDS):
        fold = folds(dev_y, seed=seed)
        pools = {}
        pooled = np.zeros_like(lm)
        for k in range(FOLDS):
            train = fold != k
            pools[k] = fit_stack(lm[train], fast[train], y[train].tolist())
            pooled[~train] = pooled_probs(pools[k], lm[~train], fast[~train])
        pooled_all += pooled / SEEDS
        figures: dict[str, list[float]] = {"sign": [], "acc": [], "sign0": [], "acc0": []}
        for k in range(FOLDS):
            train, test = fold != k, fold == k
            model = fit_sign(lm[train], pooled[train], gold[train].tolist())
            labels0, signs0 = _signed(lm[test], fast[test], pools[k])
            labels, signs = _signed(lm[test], fast[test], replace(pools[k], sign=model))
            figures["sign"].append(float((np.array(signs) == gold[test]).mean()))
            figures["acc"].append(float((np.array(labels) == y[test]).mean()))
            figures["sign0"].append(float((np.array(signs0) == gold[test]).mean()))
            figures["acc0"].append(float((np.array(labels0) == y[test]).mean()))
        print(
            f"dev {FOLDS}-fold CV (seed {seed}), fold mean ± spread: with the sign model: "
            f"sign {_spread(figures['sign'])}, accuracy {_spread(figures['acc'])}; "
            f"label-only sign {_spread(figures['sign0'])}, accuracy {_spread(figures['acc0'])}"
        )
    model = fit_sign(lm, pooled_all, gold.tolist())
    data = {
        "labels": list(EMOTIONS),
        "signs": list(SIGNS),
        "trained_on": f"dev_set.tsv ({len(dev_y)} lines, the pooled estimates out of fold)",
        "l2": SIGN_L2,
        "bias": [round(v, 6) for v in model.bias],
        "weights": [[round(v, 6) for v in row] for row in model.weights],
    }
    path = DATA / SIGN_MODEL_FILE
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m her_desktop.affect.train")
    parser.add_argument("what", choices=("head", "calibrate", "stack", "sign"))
    parser.add_argument("--lm-cache", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.what == "head":
        train_head()
    elif args.what == "stack":
        stack(args.lm_cache)
    elif args.what == "sign":
        train_sign(args.lm_cache)
    else:
        calibrate(args.lm_cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())

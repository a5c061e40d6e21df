"""The estimator contract shared by the Bayesian predictor and every baseline."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.datasets import TARGETS
from rmpredict.datasets._schema import DEFAULT_BENCHMARK, RESULT_BENCHMARKS, result_benchmark
from rmpredict.exceptions import InvalidParameterError, NotFittedError
from rmpredict.models._params import ParamsMixin
from rmpredict.models._prediction import PredictionResult, validate_ci_prob

__all__ = ["BaseRMPredictor", "as_results_frame", "as_candidates_frame", "mark_validated"]

TableLike = pd.DataFrame | str | os.PathLike[str] | None
CandidatesLike = (pd.DataFrame | str | os.PathLike[str] | Sequence[str] | Mapping[str, Any]
                  | pd.Series | None)

# ``frame.attrs`` key holding the fingerprint of the content that passed validation.
_VALIDATED_KEY = "rmpredict_validated"


def as_results_frame(results: TableLike) -> pd.DataFrame:
    """Validated results frame; ``None`` means the bundled reference data.

    A frame that is still exactly what was validated (see :func:`mark_validated`) is returned
    as is, so calling this on every entry costs one fingerprint, not a validation.
    """
    from rmpredict.datasets import load_reference, read_results

    if _is_validated(results):
        return results
    if results is None:
        return mark_validated(read_results(load_reference(), fill_from_reference=False).frame)
    return mark_validated(read_results(results).frame)


def _candidates_table(candidates: CandidatesLike) -> pd.DataFrame | str | os.PathLike[str]:
    """A DataFrame or a path from any accepted form of candidates (ids, dict, Series, frame)."""
    if isinstance(candidates, pd.DataFrame | str | os.PathLike):
        return candidates
    if isinstance(candidates, pd.Series):
        return pd.DataFrame({"model": candidates.to_numpy(dtype=object)})
    if isinstance(candidates, Mapping):
        columns = dict(candidates)
        if columns and all(np.ndim(v) == 0 for v in columns.values()):
            return pd.DataFrame([columns])  # one candidate given as {"model": id, ...}
        try:
            return pd.DataFrame(columns)
        except ValueError as exc:
            raise InvalidParameterError(
                "The 'candidates' dict must map column names to equally long lists (e.g. "
                f"{{'model': [...], 'params_b': [...]}}); {exc}") from None
    if isinstance(candidates, list | tuple | np.ndarray):
        ids = list(np.asarray(candidates, dtype=object).ravel()) \
            if isinstance(candidates, np.ndarray) else list(candidates)
        bad = [v for v in ids if not isinstance(v, str)]
        if bad:
            raise InvalidParameterError(
                "A list of candidates must hold model ids (str); got "
                f"{type(bad[0]).__name__} {bad[0]!r}. Pass a DataFrame or a dict of columns "
                "to give features.")
        return pd.DataFrame({"model": pd.Series(ids, dtype=object)})
    raise InvalidParameterError(
        "The 'candidates' parameter must be a DataFrame, a dict of columns, a list or tuple of "
        f"model ids, or a path to a CSV, Parquet or JSON Lines file. Got "
        f"{type(candidates).__name__} instead.")


def as_candidates_frame(candidates: CandidatesLike) -> pd.DataFrame:
    """Validated candidates frame (missing features filled from the bundled tables).

    ``candidates`` is a DataFrame, a dict of columns, a list or tuple of model ids, a Series
    of ids, or a path to a table file. A frame that is still exactly what was validated is
    returned as is.
    """
    from rmpredict.datasets import read_candidates

    if _is_validated(candidates):
        return candidates

    if candidates is None:
        raise InvalidParameterError("The 'candidates' parameter is required; pass a table, a "
                                    "list of model ids or a path to a CSV, Parquet or JSON "
                                    "Lines file.")
    table = read_candidates(_candidates_table(candidates))
    frame = mark_validated(table.frame)
    frame.attrs["rmpredict_filled"] = table.filled
    return frame


def _fingerprint(frame: pd.DataFrame) -> str | None:
    """sha256 of a frame's values, index, column names and dtypes (``None`` if unhashable)."""
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    try:
        rows = pd.util.hash_pandas_object(frame, index=True, categorize=False)
    except (TypeError, ValueError):  # unhashable cells (lists, dicts): never trusted
        return None
    digest.update(np.ascontiguousarray(rows.to_numpy(dtype=np.uint64)).tobytes())
    return digest.hexdigest()


def _is_validated(data: object) -> bool:
    """Whether ``data`` is a frame whose current content is the content that was validated.

    The fingerprint stored by :func:`mark_validated` is recomputed, so any edit after
    validation (``df["chat"] *= 100``, a dropped column, a changed dtype) means "not validated".
    """
    if not isinstance(data, pd.DataFrame):
        return False
    stored = data.attrs.get(_VALIDATED_KEY)
    return isinstance(stored, str) and stored == _fingerprint(data)


class BaseRMPredictor(ParamsMixin):
    """Base class: ``fit(results) -> self`` and ``predict(candidates) -> PredictionResult``.

    Subclasses implement ``_fit(frame)`` (a validated results frame, all methods) and
    ``_predict(frame, index, ci_prob)`` returning a :class:`PredictionResult`. ``__init__`` of a
    subclass is keyword-only and only stores its arguments (scikit-learn's contract).
    """

    targets: tuple[str, ...] = TARGETS
    name: str = "base"
    fits_benchmarks: tuple[str, ...] = (DEFAULT_BENCHMARK,)
    """Benchmarks whose result rows this predictor can learn from."""

    def fit(self, results: TableLike = None) -> BaseRMPredictor:
        """Fit on a results table (one row per model and RM method).

        Parameters
        ----------
        results : DataFrame, path or None, default=None
            Observed RewardBench accuracies (fractions) with model features; ``None`` uses the
            bundled reference data.

        Returns
        -------
        self
        """
        from rmpredict._provenance import hash_frame

        frame = results if _is_validated(results) else as_results_frame(results)
        self.benchmarks_ = self._check_benchmarks(frame)
        self.methods_ = tuple(sorted(frame["method"].unique()))
        self.n_train_ = int(len(frame))
        self.data_hash_ = hash_frame(frame)
        self._fit(frame.reset_index(drop=True))
        return self

    def predict(self, candidates: CandidatesLike, *, method: str = "all",
                ci_prob: float = 0.9, benchmark: str = DEFAULT_BENCHMARK) -> PredictionResult:
        """Predict RewardBench accuracy of RMs trained from each candidate base model.

        Parameters
        ----------
        candidates : DataFrame, dict, list of str or path
            Candidate base models: a ``model`` column plus any features (missing ones are
            filled from the bundled tables when the model is known there); a list or tuple of
            model ids, or a dict of columns, is read as such a table.
        method : str, default="all"
            RM method to predict for, or ``"all"`` for every method seen in ``fit``.
        ci_prob : float, default=0.9
            Probability mass of the central predictive interval.
        benchmark : {"rewardbench", "rewardbench2"}, default="rewardbench"
            Benchmark to predict (its categories and overall score); one the model was
            fitted on (``benchmarks_``).

        Returns
        -------
        PredictionResult
        """
        self._check_fitted()
        ci_prob = validate_ci_prob(ci_prob, f"{type(self).__name__}.predict")
        self._check_benchmark(benchmark)
        methods = self._resolve_method(method)
        frame = candidates if _is_validated(candidates) else as_candidates_frame(candidates)
        frame = frame.reset_index(drop=True)
        index = pd.DataFrame({
            "row": np.repeat(np.arange(len(frame)), len(methods)),
            "model": np.repeat(frame["model"].to_numpy(), len(methods)),
            "method": np.tile(np.array(methods, dtype=object), len(frame)),
        })
        # Subclasses that predict RewardBench v1 only may keep _predict(frame, index, ci_prob).
        extra = {} if benchmark == DEFAULT_BENCHMARK else {"benchmark": benchmark}
        result = self._predict(frame, index, ci_prob, **extra)
        result.benchmark = benchmark
        result.provenance.setdefault("benchmark", benchmark)
        result.filled = frame.attrs.get("rmpredict_filled")
        return result

    # -- helpers ---------------------------------------------------------------------------
    def _check_benchmarks(self, frame: pd.DataFrame) -> tuple[str, ...]:
        """Benchmarks of the training rows; a predictor that cannot learn one says so."""
        bench = result_benchmark(frame)
        present = [b for b in RESULT_BENCHMARKS if (bench == b).any()]
        other = [b for b in present if b not in self.fits_benchmarks]
        if other:
            counts = ", ".join(f"{int((bench == b).sum())} {b}" for b in other)
            raise InvalidParameterError(
                f"{type(self).__name__} learns from {', '.join(self.fits_benchmarks)} results "
                f"only; the table has {counts} row(s). Fit it on "
                f"results[results['benchmark'] == '{DEFAULT_BENCHMARK}'], or use "
                "HierarchicalRMPredictor, which pools benchmarks.")
        return tuple(present)

    def _check_benchmark(self, benchmark: str) -> None:
        known = tuple(getattr(self, "benchmarks_", (DEFAULT_BENCHMARK,)))
        if benchmark not in known:
            hint = (" It was not in the training rows; fit on a table with rows of that "
                    "benchmark (a 'benchmark' column).") if benchmark in RESULT_BENCHMARKS else ""
            raise InvalidParameterError(
                f"The 'benchmark' parameter of {type(self).__name__}.predict must be one of "
                f"{list(known)} (the benchmarks this model was fitted on). Got "
                f"{str(benchmark)[:60]!r} instead.{hint}")

    def _resolve_method(self, method: str) -> list[str]:
        if method == "all":
            return list(self.methods_)
        if method not in self.methods_:
            raise InvalidParameterError(
                f"The 'method' parameter of {type(self).__name__}.predict must be 'all' or one "
                f"of {list(self.methods_)} (the methods seen in fit). Got {method!r} instead.")
        return [method]

    def _check_fitted(self) -> None:
        if not hasattr(self, "methods_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with a "
                "results table (or no argument for the bundled data) before 'predict'.")

    def _fit(self, frame: pd.DataFrame) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict(self, frame: pd.DataFrame, index: pd.DataFrame, ci_prob: float,
                 benchmark: str = DEFAULT_BENCHMARK
                 ) -> PredictionResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def _provenance(self, **extra: Any) -> dict[str, Any]:
        from rmpredict._provenance import provenance

        return provenance(predictor=self.name, data_hash=getattr(self, "data_hash_", None),
                          **extra)


def mark_validated(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` marked as validated, so ``fit``/``predict`` skip re-validation.

    The mark is a fingerprint of the content; it stops matching as soon as the content changes.
    """
    frame = frame.copy()
    fingerprint = _fingerprint(frame)
    if fingerprint is None:
        frame.attrs.pop(_VALIDATED_KEY, None)
    else:
        frame.attrs[_VALIDATED_KEY] = fingerprint
    return frame

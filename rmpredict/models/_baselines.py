"""Baseline predictors: training mean, best single benchmark, Elastic Net, ridge and OLS.

Every baseline is fitted separately per RM method and per target (``chat``, ``chat_hard``,
``safety``, ``reasoning`` and ``score``; the score is predicted directly, as in the study) on
the design matrix of :func:`rmpredict.features.baseline_matrix` (six leaderboard-v2 scores,
log parameters, log pre-training tokens).

Known limitation shared by all baselines: a missing feature value is replaced by the mean of
that column over the training rows of the same RM method (a column with no training values is
dropped). The Bayesian predictor handles missing scores inside the model instead; a baseline
prediction that needed imputation says so in :attr:`PredictionResult.notes`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.datasets import V2_BENCHMARKS
from rmpredict.exceptions import InvalidParameterError
from rmpredict.features._design import BASELINE_FEATURES, baseline_matrix
from rmpredict.models._base import BaseRMPredictor
from rmpredict.models._prediction import PredictionResult

__all__ = [
    "MeanBaseline",
    "BestSingleBenchmark",
    "ElasticNetBaseline",
    "RidgeBaseline",
    "OLSBaseline",
]

_NAN3 = (np.nan, np.nan, np.nan)


class _CellBaseline(BaseRMPredictor):
    """Shared machinery: one small model per (RM method, target) on imputed features.

    Subclasses implement ``_fit_cell(X, y, names) -> object`` and
    ``_predict_cell(model, X, ci_prob, names) -> (mean, sd, lower, upper)`` (1-D arrays);
    ``names`` are the columns of ``X`` (the features with training values for the method).
    """

    def _fit(self, frame: pd.DataFrame) -> None:
        self._validate_params()
        X_all = baseline_matrix(frame)
        self.feature_names_in_ = tuple(BASELINE_FEATURES)
        self.impute_means_: dict[str, pd.Series] = {}
        self.features_: dict[str, list[str]] = {}
        self.cell_models_: dict[tuple[str, str], Any] = {}
        for method in self.methods_:
            rows = (frame["method"] == method).to_numpy()
            X_m = X_all[rows]
            means = X_m.mean(axis=0, skipna=True)
            # A column with no training values cannot be imputed; drop it for this method.
            keep = [c for c in X_m.columns if np.isfinite(means[c])]
            self.impute_means_[method] = means[keep]
            self.features_[method] = keep
            X_imp = X_m[keep].fillna(means[keep]).to_numpy(dtype=float)
            for target in self.targets:
                y = pd.to_numeric(frame.loc[rows, target], errors="coerce").to_numpy(float)
                ok = np.isfinite(y)
                if not ok.any():
                    continue
                self.cell_models_[(method, target)] = self._fit_cell(X_imp[ok], y[ok], keep)

    def _design(self, frame: pd.DataFrame, method: str) -> tuple[np.ndarray, list[str]]:
        """Imputed features of ``frame`` for ``method`` and, per row, the imputed columns."""
        keep = self.features_[method]
        X = baseline_matrix(frame)[keep]
        missing = X.isna()
        notes = [", ".join(np.array(keep)[missing.iloc[i].to_numpy()]) for i in range(len(X))]
        return X.fillna(self.impute_means_[method]).to_numpy(dtype=float), notes

    def _predict(
        self, frame: pd.DataFrame, index: pd.DataFrame, ci_prob: float,
        benchmark: str = "rewardbench",
    ) -> PredictionResult:
        n, t = len(index), len(self.targets)
        out = {k: np.full((n, t), np.nan) for k in ("mean", "sd", "lower", "upper")}
        note_rows = []
        for method in pd.unique(index["method"]):
            sel = np.flatnonzero((index["method"] == method).to_numpy())
            X, notes = self._design(frame.iloc[index["row"].to_numpy()[sel]], method)
            for i, note in zip(sel, notes):
                if note:
                    note_rows.append(
                        {
                            "model": index["model"].iat[i],
                            "method": method,
                            "note": f"imputed with training means: {note}",
                        }
                    )
            for j, target in enumerate(self.targets):
                model = self.cell_models_.get((method, target))
                if model is None:
                    continue
                mean, sd, lo, hi = self._predict_cell(model, X, ci_prob, self.features_[method])
                out["mean"][sel, j] = mean
                out["sd"][sel, j] = sd
                out["lower"][sel, j] = lo
                out["upper"][sel, j] = hi
        notes_frame = pd.DataFrame(note_rows, columns=["model", "method", "note"])
        return PredictionResult(
            index=index[["model", "method"]].reset_index(drop=True),
            targets=tuple(self.targets),
            ci_prob=ci_prob,
            predictor=self.name,
            provenance=self._provenance(),
            notes=notes_frame,
            **out,
        )

    # -- subclass hooks --------------------------------------------------------------------
    def _validate_params(self) -> None:
        """Check constructor arguments at fit time (scikit-learn's contract)."""

    def _fit_cell(
        self, X: np.ndarray, y: np.ndarray, names: list[str]
    ) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_cell(
        self, model: Any, X: np.ndarray, ci_prob: float, names: list[str]
    ) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError


def _no_interval(mean: np.ndarray) -> tuple[np.ndarray, ...]:
    nan = np.full_like(mean, np.nan, dtype=float)
    return mean, nan, nan, nan


class MeanBaseline(_CellBaseline):
    """Predict the training mean of each target for each RM method (no intervals).

    Examples
    --------
    >>> from rmpredict.models import MeanBaseline
    >>> pred = MeanBaseline().fit().predict("path/to/candidates.csv")  # doctest: +SKIP
    """

    name = "mean"

    def __init__(self) -> None:
        pass

    def _fit_cell(self, X: np.ndarray, y: np.ndarray, names: list[str]) -> float:
        return float(np.mean(y))

    def _predict_cell(self, model: float, X: np.ndarray, ci_prob: float, names: list[str]) -> tuple:
        return _no_interval(np.full(len(X), model))


def _linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares intercept and slope of ``y`` on one column ``x`` (slope 0 if constant)."""
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - ym)) / sxx) if sxx > 0 else 0.0
    return ym - slope * xm, slope


def _kfold(n: int, cv: int, random_seed: int | None):
    from sklearn.model_selection import KFold

    return KFold(n_splits=min(cv, n), shuffle=True, random_state=random_seed)


class BestSingleBenchmark(_CellBaseline):
    """Linear regression on the single leaderboard-v2 benchmark that fits the training rows best.

    The feature is chosen per (RM method, target) on the training rows only, among the six
    leaderboard-v2 scores: ``criterion="correlation"`` takes the largest absolute Pearson
    correlation with the target; ``criterion="cv"`` the smallest mean squared error of a
    ``min(cv, n)``-fold cross-validation (shuffled with ``random_seed``). Ties go to the first
    benchmark in :data:`rmpredict.datasets.V2_BENCHMARKS` order. ``feature`` fixes the feature
    instead (e.g. ``"mmlu_pro"``, the anchor's "MMLU-PRO alone"). No intervals.

    Parameters
    ----------
    feature : str or None, default=None
        Fixed feature (any of :data:`rmpredict.features.BASELINE_FEATURES`) or ``None`` to select.
    criterion : {"correlation", "cv"}, default="correlation"
        Selection rule when ``feature`` is ``None``.
    cv : int, default=10
        Folds of the inner cross-validation (``criterion="cv"``); capped at the row count.
    random_seed : int or None, default=0
        Seed of the inner fold shuffle.
    """

    name = "best_single"

    def __init__(
        self,
        *,
        feature: str | None = None,
        criterion: str = "correlation",
        cv: int = 10,
        random_seed: int | None = 0,
    ) -> None:
        self.feature = feature
        self.criterion = criterion
        self.cv = cv
        self.random_seed = random_seed

    def _validate_params(self) -> None:
        if self.feature is not None and self.feature not in BASELINE_FEATURES:
            raise InvalidParameterError(
                f"The 'feature' parameter of BestSingleBenchmark must be None or one of "
                f"{list(BASELINE_FEATURES)}. Got {self.feature!r} instead."
            )
        if self.criterion not in ("correlation", "cv"):
            raise InvalidParameterError(
                "The 'criterion' parameter of BestSingleBenchmark must be 'correlation' or "
                f"'cv'. Got {self.criterion!r} instead."
            )
        _check_cv(self.cv, "BestSingleBenchmark")

    def _fit(self, frame: pd.DataFrame) -> None:
        super()._fit(frame)
        self.selected_features_ = {key: m[0] for key, m in self.cell_models_.items()}

    def _fit_cell(self, X: np.ndarray, y: np.ndarray, names: list[str]) -> tuple[str, float, float]:
        candidates = [self.feature] if self.feature else [f for f in V2_BENCHMARKS if f in names]
        if not candidates or (self.feature and self.feature not in names):
            raise InvalidParameterError(
                f"BestSingleBenchmark has no values for feature(s) {candidates} in the "
                "training rows; pass a table with those columns or choose another 'feature'."
            )
        cols = {f: X[:, names.index(f)] for f in candidates}
        if len(candidates) == 1:
            best = candidates[0]
        elif self.criterion == "correlation":
            scores = [_abs_corr(cols[f], y) for f in candidates]
            best = candidates[int(np.argmax(scores))]
        else:
            scores = [self._cv_mse(cols[f], y) for f in candidates]
            best = candidates[int(np.argmin(scores))]
        return (best, *_linear_fit(cols[best], y))

    def _cv_mse(self, x: np.ndarray, y: np.ndarray) -> float:
        if len(y) < 2:
            return float("nan")
        errs = []
        for tr, te in _kfold(len(y), self.cv, self.random_seed).split(x):
            b0, b1 = _linear_fit(x[tr], y[tr])
            errs.append(np.mean((b0 + b1 * x[te] - y[te]) ** 2))
        return float(np.mean(errs))

    def _predict_cell(self, model: tuple, X: np.ndarray, ci_prob: float, names: list[str]) -> tuple:
        feature, b0, b1 = model
        return _no_interval(b0 + b1 * X[:, names.index(feature)])


def _abs_corr(x: np.ndarray, y: np.ndarray) -> float:
    if x.std() == 0 or y.std() == 0:
        return -np.inf  # never selected over a benchmark with any correlation
    return float(abs(np.corrcoef(x, y)[0, 1]))


def _check_cv(cv: object, owner: str) -> None:
    if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or cv < 2:
        raise InvalidParameterError(
            f"The 'cv' parameter of {owner} must be an int >= 2. Got {cv!r} instead."
        )


class ElasticNetBaseline(_CellBaseline):
    """The study's Elastic Net: polynomial features, standardisation, grid-searched penalty.

    For each (RM method, target): the pipeline ``PolynomialFeatures(degree, include_bias=False)
    -> StandardScaler -> ElasticNet(alpha, l1_ratio)`` is scored by the mean squared error of a
    ``min(cv, n)``-fold cross-validation (shuffled with ``random_seed``) for every combination
    of ``degrees x alphas x l1_ratios``, the best one (first in scikit-learn's ``ParameterGrid``
    order on ties, as ``GridSearchCV``) is refitted on all training rows. Equivalent to
    ``GridSearchCV(pipeline, grid, cv=KFold(...), scoring="neg_mean_squared_error")`` but about
    twice as fast (no per-fit cloning). ``ElasticNet`` runs with scikit-learn's default
    ``max_iter`` (1000) as in the study; its convergence warnings for the smallest penalties
    of the degree-3 expansion are expected and silenced. No intervals.

    Parameters
    ----------
    degrees : tuple of int, default=(1, 2, 3)
    alphas : tuple of float, default=(0.1, 0.01, 0.001, 0.0001)
    l1_ratios : tuple of float, default=(0, 0.25, 0.5, 0.75, 1)
    cv : int, default=10
        Folds of the inner cross-validation, capped at the row count.
    max_iter : int, default=1000
    random_seed : int or None, default=0
        Seed of the inner fold shuffle.

    Notes
    -----
    With fewer than two training rows for a (method, target) there is nothing to
    cross-validate; the cell then predicts the training value (the mean).
    """

    name = "elastic_net"

    def __init__(
        self,
        *,
        degrees: tuple[int, ...] = (1, 2, 3),
        alphas: tuple[float, ...] = (0.1, 0.01, 0.001, 0.0001),
        l1_ratios: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
        cv: int = 10,
        max_iter: int = 1000,
        random_seed: int | None = 0,
    ) -> None:
        self.degrees = degrees
        self.alphas = alphas
        self.l1_ratios = l1_ratios
        self.cv = cv
        self.max_iter = max_iter
        self.random_seed = random_seed

    def _validate_params(self) -> None:
        _check_cv(self.cv, "ElasticNetBaseline")
        for name, values, ok in (
            ("degrees", self.degrees, lambda v: isinstance(v, int | np.integer) and v >= 1),
            ("alphas", self.alphas, lambda v: np.isscalar(v) and float(v) > 0),
            ("l1_ratios", self.l1_ratios, lambda v: np.isscalar(v) and 0 <= float(v) <= 1),
        ):
            if np.ndim(values) != 1 or len(values) == 0 or not all(ok(v) for v in values):
                raise InvalidParameterError(
                    f"The '{name}' parameter of ElasticNetBaseline must be a non-empty sequence "
                    f"of valid values (degrees >= 1, alphas > 0, 0 <= l1_ratios <= 1). "
                    f"Got {values!r} instead."
                )

    def pipeline(self, degree: int, alpha: float, l1_ratio: float):
        """The scikit-learn pipeline for one grid point (unfitted)."""
        from sklearn.linear_model import ElasticNet
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import PolynomialFeatures, StandardScaler

        return Pipeline(
            [
                ("poly", PolynomialFeatures(degree=int(degree), include_bias=False)),
                ("scale", StandardScaler()),
                (
                    "enet",
                    ElasticNet(
                        alpha=float(alpha), l1_ratio=float(l1_ratio), max_iter=self.max_iter
                    ),
                ),
            ]
        )

    def _fit_cell(self, X: np.ndarray, y: np.ndarray, names: list[str]) -> Any:
        from sklearn.dummy import DummyRegressor
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import ElasticNet
        from sklearn.preprocessing import PolynomialFeatures, StandardScaler

        if len(y) < 2:
            return DummyRegressor().fit(X, y)
        # ParameterGrid order of GridSearchCV: keys sorted by name (enet__alpha,
        # enet__l1_ratio, poly__degree), the last varying fastest.
        grid = [(d, a, r) for a in self.alphas for r in self.l1_ratios for d in self.degrees]
        sse = {g: [] for g in grid}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            poly = {
                d: PolynomialFeatures(degree=int(d), include_bias=False).fit_transform(X)
                for d in self.degrees
            }
            for tr, te in _kfold(len(y), self.cv, self.random_seed).split(X):
                for d in self.degrees:
                    scaler = StandardScaler().fit(poly[d][tr])
                    A, B = scaler.transform(poly[d][tr]), scaler.transform(poly[d][te])
                    for a in self.alphas:
                        for r in self.l1_ratios:
                            enet = ElasticNet(
                                alpha=float(a), l1_ratio=float(r), max_iter=self.max_iter
                            ).fit(A, y[tr])
                            sse[(d, a, r)].append(np.mean((enet.predict(B) - y[te]) ** 2))
            scores = np.array([np.mean(sse[g]) for g in grid])
            best = grid[int(np.argmin(scores))]
            model = self.pipeline(*best).fit(X, y)
        model.cv_mse_ = float(scores.min())
        return model

    def _fit(self, frame: pd.DataFrame) -> None:
        super()._fit(frame)
        self.best_params_ = {
            key: (
                {
                    "degree": m.named_steps["poly"].degree,
                    "alpha": m.named_steps["enet"].alpha,
                    "l1_ratio": m.named_steps["enet"].l1_ratio,
                }
                if hasattr(m, "named_steps")
                else None
            )
            for key, m in self.cell_models_.items()
        }

    def _predict_cell(self, model: Any, X: np.ndarray, ci_prob: float, names: list[str]) -> tuple:
        return _no_interval(np.asarray(model.predict(X), dtype=float))


class RidgeBaseline(_CellBaseline):
    """Ridge regression on standardised features with the penalty chosen by ``RidgeCV``.

    ``StandardScaler -> RidgeCV(alphas)``; RidgeCV picks the penalty by efficient
    leave-one-out cross-validation on the training rows. No intervals.

    Parameters
    ----------
    alphas : tuple of float, default=``np.logspace(-3, 3, 13)``
        Candidate penalties (a log grid from 0.001 to 1000).
    """

    name = "ridge"

    def __init__(self, *, alphas: tuple[float, ...] = tuple(np.logspace(-3, 3, 13))) -> None:
        self.alphas = alphas

    def _validate_params(self) -> None:
        if (
            np.ndim(self.alphas) != 1
            or len(self.alphas) == 0
            or not all(np.isscalar(a) and float(a) > 0 for a in self.alphas)
        ):
            raise InvalidParameterError(
                "The 'alphas' parameter of RidgeBaseline must be a non-empty sequence of "
                f"positive floats. Got {self.alphas!r} instead."
            )

    def pipeline(self):
        """The unfitted scikit-learn pipeline."""
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        return Pipeline(
            [
                ("scale", StandardScaler()),
                ("ridge", RidgeCV(alphas=np.asarray(self.alphas, dtype=float))),
            ]
        )

    def _fit_cell(self, X: np.ndarray, y: np.ndarray, names: list[str]) -> Any:
        from sklearn.dummy import DummyRegressor

        if len(y) < 2:
            return DummyRegressor().fit(X, y)
        return self.pipeline().fit(X, y)

    def _predict_cell(self, model: Any, X: np.ndarray, ci_prob: float, names: list[str]) -> tuple:
        return _no_interval(np.asarray(model.predict(X), dtype=float))


class OLSBaseline(_CellBaseline):
    """Ordinary least squares (statsmodels) on standardised features, with prediction intervals.

    Features are standardised with the training means and standard deviations (a constant
    column is dropped), an intercept is added, and ``statsmodels.api.OLS`` is fitted. The
    ``ci_prob`` interval is statsmodels' observation interval
    (``get_prediction(...).summary_frame(alpha=1 - ci_prob)[["obs_ci_lower", "obs_ci_upper"]]``,
    Student-t with ``n - p - 1`` degrees of freedom); ``sd`` is the square root of the
    predictive variance ``var_pred_mean + scale``. Needs more rows than features plus one;
    otherwise the cell predicts the training mean without an interval.
    """

    name = "ols"

    def __init__(self) -> None:
        pass

    def _fit_cell(self, X: np.ndarray, y: np.ndarray, names: list[str]) -> Any:
        import statsmodels.api as sm

        mu, sd = X.mean(axis=0), X.std(axis=0, ddof=0)
        keep = sd > 0
        if len(y) <= int(keep.sum()) + 1:
            return ("mean", float(np.mean(y)))
        Z = sm.add_constant((X[:, keep] - mu[keep]) / sd[keep], has_constant="add")
        return ("ols", sm.OLS(y, Z).fit(), mu, sd, keep)

    def _predict_cell(self, model: tuple, X: np.ndarray, ci_prob: float, names: list[str]) -> tuple:
        import statsmodels.api as sm

        if model[0] == "mean":
            return _no_interval(np.full(len(X), model[1]))
        _, res, mu, sd, keep = model
        Z = sm.add_constant((X[:, keep] - mu[keep]) / sd[keep], has_constant="add")
        pred = res.get_prediction(Z)
        frame = pred.summary_frame(alpha=1.0 - ci_prob)
        spread = np.sqrt(np.asarray(pred.var_pred_mean) + res.scale)
        return (
            frame["mean"].to_numpy(),
            spread,
            frame["obs_ci_lower"].to_numpy(),
            frame["obs_ci_upper"].to_numpy(),
        )

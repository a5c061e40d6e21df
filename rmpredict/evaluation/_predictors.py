"""Named predictors for the evaluation: the Bayesian model and the five baselines."""

from __future__ import annotations

from typing import Any

from rmpredict.exceptions import InvalidParameterError
from rmpredict.models import BaseRMPredictor

__all__ = ["PREDICTOR_NAMES", "make_predictors"]

PREDICTOR_NAMES: tuple[str, ...] = ("bayes", "elastic_net", "ridge", "ols", "best_single", "mean")
"""Names accepted by :func:`make_predictors` (and ``rmpredict evaluate --predictors``)."""

# Sampler settings a caller may pass for the Bayesian model, and the estimator parameter
# names each may go by (the first one the estimator has is used).
_BAYES_ALIASES: dict[str, tuple[str, ...]] = {
    "draws": ("draws",),
    "tune": ("tune",),
    "chains": ("chains",),
    "seed": ("random_seed", "seed"),
    "sampler": ("sampler",),
}


def make_predictors(names: tuple[str, ...] | list[str] = PREDICTOR_NAMES, *,
                    seed: int | None = None,
                    bayes_options: dict[str, Any] | None = None) -> dict[str, BaseRMPredictor]:
    """Unfitted predictors by name, in the order given.

    Parameters
    ----------
    names : sequence of str
        Any of :data:`PREDICTOR_NAMES`.
    seed : int or None
        ``random_seed`` of every predictor that has one (Elastic Net and best-single inner
        CV shuffles, the Bayesian sampler).
    bayes_options : dict, optional
        ``draws``, ``tune``, ``chains``, ``sampler`` for ``HierarchicalRMPredictor``
        (``None`` values are ignored).

    Raises
    ------
    InvalidParameterError
        Unknown name, or a Bayesian option the installed model does not accept.
    MissingDependencyError
        ``bayes`` requested but ``rmpredict.models.HierarchicalRMPredictor`` is unavailable.
    """
    from rmpredict.models import (
        BestSingleBenchmark,
        ElasticNetBaseline,
        MeanBaseline,
        OLSBaseline,
        RidgeBaseline,
    )

    unknown = [n for n in names if n not in PREDICTOR_NAMES]
    if unknown or not names:
        raise InvalidParameterError(
            f"Unknown predictor name(s) {unknown}; choose from {', '.join(PREDICTOR_NAMES)} "
            "(comma-separated).")
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"Predictor names must be unique; got {list(names)}.")
    factories = {"elastic_net": ElasticNetBaseline, "ridge": RidgeBaseline, "ols": OLSBaseline,
                 "best_single": BestSingleBenchmark, "mean": MeanBaseline}
    out: dict[str, BaseRMPredictor] = {}
    for name in names:
        est = _make_bayes(bayes_options or {}) if name == "bayes" else factories[name]()
        if seed is not None:
            params = est.get_params(deep=False)
            for key in ("random_seed", "seed"):
                if key in params:
                    est.set_params(**{key: seed})
                    break
        out[name] = est
    return out


def _make_bayes(options: dict[str, Any]) -> BaseRMPredictor:
    from rmpredict.exceptions import MissingDependencyError

    try:
        from rmpredict.models import HierarchicalRMPredictor
    except ImportError as exc:
        raise MissingDependencyError(
            "The 'bayes' predictor needs rmpredict.models.HierarchicalRMPredictor, which this "
            "installation does not provide; leave 'bayes' out of --predictors or reinstall "
            "rmpredict.") from exc
    est = HierarchicalRMPredictor()
    params = est.get_params(deep=False)
    update = {}
    for option, value in options.items():
        if value is None or option == "seed":
            continue
        names = _BAYES_ALIASES.get(option, (option,))
        target = next((n for n in names if n in params), None)
        if target is None:
            raise InvalidParameterError(
                f"HierarchicalRMPredictor has no parameter for {option!r} (it accepts "
                f"{sorted(params)}); drop that option.")
        update[target] = value
    return est.set_params(**update)

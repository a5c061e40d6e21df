"""Prior-predictive check of the hierarchical predictor: what accuracies do the priors imply?

Draws every parameter from its prior with ``pm.sample_prior_predictive`` on the graph that
``rmpredict.models._hier_graph.build_model`` builds for the bundled training rows (the same
arrays ``HierarchicalRMPredictor.fit`` builds), then forms the implied accuracy
``sigmoid(eta + sigma * eps)`` of every (model, method) row and category in numpy. The
likelihood enters the graph as a ``pm.Potential``, which prior sampling ignores by design: these
are draws from the prior alone. As an independent cross-check the same quantity is computed a
second time from ``DEFAULT_PRIORS`` with numpy only (no PyMC), and both tables are printed
together with the observed accuracies of the bundled data.

Usage::

    python benchmarks/prior_predictive.py                  # 2000 prior draws, seed 0
    python benchmarks/prior_predictive.py --draws 500 --seed 1

Output: one table per source with the 5/25/50/75/95% quantiles of the implied accuracy
(RewardBench points, i.e. percent) per category and for the overall score, pooled over the
training rows and the prior draws, plus the share of draws below 50 (worse than chance) and
above 95.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
CATS = ("chat", "chat_hard", "safety", "reasoning")


def _arrays(n_factors: int = 3):
    """Training arrays, encoding and priors as ``HierarchicalRMPredictor.fit`` builds them."""
    from rmpredict.features import default_factor_model
    from rmpredict.models._hier_data import build_encoding, training_arrays
    from rmpredict.models._hier_graph import DEFAULT_PRIORS

    frame = _reference()
    weights = np.ones(len(frame))
    fm = default_factor_model(n_factors)
    enc = build_encoding(frame, weights, n_factors)
    return frame, enc, training_arrays(frame, weights, enc, fm), dict(DEFAULT_PRIORS)


def _reference() -> pd.DataFrame:
    from rmpredict.models._base import as_results_frame

    # ``None`` means the bundled reference data, as in ``HierarchicalRMPredictor.fit()``.
    return as_results_frame(None).reset_index(drop=True)


def _features(arrays, draws: dict[str, np.ndarray] | None, rng: np.random.Generator,
              n: int) -> np.ndarray:
    """Feature matrix per draw, shape (n, n_models, J); latent inputs from ``draws`` or N(0, 1)."""
    f = arrays.feats
    n_models, k = f.factor_mean.shape

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if draws is not None and name in draws:
            return draws[name].reshape((n, *shape))
        return rng.standard_normal((n, *shape))

    z = get("z_factor", (n_models, k))
    factors = f.factor_mean[None] + np.einsum("mkl,sml->smk", f.factor_chol, z)
    lp = np.broadcast_to(np.nan_to_num(f.lp), (n, n_models)).copy()
    if len(arrays.lp_missing):
        lp[:, arrays.lp_missing] = get("lp_latent", (len(arrays.lp_missing),))
    lt = np.broadcast_to(np.nan_to_num(f.lt), (n, n_models)).copy()
    if len(arrays.lt_missing):
        lt[:, arrays.lt_missing] = get("lt_latent", (len(arrays.lt_missing),))
    cols = [factors, lp[:, :, None], lt[:, :, None],
            np.broadcast_to(f.stage[None], (n, n_models, f.stage.shape[1]))]
    if f.dd.shape[1]:
        dd = np.broadcast_to(np.nan_to_num(f.dd)[None], (n, *f.dd.shape)).copy()
        if len(arrays.dd_missing):
            lat = get("dd_latent", (len(arrays.dd_missing),))
            dd[:, arrays.dd_missing[:, 0], arrays.dd_missing[:, 1]] = lat
        cols.append(dd)
    return np.concatenate(cols, axis=2)


def _accuracy(arrays, x, alpha, beta, u_pub, s_run, z_run, sigma,
              rng: np.random.Generator) -> np.ndarray:
    """Implied accuracy (n, n_rows, 4) from parameter draws, following the graph's ``eta``."""
    rm, rr = arrays.row_model, arrays.row_method
    pub = arrays.model_pub[rm]
    n = alpha.shape[0]
    lin = np.einsum("sij,sicj->sic", x[:, rm], beta[:, rr])
    eta = (alpha[:, rr] + lin + u_pub[:, pub, rr] + (s_run[:, rr] * z_run)[:, :, None])
    y = eta + sigma[:, rr] * rng.standard_normal((n, len(rm), 4))
    return 1.0 / (1.0 + np.exp(-y))


def prior_predictive_pymc(draws: int = 2000, random_seed: int = 0) -> np.ndarray:
    """Implied accuracy draws (draws, n_rows, 4) from the PyMC graph's prior."""
    import pymc as pm

    from rmpredict.models._hier_graph import build_model
    from rmpredict.models._sampling import _coords

    _, enc, arrays, priors = _arrays()
    coords = _coords(arrays, len(enc.methods), len(enc.feature_names))
    model = build_model(arrays, priors, coords)
    names = ["alpha", "beta", "u_pub", "s_run", "z_run", "sigma", "z_factor"]
    names += [v for v in ("lp_latent", "lt_latent", "dd_latent") if v in model.named_vars]
    with model, warnings.catch_warnings():
        # The likelihood is a Potential; ignoring it is the point of a prior-predictive check.
        warnings.filterwarnings("ignore", message=".*Potentials.*", category=UserWarning)
        idata = pm.sample_prior_predictive(draws=draws, var_names=names,
                                           random_seed=random_seed)
    prior = idata.prior
    d = {v: prior[v].to_numpy().reshape((draws, *prior[v].shape[2:])) for v in names}
    rng = np.random.default_rng(random_seed + 1)
    x = _features(arrays, d, rng, draws)
    return _accuracy(arrays, x, d["alpha"], d["beta"], d["u_pub"], d["s_run"], d["z_run"],
                     d["sigma"], rng)


def prior_predictive_numpy(draws: int = 2000, random_seed: int = 0) -> np.ndarray:
    """The same draws written out from ``DEFAULT_PRIORS`` in numpy (independent of PyMC)."""
    _, enc, arrays, p = _arrays()
    rng = np.random.default_rng(random_seed)
    n, r, c, j = draws, len(enc.methods), 4, len(enc.feature_names)
    n_pub = int(arrays.model_pub.max()) + 1

    def half(scale: float, shape: tuple[int, ...] = ()) -> np.ndarray:
        return np.abs(rng.normal(0.0, scale, (n, *shape)))

    theta = rng.normal(0.0, p["slope_scale"], (n, j))
    b = theta[:, None, :] + half(p["method_slope_scale"])[:, None, None] * rng.standard_normal(
        (n, r, j))
    beta = b[:, :, None, :] + half(p["category_slope_scale"])[:, None, None, None] \
        * rng.standard_normal((n, r, c, j))
    a = rng.normal(p["intercept_mean"], p["intercept_sd"], (n, c))
    alpha = a[:, None, :] + half(p["intercept_dev_scale"])[:, None, None] \
        * rng.standard_normal((n, r, c))
    u_pub = half(p["publisher_scale"], (r,))[:, None, :, None] * rng.standard_normal(
        (n, n_pub, r, c))
    s_run = half(p["run_scale"], (r,))
    z_run = rng.standard_normal((n, len(arrays.row_model)))
    l_c = rng.normal(p["log_noise_mean"], p["log_noise_sd"], (n, c))
    sigma = np.exp(l_c[:, None, :] + half(p["noise_dev_scale"])[:, None, None]
                   * rng.standard_normal((n, r, c)))
    x = _features(arrays, None, rng, n)
    return _accuracy(arrays, x, alpha, beta, u_pub, s_run, z_run, sigma, rng)


def summarize(acc: np.ndarray) -> pd.DataFrame:
    """Quantiles (points) per category and for the score, pooled over rows and draws."""
    cols = {c: acc[..., i].ravel() for i, c in enumerate(CATS)}
    cols["score"] = acc.mean(axis=-1).ravel()
    rows = []
    for name, v in cols.items():
        q = np.quantile(v, QUANTILES) * 100
        rows.append({"target": name, **{f"q{int(p * 100):02d}": x for p, x in zip(QUANTILES, q)},
                     "below_50": float(np.mean(v < 0.5)), "above_95": float(np.mean(v > 0.95))})
    return pd.DataFrame(rows).set_index("target")


def observed_table() -> pd.DataFrame:
    """The same quantiles of the bundled observed accuracies (for comparison)."""
    frame = _reference()
    acc = frame[list(CATS)].to_numpy(dtype=float)[None]
    return summarize(acc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000, help="prior draws (default: 2000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args()
    pd.set_option("display.width", 120)
    fmt = {"float_format": lambda v: f"{v:.2f}"}

    t0 = time.perf_counter()
    pymc_acc = prior_predictive_pymc(args.draws, args.seed)
    t1 = time.perf_counter()
    np_acc = prior_predictive_numpy(args.draws, args.seed)
    t2 = time.perf_counter()
    n_rows = pymc_acc.shape[1]
    print(f"Prior predictive of RewardBench accuracy, {args.draws} draws x {n_rows} training "
          f"rows, seed {args.seed}. Quantiles in points; below_50/above_95 are shares.\n")
    print(f"PyMC graph (pm.sample_prior_predictive, {t1 - t0:.1f} s):")
    print(summarize(pymc_acc).to_string(**fmt))
    print(f"\nnumpy from DEFAULT_PRIORS (independent cross-check, {t2 - t1:.1f} s):")
    print(summarize(np_acc).to_string(**fmt))
    print("\nobserved (bundled reference data):")
    print(observed_table().to_string(**fmt))


if __name__ == "__main__":
    main()

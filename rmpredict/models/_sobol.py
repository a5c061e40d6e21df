"""Sobol' points with a random digital shift (numpy only).

``scipy.stats.qmc`` would do, but importing ``scipy.stats`` costs about 0.6 s, more than the
prediction it serves. The direction numbers are Joe & Kuo's (``new-joe-kuo-6.21201``) for the
first eight dimensions; the unshifted points equal ``scipy.stats.qmc.Sobol(scramble=False)``
(tested).
"""

from __future__ import annotations

import numpy as np

__all__ = ["sobol_points", "MAX_DIM"]

_BITS = 32
# (degree s, coefficient a, initial m_1..m_s) for dimensions 2, 3, ...; dimension 1 is the
# van der Corput sequence.
_JOE_KUO = ((1, 0, (1,)), (2, 1, (1, 3)), (3, 1, (1, 3, 1)), (3, 2, (1, 1, 1)),
            (4, 1, (1, 1, 3, 3)), (4, 4, (1, 3, 5, 13)), (5, 2, (1, 1, 5, 5, 17)))
MAX_DIM = len(_JOE_KUO) + 1


def _directions(dim: int) -> np.ndarray:
    """Direction integers ``v[d, k]`` (``_BITS`` bits) of the first ``dim`` dimensions."""
    v = np.zeros((dim, _BITS), dtype=np.uint64)
    v[0] = [1 << (_BITS - 1 - k) for k in range(_BITS)]
    for d in range(1, dim):
        s, a, m = _JOE_KUO[d - 1]
        row = [int(m[k]) << (_BITS - 1 - k) for k in range(s)]
        for k in range(s, _BITS):
            value = row[k - s] ^ (row[k - s] >> s)
            for j in range(1, s):
                if (a >> (s - 1 - j)) & 1:
                    value ^= row[k - j]
            row.append(value)
        v[d] = row
    return v


def _scramble(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Linear matrix scrambling: ``v[d, k] <- L_d v[d, k]`` over GF(2), ``L_d`` random lower
    triangular with unit diagonal (bit 0 of the matrix = the most significant bit)."""
    bits = ((v[..., None] >> np.arange(_BITS - 1, -1, -1, dtype=np.uint64)) & np.uint64(1))
    out = np.empty_like(v)
    weights = np.uint64(1) << np.arange(_BITS - 1, -1, -1, dtype=np.uint64)
    for d in range(v.shape[0]):
        lower = np.tril(rng.integers(0, 2, size=(_BITS, _BITS)), k=-1) + np.eye(_BITS,
                                                                                dtype=np.int64)
        scrambled = (bits[d].astype(np.int64) @ lower.T) % 2  # (k, bits)
        out[d] = (scrambled.astype(np.uint64) * weights).sum(axis=1)
    return out


def sobol_points(m: int, dim: int, seed: int | None = None) -> np.ndarray:
    """The first ``2**m`` Sobol' points in ``[0, 1)^dim``, shape ``(2**m, dim)``.

    ``seed`` given: the points are randomised as ``scipy.stats.qmc.Sobol(scramble=True)``
    does, by a linear matrix scramble of the direction numbers and a digital shift (XOR with
    one random integer per dimension); the set keeps its equidistribution and no coordinate is
    exactly 0.
    """
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(f"dim must be between 1 and {MAX_DIM}; got {dim}")
    if not 0 <= m <= _BITS:
        raise ValueError(f"m must be between 0 and {_BITS}; got {m}")
    v = _directions(dim)
    rng = None if seed is None else np.random.default_rng(seed)
    if rng is not None:
        v = _scramble(v, rng)
    index = np.arange(2 ** m, dtype=np.uint64)
    x = np.zeros((2 ** m, dim), dtype=np.uint64)
    for k in range(m):
        on = ((index >> np.uint64(k)) & np.uint64(1)).astype(bool)
        x[on] ^= v[:, k]
    if rng is not None:
        shift = rng.integers(0, 2 ** _BITS, size=dim, dtype=np.uint64)
        x ^= shift
        return (x.astype(np.float64) + 0.5) / 2.0 ** _BITS
    return x.astype(np.float64) / 2.0 ** _BITS

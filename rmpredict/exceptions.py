"""Errors and warnings raised by rmpredict.

Policy (after statsmodels' ``sm_exceptions``): a broken contract (bad input, unfitted model,
tampered file) raises an error; statistical trouble (divergences, r-hat, low ESS,
extrapolation) emits a warning under :class:`RMPredictWarning` and the result is still returned.
Errors inherit from the builtin they refine so existing ``except ValueError`` clauses keep working.
"""

from __future__ import annotations

import warnings

__all__ = [
    "RMPredictError",
    "DataValidationError",
    "InvalidParameterError",
    "NotFittedError",
    "ModelMismatchError",
    "ReleaseIntegrityError",
    "MissingDependencyError",
    "TrainingError",
    "RMPredictWarning",
    "ConvergenceWarning",
    "ExtrapolationWarning",
    "DataWarning",
    "FilledValuesWarning",
]


class RMPredictError(Exception):
    """Base class of every error rmpredict raises on purpose.

    The CLI turns these into one line on stderr and exit code 2.
    """


class DataValidationError(RMPredictError, ValueError):
    """A user table failed validation.

    Parameters
    ----------
    problems : list of str
        Every problem found in the table, one line each (row, column, value, fix).
    source : str, optional
        Where the table came from (a path or ``"DataFrame"``).
    """

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        head = f"{len(self.problems)} problem(s){where}"
        super().__init__(head + ": " + "; ".join(self.problems))

    def report(self) -> str:
        """All problems, one per line, for a terminal."""
        where = f" in {self.source}" if self.source else ""
        lines = [f"{len(self.problems)} problem(s){where}:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class InvalidParameterError(RMPredictError, ValueError, TypeError):
    """A function or estimator argument has a value outside what it accepts."""


class NotFittedError(RMPredictError, ValueError, AttributeError):
    """An estimator was used before ``fit`` was called."""


class ModelMismatchError(RMPredictError, ValueError):
    """A saved model's identity, version or content does not match what loading expects."""


class ReleaseIntegrityError(ModelMismatchError):
    """A released model file is missing, truncated or modified (checksum mismatch)."""


class MissingDependencyError(RMPredictError, ImportError):
    """An optional dependency is needed; the message gives the ``pip install`` command."""


class TrainingError(RMPredictError, RuntimeError):
    """A training run cannot continue (e.g. NaN loss); the last good checkpoint is kept."""


class RMPredictWarning(UserWarning):
    """Base class of every warning rmpredict emits."""


class ConvergenceWarning(RMPredictWarning):
    """MCMC diagnostics failed: divergences, r-hat > 1.01 or ESS below the threshold."""


class ExtrapolationWarning(RMPredictWarning):
    """A candidate's features lie outside the range the model was fitted on."""


class DataWarning(RMPredictWarning):
    """A table has something unusual that is not an error (unknown columns, filled values)."""


class FilledValuesWarning(DataWarning):
    """Missing feature values were filled from the bundled tables (listed in ``filled``)."""


# Statistical warnings must never be de-duplicated away (as in statsmodels).
warnings.simplefilter("always", category=ConvergenceWarning)
warnings.simplefilter("always", category=ExtrapolationWarning)

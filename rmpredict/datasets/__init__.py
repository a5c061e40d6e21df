"""Bundled reference data and the canonical table schema."""

from rmpredict.datasets._reference import (
    data_dir,
    list_tables,
    load_leaderboard,
    load_reference,
    load_table,
    verify_data,
)
from rmpredict.datasets._schema import (
    BENCHMARKS,
    CATEGORIES,
    POST_TRAINING_STAGES,
    RB2_CATEGORIES,
    RESULT_BENCHMARKS,
    TARGETS,
    V1_BENCHMARKS,
    V2_BENCHMARKS,
    benchmark_targets,
    canonical_column,
)

__all__ = [
    "BENCHMARKS",
    "CATEGORIES",
    "DATADIST_PREFIX",
    "META_NUMERIC",
    "POST_TRAINING_STAGES",
    "RB2_CATEGORIES",
    "RESULT_BENCHMARKS",
    "TARGETS",
    "V1_BENCHMARKS",
    "V2_BENCHMARKS",
    "benchmark_targets",
    "canonical_column",
    "is_datadist_column",
    "data_dir",
    "list_tables",
    "load_leaderboard",
    "load_reference",
    "load_table",
    "verify_data",
]

# Names other packages use to recognise columns (e.g. data-distribution features).
from rmpredict.datasets._schema import (  # noqa: E402
    COLUMN_ALIASES,
    DATADIST_PREFIX,
    META_NUMERIC,
    is_datadist_column,
)
from rmpredict.datasets._validation import (  # noqa: E402
    ValidatedTable,
    read_candidates,
    read_results,
    validate_table,
)

__all__ += ["COLUMN_ALIASES", "ValidatedTable", "read_candidates", "read_results",
            "validate_table"]

from rmpredict.datasets._public import (  # noqa: E402
    CONFIDENCE_LEVELS,
    PUBLIC_BENCHMARKS,
    load_public_results,
    validate_public_results,
)
from rmpredict.datasets._public_training import (  # noqa: E402
    PUBLIC_RECIPE,
    public_training_rows,
)

__all__ += ["CONFIDENCE_LEVELS", "PUBLIC_BENCHMARKS", "load_public_results",
            "validate_public_results", "PUBLIC_RECIPE", "public_training_rows"]

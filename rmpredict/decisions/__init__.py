"""Decision support: rank candidate base models under uncertainty and choose what to train next.

Everything works on the joint posterior-predictive draws of a
:class:`~rmpredict.models.PredictionResult`, so correlations between candidates are respected.
"""

from rmpredict.decisions._draws import SIZE_GROUPS, size_group
from rmpredict.decisions._ranking import RankingResult, format_ranking, rank_candidates
from rmpredict.decisions._suggest import (
    SuggestionResult,
    format_suggestion,
    knowledge_gradient,
    suggest_next,
)

__all__ = [
    "SIZE_GROUPS",
    "RankingResult",
    "SuggestionResult",
    "format_ranking",
    "format_suggestion",
    "knowledge_gradient",
    "rank_candidates",
    "size_group",
    "suggest_next",
]

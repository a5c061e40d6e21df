"""Decision support: rank candidate base models under uncertainty and choose what to train next.

Everything works on the joint posterior-predictive draws of a
:class:`~rmpredict.models.PredictionResult`, so correlations between candidates are respected.
Every output row carries trust flags (:mod:`rmpredict.decisions._trust`): the method's held-out
skill, whether the result is already known, extrapolation and new recipes.
"""

from rmpredict.decisions._draws import SIZE_GROUPS, size_group
from rmpredict.decisions._ranking import RankingResult, format_ranking, rank_candidates
from rmpredict.decisions._suggest import (
    SuggestionResult,
    expected_improvement,
    format_suggestion,
    knowledge_gradient,
    suggest_next,
)
from rmpredict.decisions._trust import (
    MIN_STAGE_SUPPORT,
    MethodSkill,
    NoSkillWarning,
    Trust,
    attach_trust,
    compute_trust,
    resolve_method,
    stored_evaluation,
)

__all__ = [
    "MIN_STAGE_SUPPORT",
    "SIZE_GROUPS",
    "MethodSkill",
    "NoSkillWarning",
    "RankingResult",
    "SuggestionResult",
    "Trust",
    "attach_trust",
    "compute_trust",
    "expected_improvement",
    "format_ranking",
    "format_suggestion",
    "knowledge_gradient",
    "rank_candidates",
    "resolve_method",
    "size_group",
    "stored_evaluation",
    "suggest_next",
]

"""Sampler settings shared by the hierarchical-model tests (a name no other test folder uses)."""

SMALL = {"draws": 150, "tune": 150, "chains": 2, "random_seed": 1, "progressbar": False,
         "inner_draws": 100, "inner_tune": 100, "inner_chains": 1}
"""Tiny sampler settings: enough for API tests; diagnostics are judged in benchmarks/."""

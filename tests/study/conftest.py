"""Shared settings of the offline-study tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread):
    """Every test here runs on one torch thread (see tests/conftest.py)."""

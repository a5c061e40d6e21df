"""Fixtures for the datadist tests: a tiny random-init Llama and a locally trained tokenizer.

They need the ``train`` extra (torch, transformers, tokenizers); without it the tests that use
them are skipped and the rest of the folder still runs.
"""

from __future__ import annotations

import pytest
from _datadist_helpers import SENTENCES, make_model, make_tokenizer


def _need_train_extra() -> None:
    for name in ("torch", "transformers", "tokenizers"):
        pytest.importorskip(name, reason=f"needs {name} (pip install 'rmpredict[train]')")


@pytest.fixture(scope="session")
def tiny_tokenizer():
    _need_train_extra()
    return make_tokenizer(SENTENCES * 3)


@pytest.fixture(scope="session")
def tiny_model(tiny_tokenizer):
    _need_train_extra()
    return make_model(len(tiny_tokenizer))


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory, tiny_model, tiny_tokenizer):
    """The tiny model and tokenizer saved to a folder, as a user would pass with --model."""
    path = tmp_path_factory.mktemp("tiny_lm")
    tiny_model.save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return path


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread):
    """Every test here runs on one torch thread (see tests/conftest.py)."""

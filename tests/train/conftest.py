"""Fixtures for the trainer tests.

They live in ``_train_helpers`` (a name no other test folder uses) so test modules can import
the factories directly without clashing with other folders' ``conftest`` modules.
"""

from _train_helpers import _one_thread, bert_dir, llama_dir  # noqa: F401 - fixtures


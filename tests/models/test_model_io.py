"""Saved models carry a content hash; any damaged file is one "not a usable model" error."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from rmpredict.exceptions import ModelMismatchError
from rmpredict.models import HierarchicalRMPredictor
from rmpredict.models._model_io import CONTENT_KEY, content_hash


@pytest.fixture(scope="module")
def user_model(tmp_path_factory):
    """The released model saved again, as a user's own ``.nc`` (no release sha256 guards it)."""
    from rmpredict.release import load_release

    path = tmp_path_factory.mktemp("user") / "mine.nc"
    load_release().save(path)
    return path


def test_every_saved_model_records_its_content_hash(user_model):
    with h5py.File(user_model, "r") as fh:
        stored = fh["posterior"].attrs[CONTENT_KEY]
    loaded = HierarchicalRMPredictor.load(user_model)
    assert isinstance(stored, str) and len(stored) == 64
    assert content_hash(loaded.idata_) == stored


@pytest.mark.parametrize("where", [0.3, 0.5, 0.7])
def test_flipped_bytes_in_the_middle_are_a_one_line_model_error(user_model, tmp_path, where):
    data = bytearray(user_model.read_bytes())
    mid = int(len(data) * where)
    data[mid:mid + 8] = bytes(b ^ 0xFF for b in data[mid:mid + 8])
    flipped = tmp_path / "flipped.nc"
    flipped.write_bytes(bytes(data))
    with pytest.raises(ModelMismatchError, match="not a usable rmpredict model") as info:
        HierarchicalRMPredictor.load(flipped)
    assert "\n" not in str(info.value)


def test_edited_training_table_is_refused(user_model, tmp_path):
    # fit_data is not covered by the posterior hash; the content hash covers every group.
    path = tmp_path / "edited.nc"
    path.write_bytes(user_model.read_bytes())
    with h5py.File(path, "r+") as fh:
        score = fh["fit_data"]["score"]
        values = score[...]
        values[0] = np.clip(values[0] + 0.1, 0, 1)
        score[...] = values
    with pytest.raises(ModelMismatchError, match="content .* does not match its recorded sha256"):
        HierarchicalRMPredictor.load(path)


def test_edited_attribute_is_refused(user_model, tmp_path):
    path = tmp_path / "edited.nc"
    path.write_bytes(user_model.read_bytes())
    with h5py.File(path, "r+") as fh:
        # diagnostics are shown to users and covered by no other check
        fh["posterior"].attrs["rmpredict_diagnostics"] = '{"converged": true}'
    with pytest.raises(ModelMismatchError, match="does not match its recorded sha256"):
        HierarchicalRMPredictor.load(path)


def test_a_folder_is_not_a_model(tmp_path):
    with pytest.raises(ModelMismatchError, match="it is a folder"):
        HierarchicalRMPredictor.load(tmp_path)

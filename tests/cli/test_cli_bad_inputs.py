"""Bad inputs a new user tries (issue 14 item 6): each is exit 2, one line on stderr, no
traceback, nothing on stdout and no partial output file, and fails before any long work."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "candidates.csv"
PREFIX = "rmpredict {}: error:"


@pytest.fixture(scope="module")
def flipped_model(tmp_path_factory) -> Path:
    """A user's own fitted model (no release sha256 guards it) with bytes flipped mid-file."""
    from rmpredict.release import load_release

    folder = tmp_path_factory.mktemp("models")
    good = folder / "mine.nc"
    load_release().save(good)
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 8] = bytes(b ^ 0xFF for b in data[mid:mid + 8])
    flipped = folder / "flipped.nc"
    flipped.write_bytes(bytes(data))
    return flipped


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "cands.csv"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _check(proc, command: str, contains: str, outputs=()):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(PREFIX.format(command)), lines[0]
    assert contains in lines[0], lines[0]
    assert proc.stdout == ""
    for out in outputs:
        assert not Path(out).exists(), f"partial output {out} was written"
        assert not list(Path(out).parent.glob(f".{Path(out).name}.*")), "temporary file left"


@pytest.mark.parametrize("command", ["predict", "rank"])
def test_flipped_user_model(run_cli, tmp_path, flipped_model, command):
    out = tmp_path / "out.csv"
    proc = run_cli(command, "--candidates", EXAMPLE, "--model", flipped_model, "--output", out)
    _check(proc, command, "is not a usable rmpredict model", [out])


# (command and arguments with {file} = an existing file, {tmp} = the test folder, the output
#  path that must not appear, and the text of the one-line error)
PARENT_IS_A_FILE = {
    "fit": (["fit", "--output", "{file}/m.nc"], "{file}/m.nc"),
    "predict": (["predict", "--candidates", "{file}", "--output", "{file}/out.csv"],
                "{file}/out.csv"),
    "rank": (["rank", "--candidates", "{file}", "--output", "{file}/out.csv"], "{file}/out.csv"),
    "evaluate": (["evaluate", "--output", "{file}"], "{file}/metrics.json"),
    "data show": (["data", "show", "models", "--output", "{file}/models.csv"],
                  "{file}/models.csv"),
    "study": (["study", "collect", "--work", "{file}"], "{file}/results.csv"),
    "train-rm": (["train-rm", "--preset", "regression", "--output-dir", "{file}/run"],
                 "{file}/run"),
    "score-rm": (["score-rm", "--model", "{tmp}/rm", "--eval-data", "{file}", "--output",
                  "{file}/scores.json"], "{file}/scores.json"),
    "datadist": (["datadist", "score", "--model", "{tmp}/lm", "--output", "{file}/s.parquet"],
                 "{file}/s.parquet"),
    "release": (["release", "build", "--name", "x", "--version", "1", "--registry", "{file}"],
                "{file}/registry.toml"),
}
@pytest.mark.parametrize("name", list(PARENT_IS_A_FILE))
def test_output_under_a_file_fails_before_any_work(run_cli, tmp_path, a_file, name):
    args, output = PARENT_IS_A_FILE[name]
    fill = {"file": a_file, "tmp": tmp_path}
    start = time.perf_counter()
    proc = run_cli(*[a.format(**fill) for a in args])
    elapsed = time.perf_counter() - start
    _check(proc, name.split()[0], "is a file, not a folder", [output.format(**fill)])
    assert pd.read_csv(a_file).equals(pd.read_csv(EXAMPLE))  # the file itself is untouched
    assert elapsed < 60, f"{name} failed only after {elapsed:.0f} s (sampling/training?)"


def test_fit_to_a_read_only_place_fails_before_sampling(run_cli):
    start = time.perf_counter()
    proc = run_cli("fit", "--output", "/proc/rmpredict-test/m.nc")
    _check(proc, "fit", "cannot write in '/proc'")
    assert time.perf_counter() - start < 60


def test_data_show_writes_both_outputs_or_neither(run_cli, tmp_path):
    out = tmp_path / "m.csv"
    (tmp_path / "m.csv.provenance.json").mkdir()  # the sidecar cannot be written
    proc = run_cli("data", "show", "models", "--output", out)
    _check(proc, "data", "is a folder", [out])

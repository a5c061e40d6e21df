"""``rmpredict`` itself: --help, --version, usage errors, and a light start-up."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from rmpredict import __version__

HEAVY = ("torch", "transformers", "pymc", "pytensor")


def test_help(run_cli):
    proc = run_cli("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: rmpredict")
    for command in ("data", "validate"):
        assert command in proc.stdout


def test_version(run_cli):
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"rmpredict {__version__}"


def test_no_command_prints_help_and_exits_2(run_cli):
    proc = run_cli()
    assert proc.returncode == 2
    assert "usage: rmpredict" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, prefix, contains", [
    (["--bogus"], "rmpredict: error:", "unrecognized arguments: --bogus"),
    (["nope-command"], "rmpredict: error:", "invalid choice: 'nope-command'"),
    (["data", "list", "--bogus"], "rmpredict: error:", "unrecognized arguments: --bogus"),
    (["data", "frobnicate"], "rmpredict data: error:", "invalid choice: 'frobnicate'"),
    (["data"], "rmpredict data: error:", "required"),
    (["validate"], "rmpredict validate: error:", "the following arguments are required: file"),
    (["validate", "x.csv", "--kind", "both"], "rmpredict validate: error:", "invalid choice"),
])
def test_usage_errors_are_one_line(run_cli, one_line_error, args, prefix, contains):
    one_line_error(run_cli(*args), prefix=prefix, contains=contains)


def test_building_the_parser_stays_light():
    code = ("import sys, json; from rmpredict.cli._main import build_parser; build_parser(); "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(proc.stdout) == []


# -- warnings: rmpredict's in one line, other libraries' to the log (--verbose) -------------
def _warning_command(args):
    import warnings

    from rmpredict.exceptions import ExtrapolationWarning, FilledValuesWarning

    warnings.warn("arviz is being refactored", FutureWarning, stacklevel=1)
    warnings.warn("candidate outside the training range", ExtrapolationWarning, stacklevel=1)
    warnings.warn("filled 3 missing value(s)", FilledValuesWarning, stacklevel=1)
    print("done")
    return 0


@pytest.fixture
def warning_command(monkeypatch):
    import rmpredict.cli._validate as validate_module

    monkeypatch.setattr(validate_module, "_run", _warning_command)


@pytest.mark.filterwarnings("default")
def test_foreign_warnings_are_not_shown_as_rmpredict_messages(warning_command, capsys):
    from rmpredict.cli._main import main

    assert main(["validate", "x.csv"]) == 0
    out, err = capsys.readouterr()
    assert out == "done\n"
    # Only rmpredict's own warning, in the one-line format; the fill is the command's to report.
    assert err.splitlines() == [
        "rmpredict validate: warning: candidate outside the training range"], err


@pytest.mark.filterwarnings("default")
@pytest.mark.parametrize("argv", [["validate", "x.csv", "--verbose"], ["-v", "validate", "x.csv"]])
def test_verbose_logs_foreign_warnings(warning_command, capsys, argv):
    from rmpredict.cli._main import main

    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "rmpredict validate: log: rmpredict.cli: FutureWarning from " + \
        f"{__file__}:" + err[0].split(":")[4] + ": arviz is being refactored", err
    assert err[1] == "rmpredict validate: warning: candidate outside the training range"
    assert len(err) == 2


def test_verbose_is_accepted_by_every_subcommand():
    from rmpredict.cli._main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, child in sub.choices.items():
        assert "--verbose" in child._option_string_actions, name


# -- a closed stdout (`| head -1`) ends quietly ----------------------------------------------
def _first_line_then_close(args, cwd):
    import os

    env = {**os.environ, "PYTHONWARNINGS": ""}
    with subprocess.Popen([sys.executable, "-m", "rmpredict", *map(str, args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                          env=env) as proc:
        first = proc.stdout.readline()
        proc.stdout.close()  # as `head -1` does after its line
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
    return proc.returncode, first.decode(), err


def test_data_show_piped_to_head_has_no_traceback(tmp_path):
    # leaderboard_v2 prints far more than a pipe buffer holds, so the write hits the closed pipe
    code, first, err = _first_line_then_close(["data", "show", "leaderboard_v2"], tmp_path)
    assert first.split()[0] == "model"
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == "" and code == 141


def test_predict_piped_to_head_has_no_traceback(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    cands = tmp_path / "c.csv"
    pd.DataFrame({"model": [f"my-org/m{i}" for i in range(300)],
                  "mmlu_pro": rng.uniform(0.1, 0.5, 300),
                  "params_b": rng.uniform(1, 70, 300)}).to_csv(cands, index=False)
    code, first, err = _first_line_then_close(["predict", "--candidates", cands], tmp_path)
    assert first.startswith("model,method,target,mean")
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141

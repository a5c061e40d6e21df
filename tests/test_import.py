"""``import rmpredict`` is light: no heavy dependency is imported, and it is fast."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "pymc", "pytensor")

_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import rmpredict
import_s = time.perf_counter() - t0
after_import = [m for m in {heavy!r} if m in sys.modules]
ref = rmpredict.load_reference()
after_load = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"import_s": import_s, "after_import": after_import,
                  "after_load": after_load, "rows": len(ref)}}))
"""


def _probe() -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_and_load_reference_stay_light():
    result = _probe()
    assert result["after_import"] == []
    assert result["after_load"] == []
    assert result["rows"] == 66


def test_import_is_fast():
    # A coarse guard (the target is "well under a second"); the measured time is in the report.
    result = _probe()
    assert result["import_s"] < 1.0, f"import rmpredict took {result['import_s']:.3f} s"


def test_public_names_resolve_lazily():
    code = ("import sys, rmpredict; "
            "names = [n for n in rmpredict.__all__ if n != '__version__']; "
            "print(all(n not in vars(rmpredict) for n in names), "
            "rmpredict.load_reference is rmpredict.datasets.load_reference)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert proc.stdout.split() == ["True", "True"]

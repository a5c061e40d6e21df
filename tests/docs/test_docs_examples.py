"""Every ```python example in docs/*.md and README.md runs, page by page, in order.

The blocks of one page share a fresh namespace and run in a temporary working directory that
holds a link ``data -> <repo>/data``, so the examples' relative paths (``data/examples/...``)
resolve while files they write (plots, reports) land in the temporary folder.

Markers on the first line of a block:

``# doctest: skip-reason <why>``
    Not run (it needs something CPU CI lacks or takes > 20 s); reported as a skipped test with
    the reason. Keep these rare.
``# needs: released model``
    Run when ``rmpredict.release.load_release`` is importable and a release exists; reported
    as skipped otherwise.

``bash`` and other blocks are never executed.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

# Imported at collection so its `simplefilter("always", ...)` calls happen before pytest's
# per-test warning filters (which turn warnings into errors) are installed.
import rmpredict.exceptions  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
SKIP_MARKER = "# doctest: skip-reason"
RELEASE_MARKER = "# needs: released model"
_FENCE = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    source: str

    @property
    def first_line(self) -> str:
        return self.source.lstrip("\n").split("\n", 1)[0].strip()

    @property
    def skip_reason(self) -> str | None:
        """The reason of a ``# doctest: skip-reason`` marker ('' if the reason is missing)."""
        if self.first_line.startswith(SKIP_MARKER):
            return self.first_line[len(SKIP_MARKER):].strip()
        return None

    @property
    def needs_release(self) -> bool:
        return self.first_line.startswith(RELEASE_MARKER)

    @property
    def label(self) -> str:
        return f"{self.page}:{self.line}"


def extract_blocks(text: str, page: str) -> list[Block]:
    """Fenced code blocks of a Markdown text (CommonMark fences, up to 3 spaces of indent)."""
    blocks: list[Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        start, body = i, []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and set(close) == {fence[0]}:
                break
            line = lines[i]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            i += 1
        if i >= len(lines):
            raise ValueError(f"{page}:{start + 1}: code fence is never closed")
        blocks.append(Block(page, start + 1, m["info"].lower(), "\n".join(body) + "\n"))
        i += 1
    return blocks


def doc_pages() -> list[Path]:
    pages = sorted((REPO / "docs").glob("*.md"))
    readme = REPO / "README.md"
    return pages + ([readme] if readme.exists() else [])


def python_blocks(path: Path) -> list[Block]:
    page = str(path.relative_to(REPO))
    return [b for b in extract_blocks(path.read_text(encoding="utf-8"), page)
            if b.lang in ("python", "py", "python3")]


def release_available() -> bool:
    """True when ``load_release`` is importable and at least one release is registered."""
    try:
        from rmpredict.release import list_releases, load_release  # noqa: F401
    except ImportError:
        return False
    return bool(list_releases())


def _runnable(block: Block, have_release: bool) -> bool:
    return block.skip_reason is None and (have_release or not block.needs_release)


PAGES = doc_pages()
HAVE_RELEASE = release_available()
EXAMPLE_PAGES = [p for p in PAGES if python_blocks(p)]
# Pages whose examples fit a stacked model on a full table (minutes on 2 cores): --run-slow.
SLOW_PAGES = {"howto-own-data.md"}
SKIPPED = [b for p in PAGES for b in python_blocks(p) if not _runnable(b, HAVE_RELEASE)]


# -- the extractor itself ------------------------------------------------------------------
SAMPLE = """# Title

```python
x = 1
```

Text.

```bash
rm -rf /
```

  ```python
  # doctest: skip-reason needs a GPU
  y = x + 1
  ```

````python
# needs: released model
s = '''```'''
````
"""


def test_extract_blocks_finds_fences_markers_and_lines():
    blocks = extract_blocks(SAMPLE, "sample.md")
    assert [(b.line, b.lang) for b in blocks] == [(3, "python"), (9, "bash"), (13, "python"),
                                                  (18, "python")]
    assert blocks[0].source == "x = 1\n"
    assert blocks[2].skip_reason == "needs a GPU"
    assert blocks[2].source.startswith("# doctest")  # indentation removed
    assert blocks[3].needs_release and blocks[3].skip_reason is None
    assert "s = '''```'''" in blocks[3].source  # a shorter fence inside does not close it


def test_extract_blocks_rejects_unclosed_fence():
    with pytest.raises(ValueError, match="never closed"):
        extract_blocks("```python\nx = 1\n", "bad.md")


def test_every_skip_marker_gives_a_reason():
    missing = [b.label for p in PAGES for b in python_blocks(p) if b.skip_reason == ""]
    assert not missing, f"'{SKIP_MARKER}' needs a reason after it: {missing}"


def test_pages_have_examples():
    # The pages that promise examples must keep them (an accidental fence change would
    # otherwise silently drop every example from this test).
    counts = {p.name: len(python_blocks(p)) for p in PAGES}
    for name in ("index.md", "decisions.md", "howto-own-data.md", "model.md", "data.md"):
        assert counts.get(name, 0) >= 1, f"docs/{name} has no python example: {counts}"


# -- running the examples -------------------------------------------------------------------
@pytest.fixture
def docs_workdir(tmp_path, monkeypatch):
    """A temporary working directory in which ``data/`` is the repository's data folder."""
    (tmp_path / "data").symlink_to(REPO / "data", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# DataWarning (e.g. "filled from the bundled tables", "stage assumed instruct") is the one
# warning examples may raise: it describes user data, not a problem of the example.
@pytest.mark.filterwarnings("ignore::rmpredict.exceptions.DataWarning")
@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW_PAGES else p
    for p in EXAMPLE_PAGES], ids=[p.name for p in EXAMPLE_PAGES])
def test_page_examples_run(path: Path, docs_workdir: Path):
    blocks = [b for b in python_blocks(path) if _runnable(b, HAVE_RELEASE)]
    if not blocks:
        pytest.skip(f"{path.name}: every python example is marked (reported below)")
    namespace: dict = {"__name__": "__docs_example__"}
    for block in blocks:
        code = compile(block.source, f"<{block.label}>", "exec")
        try:
            exec(code, namespace)  # noqa: S102 - running the documentation is the point
        except Exception:  # noqa: BLE001 - report which example failed, with its traceback
            pytest.fail(f"example {block.label} failed:\n{block.source}\n"
                        f"{traceback.format_exc()}", pytrace=False)
    # No example may leave the working directory it was given.
    assert Path(os.getcwd()).resolve() == docs_workdir.resolve()


@pytest.mark.parametrize("block", SKIPPED, ids=[b.label for b in SKIPPED])
def test_skipped_examples_are_reported(block: Block):
    reason = block.skip_reason if block.skip_reason is not None else \
        "needs a released model (none is registered)"
    pytest.skip(f"example {block.label} not run: {reason}")

"""Every example in the documentation runs, and every docstring example passes.

Two families of tests:

- ``test_page``: one test per Markdown file (``docs/**/*.md`` and ``README.md``) that
  holds a fenced ``python`` block. A page's blocks run in order, in one fresh
  namespace (later blocks use what earlier ones defined), as a script would: the
  namespace is the ``__main__`` module for the duration, and the working directory is
  a temporary one, so files an example writes go nowhere. A failing block's traceback
  points at the Markdown file and line.

  A block is skipped — sparingly: code that needs a service, or an API still being
  built — when the line just before its fence is ``<!-- no-run -->``, or when it is
  fenced as ``{.python .no-run}``. Use the comment: it also renders on GitHub.

- ``test_doctests``: one test per module of the ``rxsteps`` package, found with
  ``pkgutil.walk_packages``: ``doctest`` with ``ELLIPSIS`` and
  ``NORMALIZE_WHITESPACE``, as ``doctest.testmod`` would. A module (or an example) that
  needs an optional dependency which is not installed is skipped, naming it.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import io
import pkgutil
import re
import sys
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

import rxsteps
import rxsteps.backends

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

NO_RUN = "<!-- no-run -->"
_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")


@dataclass(frozen=True)
class Block:
    """A fenced code block of a Markdown file."""

    line: int  # line number of its first code line, from 1
    info: str  # what follows the opening fence: "python", "{.python .no-run}", "sh"...
    source: str
    marked_no_run: bool  # the line before the fence is <!-- no-run -->

    @property
    def is_python(self) -> bool:
        info = self.info.strip()
        if info.startswith("{"):
            return ".python" in info.strip("{}").split() or ".py" in info.strip("{}").split()
        return info.split(maxsplit=1)[0] in ("python", "py") if info else False

    @property
    def runs(self) -> bool:
        return not self.marked_no_run and ".no-run" not in self.info


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        previous = next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        found.append(
            Block(i + 2, match["info"], textwrap.dedent("\n".join(body)), previous == NO_RUN)
        )
        i = j + 1
    return found


def _pages() -> list[Path]:
    pages = sorted(DOCS.rglob("*.md"))
    readme = ROOT / "README.md"
    if readme.exists():
        pages.insert(0, readme)
    return [page for page in pages if any(b.is_python for b in blocks(page.read_text("utf-8")))]


@pytest.mark.parametrize("page", _pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_page(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the Python examples of one page, in order, in one namespace."""
    python = [b for b in blocks(page.read_text("utf-8")) if b.is_python]
    runnable = [b for b in python if b.runs]
    if not runnable:
        pytest.skip(f"every Python block of {page.name} is marked no-run")
    module = types.ModuleType("__main__")
    module.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", module)
    monkeypatch.chdir(tmp_path)
    for block in runnable:
        # Pad with blank lines so tracebacks show the Markdown file's own line numbers.
        code = compile("\n" * (block.line - 1) + block.source, str(page), "exec")
        exec(code, module.__dict__)


def test_reference_lists_the_public_api() -> None:
    """docs/reference.md renders every name of ``rxsteps.__all__``."""
    text = (DOCS / "reference.md").read_text("utf-8")
    rendered = {
        line.split()[-1].rsplit(".", 1)[-1] for line in text.splitlines() if line.startswith("::: ")
    }
    missing = sorted(set(rxsteps.__all__) - rendered - {"__version__"})
    assert not missing, f"add '::: rxsteps.NAME' entries to docs/reference.md for: {missing}"


def test_reference_lists_every_backend() -> None:
    """docs/reference.md renders every name of ``rxsteps.backends.__all__`` (Dask's from
    its own module, which imports dask)."""
    text = (DOCS / "reference.md").read_text("utf-8")
    rendered = {line.split()[-1] for line in text.splitlines() if line.startswith("::: ")}
    missing = sorted(name for name in rxsteps.backends.__all__
                     if not {f"rxsteps.backends.{name}",
                             f"rxsteps.backends.dask.{name}"} & rendered)
    assert not missing, ("add '::: rxsteps.backends.NAME' entries to docs/reference.md "
                         f"for: {missing}")


def test_bad_input_table_is_what_its_check_asserts() -> None:
    """Every message in the table of docs/concepts/errors.md is a string its Python
    block compares errors with (that block runs in ``test_page``), so the table
    cannot drift from what the code raises."""
    page = DOCS / "concepts" / "errors.md"
    text = page.read_text("utf-8")
    rows = [
        line
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| Bad input")
    ]
    messages = [row.rstrip(" |").rsplit(" | ", 1)[1].strip("`") for row in rows]
    assert len(messages) > 20
    checked = {
        node.value
        for block in blocks(text)
        if block.is_python and block.runs
        for node in ast.walk(ast.parse(block.source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    unchecked = [m for m in messages if m not in checked]
    assert not unchecked, f"messages in the table but not in the check: {unchecked}"


def test_blocks_parser() -> None:
    text = textwrap.dedent("""\
        ```python
        a = 1
        ```

        <!-- no-run -->
        ```python
        b = 2
        ```

        ```{.python .no-run}
        c = 3
        ```

        !!! note
            ```python
            d = 4
            ```

        ````markdown
        ```python
        e = 5
        ```
        ````

        ```sh
        pip install rxsteps
        ```
        """)
    found = blocks(text)
    assert [(b.line, b.source, b.is_python, b.runs) for b in found] == [
        (2, "a = 1", True, True),
        (7, "b = 2", True, False),
        (11, "c = 3", True, False),
        (16, "d = 4", True, True),
        (20, "```python\ne = 5\n```", False, True),
        (26, "pip install rxsteps", False, True),
    ]


# -- doctests ---------------------------------------------------------------------------


def _modules() -> list[str]:
    names = [rxsteps.__name__]
    names += [m.name for m in pkgutil.walk_packages(rxsteps.__path__, "rxsteps.")]
    return sorted(names)


class _Runner(doctest.DocTestRunner):
    """Records why examples raised, to tell a missing optional dependency apart."""

    def __init__(self) -> None:
        super().__init__(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        self.missing: set[str] = set()
        self.other_failures = 0

    def report_failure(self, out, test, example, got):  # type: ignore[no-untyped-def]
        self.other_failures += 1
        super().report_failure(out, test, example, got)

    def report_unexpected_exception(self, out, test, example, exc_info):  # type: ignore[no-untyped-def]
        error = exc_info[1]
        if isinstance(error, ModuleNotFoundError) and _optional(error.name):
            self.missing.add(str(error.name))
        else:
            self.other_failures += 1
        super().report_unexpected_exception(out, test, example, exc_info)


def _optional(name: str | None) -> bool:
    """Whether a module that failed to import is a third-party one (not rxsteps)."""
    return bool(name) and name.split(".")[0] != "rxsteps"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", _modules())
def test_doctests(name: str) -> None:
    """The examples in one module's docstrings."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if _optional(error.name):
            pytest.skip(f"{name} needs {error.name!r}, an optional dependency not installed")
        raise
    tests = doctest.DocTestFinder().find(module, name)
    runner = _Runner()
    report = io.StringIO()
    for test in sorted(tests, key=lambda t: t.lineno or 0):
        runner.run(test, out=report.write)
    if runner.missing and not runner.other_failures:
        pytest.skip(f"examples of {name} need {sorted(runner.missing)}, not installed")
    assert runner.failures == 0, f"{runner.failures} doctest failure(s) in {name}:\n" + (
        report.getvalue()
    )


#: ``pip install rxsteps``, ``pip install -U 'rxsteps[draw]'``…: from a package index
PIP_INSTALL_RXSTEPS = re.compile(r"pip install (?:-\S+ )*[\"']?rxsteps\b")


def test_no_page_installs_rxsteps_from_a_package_index() -> None:
    # the library's own messages and docstrings too (what an ImportError tells a user)
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
             *sorted((ROOT / "examples").glob("*.py")), *sorted((ROOT / "rxsteps").rglob("*.py"))]
    wrong = [str(p.relative_to(ROOT)) for p in pages
             if PIP_INSTALL_RXSTEPS.search(p.read_text(encoding="utf-8"))]
    assert wrong == []  # rxsteps is not on PyPI: install from a clone


@pytest.mark.parametrize(("text", "wrong"), [
    ("pip install rxsteps", True), ("pip install 'rxsteps[draw]'", True),
    ('pip install -U "rxsteps[cli]"', True), ("pip install -e '.[draw]'", False),
    ("pip install rxsteps_plugin_x", False), ("pip install '.[draw,cli]'", False),
])
def test_the_package_index_check_tells_a_clone_from_an_index(text: str, wrong: bool) -> None:
    assert bool(PIP_INSTALL_RXSTEPS.search(text)) is wrong

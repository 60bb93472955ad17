"""Every public name's docstring has one shape: a summary, prose, the sections that
apply (Args / Returns / Raises, or Attributes), and an example that runs (the examples
themselves run in tests/test_docs.py)."""

from __future__ import annotations

import enum
import inspect

import pytest

import rxsteps

PUBLIC = [name for name in rxsteps.__all__ if name != "__version__"]


@pytest.mark.parametrize("name", PUBLIC)
def test_docstring_shape(name: str) -> None:
    obj = getattr(rxsteps, name)
    doc = inspect.getdoc(obj) or ""
    summary = doc.split("\n", 1)[0]
    assert summary and summary.endswith((".", ":")), f"{name}: no summary line"
    assert ">>>" in doc, f"{name}: no example"
    if inspect.isfunction(obj):
        if inspect.signature(obj).parameters:
            assert "Args:" in doc, f"{name}: no Args section"
        assert "Returns:" in doc, f"{name}: no Returns section"
    elif isinstance(obj, type) and not issubclass(obj, (BaseException, enum.Enum)):
        assert "Args:" in doc or "Attributes:" in doc, f"{name}: no Args/Attributes"


# -- the front doors' shared options: one source, every docstring complete ---------------

FRONT_DOORS = ["run", "arun", "observe", "start", "astream", "pipeline", "apipeline"]
PIPELINES = {"pipeline", "apipeline"}


def _args_section(doc: str) -> str:
    return doc.split("\nArgs:\n", 1)[1].split("\n\n", 1)[0]


def _described(args: str) -> set[str]:
    """The parameter names an Args section describes (``a, b:`` lines name two)."""
    names: set[str] = set()
    for line in args.splitlines():
        if line.startswith("    ") and not line.startswith("     ") and ":" in line:
            names.update(n.strip() for n in line.split(":", 1)[0].split(","))
    return names


@pytest.mark.parametrize("name", FRONT_DOORS)
def test_a_front_door_describes_every_argument(name: str) -> None:
    fn = getattr(rxsteps, name)
    doc = inspect.getdoc(fn) or ""
    assert "{run options" not in doc and "{pipeline options" not in doc  # all expanded
    missing = set(inspect.signature(fn).parameters) - _described(_args_section(doc))
    assert not missing, f"{name}: Args does not describe {sorted(missing)}"


@pytest.mark.parametrize("name", FRONT_DOORS)
def test_a_front_door_takes_the_shared_text_of_each_shared_option(name: str) -> None:
    from rxsteps._options_doc import PIPELINE_OPTIONS, RUN_OPTIONS

    table = PIPELINE_OPTIONS if name in PIPELINES else RUN_OPTIONS
    fn = getattr(rxsteps, name)
    flat = " ".join((inspect.getdoc(fn) or "").split())
    shared = [option for option in inspect.signature(fn).parameters if option in table]
    assert len(shared) >= 7
    for option in shared:
        assert f"{option}: {' '.join(table[option].split())}" in flat, (name, option)


def test_the_reference_expands_the_shared_options_from_the_source() -> None:
    griffe = pytest.importorskip("griffe")
    from rxsteps._options_doc import PIPELINE_OPTIONS, RUN_OPTIONS

    root = __import__("pathlib").Path(rxsteps.__file__).parents[1]
    extension = griffe.load_extensions(f"{root / 'docs/_ext/sphinx_roles.py'}:SphinxRoles")
    for module, name in (("rxsteps.api", "run"), ("rxsteps.streaming", "apipeline")):
        loaded = griffe.load(module, extensions=extension, search_paths=[str(root)])
        text = loaded[name].docstring.value
        table = PIPELINE_OPTIONS if name in PIPELINES else RUN_OPTIONS
        assert "{run options" not in text and "{pipeline options" not in text
        assert f"fresh: {table['fresh']}" in text
        assert f"rates: {' '.join(table['rates'].split())}" in " ".join(text.split())

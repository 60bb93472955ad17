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

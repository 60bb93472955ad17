"""One name per thing: no two classes of the package share a name, and the states and
verdicts of a pipeline's subscription are closed sets (Literals) that mypy checks."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path
from typing import get_args

from rxsteps.execution import flow

PACKAGE = Path(__file__).resolve().parents[2] / "rxsteps"


def test_no_two_classes_of_the_package_share_a_name() -> None:
    names = Counter(
        node.name
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    )
    assert sorted(name for name, count in names.items() if count > 1) == []


def test_the_owners_of_attempts_drivers_and_gates_have_names_of_their_own() -> None:
    from rxsteps.execution import drivers, invoke, limits

    assert (invoke.AttemptOwner.__name__, drivers.DriverOwner.__name__,
            limits.GateOwner.__name__) == ("AttemptOwner", "DriverOwner", "GateOwner")
    assert invoke.AttemptOwner in drivers.DriverOwner.__mro__


def test_a_pipelines_states_and_overflow_verdicts_are_closed_sets() -> None:
    assert get_args(flow.FlowState) == ("open", "completed", "failed", "disposed")
    assert get_args(flow.Verdict) == ("keep", "drop", "error")
    source = Path(flow.__file__).read_text(encoding="utf-8")
    assert 'self._state: FlowState = "open"' in source
    assert "dropped: list[Any]) -> Verdict:" in source

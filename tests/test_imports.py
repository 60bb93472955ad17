"""The package's architecture, read from its imports.

Every ``import`` of an rxsteps module is collected with :mod:`ast` — at module level,
inside functions and under ``if TYPE_CHECKING:`` alike, since each is a dependency a
reader has to follow — and two rules are checked:

- **No circles.** The module graph is acyclic, so each module can be read after the
  ones it uses.
- **Layers only point down.** A module imports only from its own wing or from wings
  below it (:data:`ALLOWED`). The one exception is :mod:`rxsteps._pictures`, the
  model's door to the pictures. The compatibility aliases (:data:`ALIASES`) keep old
  documented import paths working; nothing inside the package may import them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rxsteps"

#: Which wing a module belongs to: the longest matching prefix wins.
WINGS = {
    "rxsteps": "front",  # the package itself: the public API
    "rxsteps._version": "model",
    "rxsteps._pictures": "model",
    "rxsteps.errors": "model",
    "rxsteps.events": "model",
    "rxsteps.retry": "model",
    "rxsteps.context": "model",
    "rxsteps.critical": "model",
    "rxsteps.step": "model",
    "rxsteps.routing": "model",
    "rxsteps.graph": "model",
    "rxsteps.result": "model",
    "rxsteps.stores": "stores",
    "rxsteps.backends": "backends",
    "rxsteps.execution": "execution",
    "rxsteps.api": "front",
    "rxsteps.streaming": "front",
    "rxsteps.pipeline": "front",
    "rxsteps.handle": "front",
    "rxsteps.pictures": "pictures",
    "rxsteps.cli": "cli",
}

#: The wings each wing may import from (itself included).
ALLOWED = {
    "model": {"model"},
    "stores": {"model", "stores"},
    "backends": {"model", "backends"},
    "execution": {"model", "stores", "backends", "execution"},
    "front": {"model", "stores", "backends", "execution", "front"},
    "pictures": {"model", "pictures"},
    "cli": {"model", "stores", "backends", "execution", "front", "pictures", "cli"},
}

#: The one upward import: the model's door to the pictures.
DOORS = {("rxsteps._pictures", "rxsteps.pictures")}

#: Old import paths kept as thin re-exports; nothing in the package imports them.
ALIASES = {"rxsteps.demo", "rxsteps.execution.dask"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The rxsteps modules that ``name`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "rxsteps":
                    yield _nearest(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "rxsteps":
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                yield child if child in known else _nearest(base, known)


def _nearest(name: str, known: set[str]) -> str:
    while name not in known:
        name = name.rpartition(".")[0]
    return name


def wing(name: str) -> str:
    prefix = max((p for p in WINGS if name == p or name.startswith(p + ".")), key=len)
    return WINGS[prefix]


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {
        name: {target for target in imports(name, path, known) if target != name}
        for name, path in found.items()
    }


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the module graph as a path (first module repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(edges):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(edges[root]))]
        state[root] = 1
        while stack:
            target = next(stack[-1], None)
            if target is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(target) == 1:
                return [*path[path.index(target):], target]
            elif target not in state:
                state[target] = 1
                path.append(target)
                stack.append(iter(sorted(edges.get(target, ()))))
    return None


def test_every_module_has_a_wing() -> None:
    assert all(wing(name) in ALLOWED for name in modules())


def test_the_package_has_no_import_circle() -> None:
    edges = graph()
    for source, target in DOORS:  # the door is the one way up; it cannot close a circle
        edges[source].discard(target)
    assert find_cycle(edges) is None


def test_no_cli_module_is_on_an_import_circle() -> None:
    edges = graph()
    for source, target in DOORS:
        edges[source].discard(target)
    on_circles = sorted(name for name in edges if wing(name) == "cli"
                        and name in _reachable(edges, edges[name]))
    assert on_circles == []


def _reachable(edges: dict[str, set[str]], starts: set[str]) -> set[str]:
    seen, todo = set(), list(starts)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(edges.get(name, ()))
    return seen


def test_no_import_points_up_a_layer() -> None:
    upward = sorted(
        f"{source} -> {target} ({wing(source)} -> {wing(target)})"
        for source, targets in graph().items() if source not in ALIASES
        for target in targets
        if wing(target) not in ALLOWED[wing(source)] and (source, target) not in DOORS
    )
    assert upward == []


def test_nothing_imports_the_compatibility_aliases() -> None:
    users = sorted(
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets if target in ALIASES
    )
    assert users == []


@pytest.mark.parametrize(("edges", "cycle"), [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b", "c"}, "b": set(), "c": {"c2"}, "c2": {"c"}}, ["c", "c2", "c"]),
])
def test_the_cycle_finder_itself(edges: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert find_cycle(edges) == cycle


def test_the_import_reader_sees_local_and_type_checking_imports(tmp_path: Path) -> None:
    source = PACKAGE / "_pictures.py"
    assert "rxsteps.pictures" in set(imports("rxsteps._pictures", source, set(modules())))


#: Underscored names of other objects that are documented API, not private state.
PUBLIC_UNDERSCORED = {"sys._getframe"}


def test_no_module_reads_another_objects_private_attributes() -> None:
    """One owner per state: ``x._name`` only on ``self`` or ``cls`` (a library's private
    helper, such as ``asyncio._get_running_loop``, counts as another object's)."""
    reaches = sorted(
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(node)}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        and ast.unparse(node) not in PUBLIC_UNDERSCORED
    )
    assert reaches == []

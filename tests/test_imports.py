"""The package's architecture, read from its imports.

Every ``import`` of an rxsteps module is collected with :mod:`ast` — at module level,
inside functions and under ``if TYPE_CHECKING:`` alike, since each is a dependency a
reader has to follow — and two rules are checked:

- **No circles.** The module graph is acyclic, so each module can be read after the
  ones it uses.
- **Layers only point down.** Every module is placed in a wing (:data:`WINGS`: by its
  own name, or by its package's), and imports only from its own wing or from wings
  below it (:data:`ALLOWED`). The one exception is :mod:`rxsteps._pictures`, the
  model's door to the pictures. The compatibility aliases (:data:`ALIASES`) keep old
  documented import paths working; nothing inside the package may import them.

The tests follow a rule of their own: a test module imports no other test module, only
the shared helpers of ``tests.support``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rxsteps"

#: Which wing a module belongs to: its own entry, else its package's (the longest
#: matching package wins; the top-level package ``rxsteps`` places only itself, so a
#: new top-level module must be listed here).
WINGS = {
    "rxsteps": "front",  # the package itself: the public API
    "rxsteps._options_doc": "front",  # the front doors' shared option docs
    "rxsteps.demo": "cli",  # an alias of rxsteps.cli.demo
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
            base = absolute_module(node, package)
            if base.split(".")[0] != "rxsteps":
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                yield child if child in known else _nearest(base, known)


def absolute_module(node: ast.ImportFrom, package: str) -> str:
    """The module a ``from ... import`` in ``package`` names, relative levels resolved."""
    base = node.module or ""
    if not node.level:
        return base
    anchor = package.split(".")
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([base] if base else []))


def _nearest(name: str, known: set[str]) -> str:
    while name not in known:
        name = name.rpartition(".")[0]
    return name


def wing(name: str) -> str:
    """The wing of module ``name``.

    Raises:
        KeyError: No entry of :data:`WINGS` places it.
    """
    if name in WINGS:
        return WINGS[name]
    packages = [p for p in WINGS if p != "rxsteps" and name.startswith(p + ".")]
    if not packages:
        raise KeyError(f"{name} is in no wing: add it to WINGS")
    return WINGS[max(packages, key=len)]


def upward(edges: dict[str, set[str]]) -> list[str]:
    """The imports of ``edges`` that point up a layer (aliases and doors excepted)."""
    return sorted(
        f"{source} -> {target} ({wing(source)} -> {wing(target)})"
        for source, targets in edges.items() if source not in ALIASES
        for target in targets
        if wing(target) not in ALLOWED[wing(source)] and (source, target) not in DOORS
    )


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
    unplaced = []
    for name in modules():
        try:
            assert wing(name) in ALLOWED, name
        except KeyError:
            unplaced.append(name)
    assert unplaced == []


@pytest.mark.parametrize("name", ["rxsteps.newmodule", "rxsteps_other", "rxsteps.apis"])
def test_a_module_nobody_placed_has_no_wing(name: str) -> None:
    with pytest.raises(KeyError) as info:
        wing(name)
    assert info.value.args == (f"{name} is in no wing: add it to WINGS",)


def test_a_module_of_a_package_takes_the_packages_wing() -> None:
    assert (wing("rxsteps.execution.newmodule"), wing("rxsteps.cli.x.y")) == (
        "execution", "cli")


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
    assert upward(graph()) == []


@pytest.mark.parametrize(("edges", "found"), [
    ({"rxsteps.graph": {"rxsteps.execution.run"}},
     ["rxsteps.graph -> rxsteps.execution.run (model -> execution)"]),
    ({"rxsteps.execution.run": {"rxsteps.cli.commands"}},
     ["rxsteps.execution.run -> rxsteps.cli.commands (execution -> cli)"]),
    ({"rxsteps.backends.base": {"rxsteps.stores.base"}},
     ["rxsteps.backends.base -> rxsteps.stores.base (backends -> stores)"]),
    ({"rxsteps.cli.commands": {"rxsteps.execution.run", "rxsteps.graph"},
      "rxsteps._pictures": {"rxsteps.pictures"}, "rxsteps.demo": {"rxsteps.cli.demo"}}, []),
], ids=["model-to-execution", "execution-to-cli", "sideways", "allowed"])
def test_the_layer_rule_itself(edges: dict[str, set[str]], found: list[str]) -> None:
    assert upward(edges) == found


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


TESTS = Path(__file__).resolve().parent


def imports_of_a_test(path: Path, as_path: Path | None = None) -> Iterator[str]:
    """The modules that the test module at ``path`` imports (read as if it were at
    ``as_path``, for relative imports)."""
    where = as_path or path
    name = ".".join(where.relative_to(TESTS.parent).with_suffix("").parts)
    package = name if where.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = absolute_module(node, package)
            if base == "tests":  # from tests import support
                yield from (f"tests.{alias.name}" for alias in node.names)
            else:
                yield base


def _shared(module: str) -> bool:
    return module.split(".")[0] != "tests" or module.startswith("tests.support")


def test_a_test_module_imports_only_the_shared_helpers_of_other_tests() -> None:
    """Helpers two test modules share live in ``tests/support``, not in either one."""
    reaches = sorted(
        f"{path.relative_to(TESTS.parent)} -> {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for module in imports_of_a_test(path)
        if not _shared(module)
    )
    assert reaches == []


def test_the_test_import_rule_itself(tmp_path: Path) -> None:
    module = TESTS / "cli" / "test_example.py"
    source = ("from tests.cli.test_live import frame\nfrom tests.support import terminal\n"
              "from tests import support\nfrom . import test_live\nimport rxsteps.cli\n")
    (tmp_path / "test_example.py").write_text(source, encoding="utf-8")
    found = list(imports_of_a_test(tmp_path / "test_example.py", as_path=module))
    assert found == ["tests.cli.test_live", "tests.support", "tests.support", "tests.cli",
                     "rxsteps.cli"]
    assert [_shared(name) for name in found] == [False, True, True, False, True]

"""The house's shape, read from the source with ``ast``: the dependencies of ioc/ and
simulators/ point one way (README, "Layout"), no two modules or packages import each other,
and no module imports another module's private (``_x``) name. Every import counts, those
inside functions and under ``TYPE_CHECKING`` too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("ioc", "simulators")
CHECKED_FOR_PRIVATE_IMPORTS = (*SOURCES, "tests", "grafana", "scripts")

# The layers, bottom first. A part may import its own layer's shared modules and any layer
# below it, never one above. The shared types are the modules at the root of ioc/ and
# ioc/domain/.
SHARED = "ioc"
ALLOWED: dict[str, set[str]] = {
    SHARED: {SHARED},
    "ioc.mqtt": {SHARED},
    "ioc.storage": {SHARED},
    "simulators": {SHARED, "ioc.mqtt"},
    "ioc.ingest": {SHARED, "ioc.mqtt", "ioc.storage"},
    "ioc.alerting": {SHARED, "ioc.mqtt", "ioc.storage"},
    "ioc.tools": {SHARED, "ioc.mqtt", "ioc.storage", "ioc.ingest", "ioc.alerting", "simulators"},
    "ioc.cli": {SHARED, "ioc.mqtt", "ioc.storage", "ioc.ingest", "ioc.alerting", "ioc.tools"},
}
SHARED_PACKAGES = ("ioc.domain",)  # subpackages that belong to the shared layer


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def imports(path: Path) -> Iterator[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, [alias.name for alias in node.names], node.lineno


def internal_modules() -> dict[str, Path]:
    return {module_name(path): path for path in python_files(*SOURCES)}


def resolve(imported: str, names: list[str], known: dict[str, Path]) -> list[str]:
    """The project's modules an import statement depends on (``from ioc.ingest import store``
    depends on ``ioc.ingest.store``)."""
    found = [f"{imported}.{name}" for name in names if f"{imported}.{name}" in known]
    if imported in known and (not names or len(found) < len(names)):
        found.append(imported)
    return found


def module_graph() -> dict[str, set[str]]:
    known = internal_modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        graph[name] = {
            target
            for imported, names, _ in imports(path)
            for target in resolve(imported, names, known)
            if target != name
        }
    return graph


def part_of(module: str) -> str:
    """The layer a module belongs to: its subpackage of ioc, simulators, or the shared root."""
    if module.startswith("simulators"):
        return "simulators"
    for shared in SHARED_PACKAGES:
        if module == shared or module.startswith(shared + "."):
            return SHARED
    for part in ALLOWED:
        if part != SHARED and (module == part or module.startswith(part + ".")):
            return part
    return SHARED


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` (as the path that closes it), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The parts (the shared types, each subpackage of ioc, simulators) and what each imports
    of the others."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        for target in targets:
            if part_of(target) != part_of(module):
                packages.setdefault(part_of(module), set()).add(part_of(target))
    return packages


def test_no_import_circle_between_modules() -> None:
    assert find_cycle(module_graph()) is None


def test_no_import_circle_between_packages() -> None:
    assert find_cycle(package_graph(module_graph())) is None


def test_every_dependency_points_down_the_layers() -> None:
    wrong = sorted(
        f"{module} ({part_of(module)}) imports {target} ({part_of(target)})"
        for module, targets in module_graph().items()
        for target in targets
        if part_of(target) not in {part_of(module), *ALLOWED[part_of(module)]}
    )
    assert wrong == []


def test_no_module_imports_a_private_name_of_another() -> None:
    known = internal_modules()
    wrong = []
    for path in python_files(*CHECKED_FOR_PRIVATE_IMPORTS):
        for imported, names, line in imports(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            private_module = [
                part for part in imported.split(".") if part.startswith("_")
                and not part.startswith("__")
            ]
            if (private or private_module) and (imported in known or imported.startswith("tests")):
                wrong.append(f"{path.relative_to(ROOT)}:{line} from {imported} import {names}")
    assert wrong == []


def test_the_checks_see_what_they_forbid() -> None:
    """The checks above on graphs made to fail: a circle, a package circle, a wrong layer."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert part_of("ioc.domain.calendar") == SHARED
    assert part_of("ioc.mqtt.wire") == "ioc.mqtt"
    assert part_of("simulators.engine") == "simulators"
    assert "ioc.ingest" not in ALLOWED["simulators"]

"""The import directions between the gateway's packages (issue 9): every module under
gateway/ is parsed with ``ast`` and each import of a sibling package is checked against the
table below, which the README's "Layout" section repeats.

A package may always import itself and the base modules. The composition modules
(gateway/cli.py, gateway/runner.py) may import anything; no package may import them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

GATEWAY = Path(__file__).resolve().parent.parent / "gateway"

#: Modules any package may import: shared vocabulary and plumbing without I/O of their own
#: beyond reading schemas/ and the environment.
BASE = frozenset(
    {
        "gateway",  # gateway/__init__.py: the version
        "gateway.domain",
        "gateway.errors",
        "gateway.resources",
        "gateway.settings",
        "gateway.display",
        "gateway.logs",
        "gateway.export",
        "gateway.notice",
    }
)

#: The top-level modules that put the packages together.
COMPOSITION = frozenset({"gateway.cli", "gateway.runner"})

#: package -> {sibling it may import: why}
ALLOWED: dict[str, dict[str, str]] = {
    "wus": {},  # the protocol: pure, no I/O
    "checks": {},
    "store": {},
    "notify": {},
    "register": {"store": "the local register table, the KVK API's cache and request records"},
    "queue": {
        "checks": "the worker runs the checks",
        "store": "the pipeline's reads and writes",
        "notify": "the worker mails the outcome",
        "register": "the worker looks the company up before the checks",
    },
    "intake": {
        "store": "record the submission, answer status requests",
        "queue": "enqueue the accepted submission",
        "wus": "the SOAP messages it receives and answers",
    },
    "web": {
        "store": "access codes and the submissions filed through the form",
        "queue": "enqueue the filed statement",
        "wus": "a web filing is recorded as the same aanleverRequest a WUS one is",
        "notify": "it mails access codes",
        "ops": "its operators' page lives on the operators' listener and carries that listener's CSRF field",
    },
    "ops": {
        "store": "the operators' read model",
        "queue": "a replay puts the submission back on the queue; the dashboard counts the workers' heartbeats",
        "notify": "/readyz checks the SMTP server the mails go to",
        "register": "the KVK API's requests and costs on /metrics and the dashboard",
    },
    "client": {"wus": "it builds and signs the same SOAP messages the gateway parses"},
}


def _package(module: str) -> str | None:
    """The sub-package ``gateway.<pkg>...`` belongs to, or None for a top-level module."""
    parts = module.split(".")
    if len(parts) < 2 or not (GATEWAY / parts[1]).is_dir():
        return None
    return parts[1]


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The module an ``from ... import`` names, relative ones made absolute."""
    if not node.level:
        return node.module or ""
    here = module.split(".") if is_package else module.split(".")[:-1]
    anchor = here[: len(here) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every gateway import in the file. ``from gateway import x``
    counts as importing ``gateway.x`` when x is a module or package."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, path.name == "__init__.py", node)
            for a in node.names:
                submodule = (GATEWAY / a.name).is_dir() or (GATEWAY / f"{a.name}.py").exists()
                found.append((node.lineno, f"gateway.{a.name}" if base == "gateway" and submodule else base))
    return [(line, name) for line, name in found if name == "gateway" or name.startswith("gateway.")]


def _modules() -> list[tuple[Path, str]]:
    out = []
    for path in sorted(GATEWAY.rglob("*.py")):
        parts = list(path.relative_to(GATEWAY.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append((path, ".".join(parts)))
    return out


def _is_base(name: str) -> bool:
    return any(name == b or (b != "gateway" and name.startswith(b + ".")) for b in BASE)


def _violation(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported``, or None when it may."""
    own = _package(importer)
    if any(imported == c or imported.startswith(c + ".") for c in COMPOSITION):
        return None if importer in COMPOSITION else "imports a composition module"
    if own is None or _is_base(imported):
        return None  # top-level modules are checked only for importing the composition ones
    target = _package(imported)
    if target is None:
        return f"imports top-level module {imported}, which is not a base module"
    if target == own or target in ALLOWED[own]:
        return None
    return f"package {own} may not import package {target}"


def test_every_package_is_declared() -> None:
    packages = {p.name for p in GATEWAY.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(ALLOWED), "declare the new package's directions in ALLOWED (and in the README)"


def test_no_package_imports_a_sibling_outside_the_declared_directions() -> None:
    problems = [
        f"{path.relative_to(GATEWAY.parent)}:{line}: {name}: {why}"
        for path, module in _modules()
        for line, name in _imports(path, module)
        if (why := _violation(module, name))
    ]
    assert not problems, "\n".join(problems)


def test_the_declared_directions_have_no_cycle() -> None:
    done: set[str] = set()

    def visit(pkg: str, path: tuple[str, ...]) -> None:
        assert pkg not in path, f"cycle: {' -> '.join((*path, pkg))}"
        if pkg in done:
            return
        for dep in ALLOWED[pkg]:
            visit(dep, (*path, pkg))
        done.add(pkg)

    for pkg in ALLOWED:
        visit(pkg, ())


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        ("gateway.intake.app", "gateway.queue.jobs", True),
        ("gateway.intake.app", "gateway.domain", True),
        ("gateway.store.kvk", "gateway.wus.envelope", False),
        ("gateway.register.cli", "gateway.cli", False),
        ("gateway.runner", "gateway.web.ops", True),
        ("gateway.queue.worker", "gateway.intake", False),
        ("gateway.checks.base", "gateway.devcerts", False),
    ],
)
def test_the_rule_itself(importer: str, imported: str, allowed: bool) -> None:
    """The check can fail: known violations are named."""
    assert (_violation(importer, imported) is None) is allowed


def test_relative_and_package_imports_are_seen(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("from gateway import queue\nfrom ..store import db\nimport gateway.wus.envelope as e\n")
    assert _imports(source, "gateway.checks.mod") == [
        (1, "gateway.queue"),
        (2, "gateway.store"),
        (3, "gateway.wus.envelope"),
    ]


def test_the_readme_states_the_same_directions() -> None:
    readme = (GATEWAY.parent / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") : readme.index("## KVK checks")]
    stated = {
        m.group(1): {d.strip() for d in m.group(2).split(",") if d.strip() != "-"}
        for m in re.finditer(r"^\| `(\w+)/` \|[^|]*\| ([^|]*) \|$", layout, re.MULTILINE)
    }
    assert stated == {pkg: set(deps) for pkg, deps in ALLOWED.items()}
    steps = re.findall(r"^\d+\. ", layout, re.MULTILINE)
    assert 0 < len(steps) <= 12, "one submission's path in at most 12 steps"

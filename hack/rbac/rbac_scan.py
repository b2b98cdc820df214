"""Derives the Kubernetes API calls each tke-eni program can make by reading its source.

What: starting from a program's ``cmd/<program>`` package, follow every import inside the project
(function-local ones too) and look for calls whose first argument is a ResourceKind
constant (``client.patch(NODE_ENI_CONFIG, ..., subresource="status")``, ``builder.for_(NODE)``,
``cache.informer_for(kind)`` inside ``for kind in (NODE, VPC_IP)``). Each becomes an ``ApiCall``: the
(apiGroup, resource[/subresource], verb) triple that RBAC grants.

Why source and not only a recorded run: a run exercises some paths; the source holds all of them (error paths,
GC, teardown). ``rbac_record`` cross-checks this scan against what a real run sends to the fake API server.

Must never: execute program code beyond importing modules (to resolve constant names), or guess a kind
from a variable it cannot trace to a literal.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from eni.runtime.meta import ResourceKind

REPO = Path(__file__).resolve().parents[2]
PROGRAM_PACKAGE_DIRS = {
    "tke_eni_agent": REPO / "cmd" / "agent",
    "tke_eni_ipamd": REPO / "cmd" / "ipamd",
    "tke_eni_ip_scheduler": REPO / "cmd" / "scheduler",
    "tke_eni_sim": REPO / "cmd" / "sim",
}
# Test doubles and local stand-ins are never part of a deployed program, even when a module imports them.
NEVER_DEPLOYED = ("eni.runtime.testing", "eni.sim", "eni.cloud.emulator", "eni.scheduler.testing", "tke_eni_sim")
RUNTIME = "eni.runtime"


@dataclass(frozen=True, slots=True)
class Feature:
    """A runtime module that calls the API on its own, and the names whose use in a program turns it on.

    The runtime is imported by every program, but only a program that builds an EventRecorder records events
    and only one that hands the manager a Lease elects a leader: following imports alone would grant both to all.
    """

    module: str
    triggers: tuple[str, ...]
    """Names (a class, a method, or a keyword of a call) whose presence in the program's own code uses it."""


FEATURES = (
    Feature(module="eni.runtime.events", triggers=("EventRecorder", "event_recorder")),
    Feature(module="eni.runtime.leaderelection.lease_lock", triggers=("KubeLeaseLock", "lease=")),
)

DIRECT_VERBS = {
    "get": ("get",),
    "list": ("list",),
    "create": ("create",),
    "update": ("update",),
    "delete": ("delete",),
    "patch": ("patch",),
}
INFORMER_METHODS = ("for_", "owns", "watches", "informer_for")
# Receivers whose reads are served by shared informers (CacheReader): they list and watch the whole kind.
CACHED_READER_NAMES = ("reader", "cache")


@dataclass(frozen=True, slots=True, order=True)
class ApiCall:
    """One (apiGroup, resource, verb) a program needs; ``resource`` may carry a subresource (``pods/status``)."""

    group: str
    resource: str
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}" + (f".{self.group}" if self.group else "")


@dataclass(frozen=True, slots=True, order=True)
class Site:
    """Where a call was found."""

    module: str
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line}"


@dataclass(frozen=True, slots=True)
class Program:
    """A deployed program: its name, its ServiceAccount and the packages its code starts from."""

    name: str
    service_account: str
    roots: tuple[str, ...]


# A program is what its cmd package imports: a controller written but not wired in needs no grant yet.
PROGRAMS = (
    Program(name="tke-eni-ipamd", service_account="tke-eni-ipamd", roots=("tke_eni_ipamd",)),
    Program(name="tke-eni-agent", service_account="tke-eni-agent", roots=("tke_eni_agent",)),
    Program(name="tke-eni-ip-scheduler", service_account="tke-eni-ip-scheduler", roots=("tke_eni_ip_scheduler",)),
)


def module_file(name: str) -> Path | None:
    """The source file of a project module (``eni.*`` or a program package), or None if it is not ours."""
    top, _, rest = name.partition(".")
    if top == "eni":
        base = REPO / "eni"
    elif top in PROGRAM_PACKAGE_DIRS:
        base = PROGRAM_PACKAGE_DIRS[top]
    else:
        return None
    path = base.joinpath(*rest.split(".")) if rest else base
    if path.is_dir() and (path / "__init__.py").is_file():
        return path / "__init__.py"
    candidate = path.with_suffix(".py")
    return candidate if candidate.is_file() else None


def _is_package(name: str) -> bool:
    found = module_file(name)
    return found is not None and found.name == "__init__.py"


def _deployed(name: str) -> bool:
    return not any(name == prefix or name.startswith(prefix + ".") for prefix in NEVER_DEPLOYED)


def _submodules(package: str) -> Iterator[str]:
    """Every module under a project package (for a program's root package)."""
    init = module_file(package)
    if init is None:
        return
    yield package
    if init.name != "__init__.py":
        return
    for path in sorted(init.parent.rglob("*.py")):
        if path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
            continue
        relative = path.relative_to(init.parent).with_suffix("")
        parts = [p for p in relative.parts if p != "__init__"]
        if parts:
            yield ".".join((package, *parts))


def imported_modules(module: str, tree: ast.AST) -> set[str]:
    """Project modules that ``module`` imports anywhere in its body (relative imports resolved)."""
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if module_file(name) is not None and _deployed(name)}


def closure(roots: Iterable[str]) -> list[str]:
    """The project modules reachable from ``roots`` through imports."""
    todo = [name for root in roots for name in _submodules(root) if _deployed(name)]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        assert path is not None
        todo.extend(imported_modules(name, ast.parse(path.read_text(encoding="utf-8"))) - seen)
    return sorted(seen)


class _KindResolver:
    """Maps names in one module to ResourceKind constants: its globals, names imported inside functions,
    ``module.CONSTANT`` and (through the caller) loop variables."""

    def __init__(self, module: ModuleType, tree: ast.AST) -> None:
        self.namespace: dict[str, object] = dict(vars(module))
        package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = "." * node.level + (node.module or "")
                try:
                    imported = importlib.import_module(source, package=package or None)
                except ImportError:
                    continue
                for alias in node.names:
                    value = getattr(imported, alias.name, None)
                    if isinstance(value, ResourceKind):
                        self.namespace.setdefault(alias.asname or alias.name, value)

    def kinds(self, node: ast.AST) -> list[ResourceKind]:
        if isinstance(node, ast.Name):
            value = self.namespace.get(node.id)
            return [value] if isinstance(value, ResourceKind) else []
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            holder = self.namespace.get(node.value.id)
            value = getattr(holder, node.attr, None) if isinstance(holder, ModuleType) else None
            return [value] if isinstance(value, ResourceKind) else []
        return []

    def all_kinds_in(self, node: ast.AST) -> list[ResourceKind]:
        return [kind for child in ast.walk(node) for kind in self.kinds(child)]


def _receiver_name(call: ast.Call) -> str:
    func = call.func
    assert isinstance(func, ast.Attribute)
    value = func.value
    if isinstance(value, ast.Attribute):
        return value.attr
    if isinstance(value, ast.Name):
        return value.id
    return ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _verbs_of(call: ast.Call, method: str) -> list[tuple[str, str]]:
    """(verb, subresource) pairs a call makes on its kind."""
    if method in INFORMER_METHODS:
        return [("list", ""), ("watch", "")]
    receiver = _receiver_name(call).lstrip("_").lower()
    if method in ("get", "list") and any(word in receiver for word in CACHED_READER_NAMES):
        return [("list", ""), ("watch", "")]
    if method in DIRECT_VERBS:
        subresource = _keyword(call, "subresource")
        sub = subresource.value if isinstance(subresource, ast.Constant) and isinstance(subresource.value, str) else ""
        return [(verb, sub) for verb in DIRECT_VERBS[method]]
    if method == "update_status":
        return [("update", "status")]
    if method == "mutate_with_retry":
        status = _keyword(call, "status")
        on_status = isinstance(status, ast.Constant) and status.value is True
        return [("get", ""), ("update", "status" if on_status else "")]
    return []


def _enclosing_loop_kinds(parents: dict[ast.AST, ast.AST], node: ast.AST, name: str,
                          resolver: _KindResolver) -> list[ResourceKind]:
    """Kinds a loop variable ``name`` takes, when an enclosing ``for`` iterates over a literal holding them."""
    current = parents.get(node)
    while current is not None:
        if isinstance(current, ast.For) and any(isinstance(t, ast.Name) and t.id == name
                                                for t in ast.walk(current.target)):
            return resolver.all_kinds_in(current.iter)
        current = parents.get(current)
    return []


def calls_in_module(module_name: str) -> dict[ApiCall, list[Site]]:
    """Every API call found in one module, with where it was found."""
    path = module_file(module_name)
    assert path is not None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    resolver = _KindResolver(importlib.import_module(module_name), tree)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found: dict[ApiCall, list[Site]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        method = node.func.attr
        verbs = _verbs_of(node, method)
        if not verbs:
            continue
        first = node.args[0]
        kinds = resolver.kinds(first)
        if not kinds and isinstance(first, ast.Name):
            kinds = _enclosing_loop_kinds(parents, node, first.id, resolver)
        for kind in kinds:
            for verb, sub in verbs:
                resource = f"{kind.plural}/{sub}" if sub else kind.plural
                found.setdefault(ApiCall(kind.group, resource, verb), []).append(Site(module_name, node.lineno))
    return found


def _in_runtime(module: str) -> bool:
    return module == RUNTIME or module.startswith(RUNTIME + ".")


def _uses(tree: ast.AST, trigger: str) -> bool:
    if trigger.endswith("="):
        return any(isinstance(node, ast.keyword) and node.arg == trigger[:-1]
                   and not (isinstance(node.value, ast.Constant) and node.value.value is None)
                   for node in ast.walk(tree))
    return any((isinstance(node, ast.Name) and node.id == trigger)
               or (isinstance(node, ast.Attribute) and node.attr == trigger)
               or (isinstance(node, ast.alias) and node.name.rpartition(".")[2] == trigger)
               for node in ast.walk(tree))


def features_used(program: Program) -> list[Feature]:
    """The runtime features the program's own (non-runtime) modules use."""
    own = [m for m in closure(program.roots) if not _in_runtime(m)]
    trees = [ast.parse(path.read_text(encoding="utf-8")) for m in own if (path := module_file(m)) is not None]
    return [f for f in FEATURES if any(_uses(tree, t) for tree in trees for t in f.triggers)]


def scan(program: Program) -> dict[ApiCall, list[Site]]:
    """Every API call the program's code can make, with the places that make it.

    The program's own modules are scanned whole; of the runtime, only the features it uses (``FEATURES``).
    """
    modules = [m for m in closure(program.roots) if not _in_runtime(m)]
    modules += [f.module for f in features_used(program)]
    found: dict[ApiCall, list[Site]] = {}
    for module in modules:
        for call, sites in calls_in_module(module).items():
            found.setdefault(call, []).extend(sites)
    return found


def runtime_modules_with_calls() -> list[str]:
    """Runtime modules (outside its testing package) that call the API with a constant kind themselves."""
    return [m for m in _submodules(RUNTIME) if _deployed(m) and calls_in_module(m)]

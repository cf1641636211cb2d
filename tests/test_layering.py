"""The package's layering, read from the source with `ast` (docs/architecture.md has the rules).

- constrain/testing/, constrain/samplers/ and constrain/grammars/ never import constrain.runtime:
  grammars and samplers work on any model's logits, and grammar tests need no model.
- No module imports another module's private (`_name`) names or uses them as `module._name`, from
  constrain or from each other (tests and benchmarks included); a private name used elsewhere is
  made public or its code moves to the module that owns it.
- No import cycle hides in a function-local import.
- `import constrain.grammars` does not import numba until a matcher is built.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "constrain"
NO_RUNTIME = ("testing", "samplers", "grammars")
SCANNED = ("constrain", "tests", "benchmarks", "examples")

# Function-local imports that still close a cycle, each with why it is there. The JSON Schema
# compiler's two are its own to remove (its node algebra and dialect translation call back into
# the modules that use them).
KNOWN_CYCLES = {
    ("constrain.grammars.json_schema.node_algebra", "constrain.grammars.json_schema.node_compiler"),
    ("constrain.grammars.json_schema.dialects", "constrain.grammars.json_schema.dialect_document"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def resolve(node: ast.ImportFrom, importer: str, importer_is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not importer_is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class Imports(ast.NodeVisitor):
    """Every import in a module: (imported module, names, line, where), where is "module",
    "function" (inside a function) or "typing" (under `if TYPE_CHECKING:`)."""

    def __init__(self, name: str, package: bool):
        self.name, self.package = name, package
        self.found: list[tuple[str, list[str], int, str]] = []
        self.depth = 0
        self.type_checking = 0

    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node):
        guard = ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        self.type_checking += guard
        for child in node.body:
            self.visit(child)
        self.type_checking -= guard
        for child in node.orelse:
            self.visit(child)

    def where(self) -> str:
        return "typing" if self.type_checking else "function" if self.depth else "module"

    def visit_Import(self, node):
        for alias in node.names:
            self.found.append((alias.name, [], node.lineno, self.where()))

    def visit_ImportFrom(self, node):
        source = resolve(node, self.name, self.package)
        self.found.append((source, [a.name for a in node.names], node.lineno, self.where()))


def imports_of(path: Path, source: str | None = None, name: str | None = None):
    name = name or module_name(path)
    visitor = Imports(name, path.name == "__init__.py")
    visitor.visit(ast.parse(source if source is not None else path.read_text(encoding="utf-8")))
    return visitor.found


def runtime_imports(path: Path, source: str | None = None, name: str | None = None) -> list[str]:
    bad = []
    for module, names, line, _ in imports_of(path, source, name):
        targets = [module] + [f"{module}.{n}" for n in names]
        if any(t == "constrain.runtime" or t.startswith("constrain.runtime.") for t in targets):
            bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def private_imports(path: Path, source: str | None = None, name: str | None = None) -> list[str]:
    """`from m import _x` and `import m._x` where m is constrain's or the scanned trees' own module
    (other libraries' internals are reached through accessors such as grammars/lark_internals.py)."""
    own = ("constrain",) + tuple(p for p in SCANNED if p != "constrain")
    bad = []
    for module, names, line, _ in imports_of(path, source, name):
        if module.split(".")[0] not in own and not is_module(module):
            continue
        if any(is_private(part) for part in module.split(".")):
            bad.append(f"{path.relative_to(ROOT)}:{line} imports the private module {module}")
        for n in names:
            if is_private(n) and not is_module(f"{module}.{n}"):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {n} from {module}")
    return bad


def private_attributes(path: Path, source: str | None = None, name: str | None = None) -> list[str]:
    """`module._x` where `module` names one of constrain's (or the scanned trees') modules."""
    name = name or module_name(path)
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    modules: set[str] = set()  # local names bound to our modules
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and is_module(alias.name):
                    modules.add(alias.asname)
        elif isinstance(node, ast.ImportFrom):
            source_module = resolve(node, name, path.name == "__init__.py")
            for alias in node.names:
                if is_module(f"{source_module}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = ast.unparse(node.value)
            if owner in modules or (owner.startswith("constrain.") and is_module(owner)):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {owner}.{node.attr}")
    return bad


def python_files(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts)


def test_grammars_samplers_and_testing_never_import_the_runtime():
    files = python_files(*(f"constrain/{part}" for part in NO_RUNTIME))
    assert len(files) > 50
    assert [bad for f in files for bad in runtime_imports(f)] == []


def test_no_module_imports_another_modules_private_names():
    files = python_files(*SCANNED)
    assert [bad for f in files for bad in private_imports(f)] == []
    assert [bad for f in files for bad in private_attributes(f)] == []


def test_the_checks_find_what_they_look_for():
    where = PACKAGE / "grammars" / "example.py"
    source = textwrap.dedent("""
        from constrain.runtime.tokenizer import load_tokenizer
        from constrain.samplers.pipeline import _as_list
        from . import _helpers_of_grammars
        def late():
            import constrain.runtime.model
            from .lexemes import _private_thing
    """)
    name = "constrain.grammars.example"
    assert len(runtime_imports(where, source, name)) == 2
    found = private_imports(where, source, name)
    assert len(found) == 3 and "from constrain.grammars.lexemes" in found[-1]
    # a public name, a module whose name is public, and another library's private name pass
    assert private_imports(where, "from constrain import numba_cache as _cache\nfrom re import _parser\n", name) == []
    used = textwrap.dedent("""
        import constrain.grammars.vocabulary
        from constrain.grammars import vocabulary
        from . import walk_trie as trie
        import re
        vocabulary._TRIES.clear(); trie._x(); constrain.grammars.vocabulary._y; re._parser; self._own
    """)
    assert len(private_attributes(where, used, name)) == 3


def module_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    """Module-level import edges between constrain's modules, and the function-local ones (imports
    for type annotations only are neither: they never run)."""
    graph: dict[str, set[str]] = {}
    local: list[tuple[str, str, int]] = []
    for path in python_files("constrain"):
        name = module_name(path)
        edges = graph.setdefault(name, set())
        for module, names, line, where in imports_of(path):
            targets = [f"{module}.{n}" for n in names if is_module(f"{module}.{n}")] or [module]
            for target in targets:
                if not target.startswith("constrain") or not is_module(target) or target == name:
                    continue
                if where == "function":
                    local.append((name, target, line))
                elif where == "module":
                    edges.add(target)
    return graph, local


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def test_no_import_cycle_hides_in_a_function_local_import():
    graph, local = module_graph()
    assert len(local) > 10
    hidden = {(a, b) for a, b, _ in local if reaches(graph, b, a)}
    assert hidden - KNOWN_CYCLES == set()
    assert KNOWN_CYCLES - hidden == set()  # one that is gone leaves the list too


def test_grammars_import_numba_only_when_a_matcher_is_built():
    script = textwrap.dedent("""
        import sys
        from constrain import grammars
        from constrain.grammars.vocabulary import TokenVocabulary
        grammar = grammars.choice(["yes", "no"])
        assert grammar.accepts("yes")
        print("numba" in sys.modules)
        vocab = TokenVocabulary((b"y", b"es", b"n", b"o", b""), frozenset(), frozenset({4}))
        grammar.matcher(vocab).mask()
        print("numba" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]

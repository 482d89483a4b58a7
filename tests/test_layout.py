"""The package's two rooms stay apart: runtime/ (what the page runs) imports only numpy, PIL, the standard
library and its siblings; nothing in the package imports in a cycle; the package face stays import-light."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "py" / "facespectra"
RUNTIME_ALLOWED = {"numpy", "PIL"} | set(sys.stdlib_module_names)


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """Absolute names of every module `path` imports, at any depth of its code."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                prefix = f"{base}.{node.module}" if node.module else base
                found.add(prefix)
                found |= {f"{prefix}.{alias.name}" for alias in node.names}  # `from . import decode`
            else:
                found.add(node.module)
    return found


def package_graph():
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports(path) if m in modules} for name, path in modules.items()}


def runtime_violations():
    bad = []
    for path in sorted((PACKAGE / "runtime").glob("*.py")):
        for name in sorted(imports(path)):
            top = name.split(".")[0]
            if top != "facespectra" and top not in RUNTIME_ALLOWED:
                bad.append(f"{path.name}: {name}")
            elif top == "facespectra" and not name.startswith("facespectra.runtime"):
                bad.append(f"{path.name}: {name}")
    return bad


def cycles(graph):
    """Every import cycle, each as the list of modules around it (depth-first search)."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_runtime_imports_only_numpy_pillow_stdlib_and_itself():
    assert runtime_violations() == []


def test_runtime_check_catches_a_trainer_import(tmp_path, monkeypatch):
    """The check can fail: a runtime module that imports the trainer (or scipy) is named."""
    fake = tmp_path / "facespectra"
    (fake / "runtime").mkdir(parents=True)
    (fake / "runtime" / "bad.py").write_text("import scipy\nfrom ..train import search\nfrom . import decode\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert runtime_violations() == ["bad.py: facespectra.train", "bad.py: facespectra.train.search", "bad.py: scipy"]


def test_no_import_cycles_in_the_package():
    assert cycles(package_graph()) == []


def test_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_package_face_is_import_light():
    """Importing facespectra (as the page's worker does) loads neither numpy nor the trainer."""
    code = "import sys, facespectra; print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'PIL') or m.startswith('facespectra.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""The package's layers, kept by a test: a module may import its own layer and those below it,
never one above. training/ is a library below all of curation/ and never imports it; only the
mixture (its tokenizer counts tokens) and the bridge `curation.training_runs` import training/.
Standard library only, so it runs before anything is installed."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("core", "text", "ingest", "stages", "mixture", "models", "governance", "training_runs", "cli")
TRAINING_IMPORTERS = ("mixture", "training_runs")
MAX_MODULE_LINES = 400


def _modules(package: str):
    for path in sorted((REPO / package).rglob("*.py")):
        yield path, ".".join(path.relative_to(REPO).with_suffix("").parts)


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement, at any depth (lazy imports inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _layer(module: str) -> str | None:
    """The layer of a curation module: its sub-package or top-level module name."""
    parts = module.split(".")
    if parts[0] != "curation" or len(parts) < 2 or parts[1] in ("__init__", "__version__"):
        return None
    return parts[1]


def test_every_curation_module_belongs_to_a_layer():
    unplaced = {module for _, module in _modules("curation") if _layer(module) not in (None, *LAYERS)}
    assert not unplaced, f"modules outside the layers {LAYERS}: {sorted(unplaced)}"


def test_imports_run_one_way():
    upward = []
    for path, module in _modules("curation"):
        own = _layer(module)
        for name in _imports(path):
            target = _layer(name)
            if own and target in LAYERS and LAYERS.index(target) > LAYERS.index(own):
                upward.append(f"{module} ({own}) imports {name} ({target})")
    assert not upward, "a lower layer imports a higher one:\n" + "\n".join(sorted(upward))


def test_training_is_a_library_below_curation():
    offenders = [f"{module} imports {name}" for path, module in _modules("training")
                 for name in _imports(path) if name.split(".")[0] == "curation"]
    assert not offenders, "\n".join(offenders)


def test_only_the_bridge_and_the_mixture_import_training():
    offenders = [f"{module} imports {name}" for path, module in _modules("curation")
                 for name in _imports(path)
                 if name.split(".")[0] == "training" and _layer(module) not in TRAINING_IMPORTERS]
    assert not offenders, "\n".join(offenders)


def test_no_module_is_over_the_size_a_reader_can_hold():
    long = [f"{module}: {n} lines" for package in ("curation", "training") for path, module in _modules(package)
            if (n := len(path.read_text("utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(long)

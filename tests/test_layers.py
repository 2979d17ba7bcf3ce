"""Data flows one way: engine -> result store -> calibration -> advisor -> CLI/app; evaluation and audits above.

Every import in every module — module-level *and* inside functions — is read from the source (AST) and checked
against the layer order below. A new module must be given a layer here, so the map stays complete.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lower number = lower layer. A module may import its own layer and any lower one, never a higher one.
LAYERS: dict[str, int] = {
    # 0: the store and task definitions (torch-free), shared by everything
    "bench": 0, "bench.results": 0, "bench.tasks": 0, "bench.protocol": 0,
    # the profile schema and its bounded YAML reader (task files reuse the reader): stdlib + yaml only
    "advisor.profile": 0, "advisor.options": 0, "advisor.models": 0, "advisor.files": 0,
    # 1: the advisor's core: profile, decision table, rules, costs, the option registry, features, decisions
    "advisor.table": 1, "advisor.costs": 1, "advisor.rules": 1,
    "advisor.features": 1, "advisor.decision": 1, "advisor.glossary": 1, "advisor.catalog": 1,
    # 2: the engine (writes results)
    "bench.models": 2, "bench.methods": 2, "bench.train": 2, "bench.trial": 2, "bench.runner": 2,
    # 3: the calibration fit (reads results and published evidence, writes the artifact)
    "advisor.model": 3, "advisor.published": 3, "advisor.scaling": 3, "advisor.calibration": 3,
    # 4: serving: the advisor reads the artifact
    "advisor.artifact": 4, "advisor.recommend": 4, "advisor": 4,
    # 5: above the advisor: evaluation, audits, evidence views, reports, the scheduled refresh
    "advisor.evaluate": 5, "advisor.claims": 5, "advisor.compare": 5, "advisor.evidence": 5, "advisor.recipe": 5, "advisor.report": 5, "bench.report": 5,
    "bench.refresh": 5,
    # 6: the front ends
    "advisor.cli": 6, "advisor.pilot": 6, "bench.cli": 6, "app": 6,
}
# The serving path may not reach these at all (speed: issue "the serving path"; and advisor never imports torch).
SERVING = ("advisor.artifact", "advisor.recommend", "advisor.decision", "advisor.features", "advisor.profile",
           "advisor.rules", "advisor.costs", "advisor.table", "advisor.options", "advisor.models")
HEAVY = ("pandas", "sklearn", "scipy", "torch", "transformers", "peft", "bench")
NEVER_IN_ADVISOR = ("torch", "transformers", "peft", "bench.methods", "bench.models", "bench.train", "bench.trial")


def _modules() -> dict[str, Path]:
    out = {"app": ROOT / "app.py"}
    for pkg in ("advisor", "bench"):
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in LAYERS:
            return LAYERS[".".join(parts[:i])]
    return None


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = module.split(".")[: -node.level] if not path.name == "__init__.py" else module.split(".")
                out.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                subs = {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in _modules()}
                out |= subs
                if len(subs) < len(node.names):  # `from pkg import submodule` imports the submodule, not pkg's API
                    out.add(node.module)
    return out


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_has_a_layer(module):
    assert _layer(module) is not None, f"{module}: give it a layer in tests/test_layers.py"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    mine = _layer(module)
    bad = []
    for imp in _imports(MODULES[module], module):
        theirs = _layer(imp)
        if theirs is not None and theirs > mine and not imp.startswith(module):
            bad.append(f"{imp} (layer {theirs})")
    assert not bad, f"{module} (layer {mine}) imports upward: {bad}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("advisor")))
def test_advisor_never_imports_torch_even_inside_functions(module):
    bad = [i for i in _imports(MODULES[module], module) if any(i == n or i.startswith(n + ".") for n in NEVER_IN_ADVISOR)]
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", SERVING)
def test_serving_path_imports_nothing_heavy(module):
    if module not in MODULES:
        pytest.skip(f"{module} does not exist")
    bad = [i for i in _imports(MODULES[module], module) if any(i == n or i.startswith(n + ".") for n in HEAVY)]
    assert not bad, f"{module} is on the recommend() path and imports {bad}"


def test_the_store_knows_every_registered_backbone():
    """bench.results names the built-in backbones without importing the engine; they must match its registry."""
    from bench.models import BACKBONES
    from bench.results import BUILTIN_BACKBONES

    assert set(BACKBONES) == set(BUILTIN_BACKBONES)

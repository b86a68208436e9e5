"""The code's layout: each stage of the flow is a package, and no module imports a module of
a higher stage (the README's "How the code is laid out")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# lowest first: a module may import its own layer and the layers before it, never after
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("schemas", ("schemas",)),
    (
        "base",
        (
            "processor",  # only __version__ and the public API's names, imported on first use
            "processor.errors",
            "processor.findings",
            "processor.reasons",
            "processor.arrow",
            "processor.threads",
            "processor.row_digests",
        ),
    ),
    ("outputs", ("processor.outputs",)),
    ("ingest", ("processor.ingest",)),
    ("reference", ("processor.reference",)),
    ("history", ("processor.history",)),
    ("ledger", ("processor.ledger",)),
    ("rating", ("processor.rating",)),
    ("batch", ("processor.batch",)),
    ("reports", ("processor.reports",)),
    ("books", ("processor.books",)),
    ("recipes", ("processor.recipes",)),
    ("cli", ("processor.cli", "processor.docs", "processor.__main__")),
]


def layer_of(module: str) -> int:
    """The index of the layer a dotted module name belongs to (the longest prefix wins)."""
    best, found = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # the package itself is only itself: its modules are placed one by one
            within = prefix != "processor" and module.startswith(prefix + ".")
            if (module == prefix or within) and len(prefix) > best:
                best, found = len(prefix), i
    if found is None:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module of this project a file imports, anywhere in it (functions included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from processor import reasons` imports the module processor.reasons
            found += [
                (node.lineno, f"{node.module}.{alias.name}")
                for alias in node.names
                if (ROOT / Path(*node.module.split(".")) / f"{alias.name}.py").exists()
                or (ROOT / Path(*node.module.split(".")) / alias.name / "__init__.py").exists()
            ]
    return [(line, name) for line, name in found if name.split(".")[0] in {"processor", "schemas"}]


SOURCES = sorted([*(ROOT / "processor").rglob("*.py"), *(ROOT / "schemas").rglob("*.py")])


def test_every_module_belongs_to_a_layer() -> None:
    for path in SOURCES:
        layer_of(module_name(path))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_higher_stage(path: Path) -> None:
    here = module_name(path)
    mine = layer_of(here)
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name} ({LAYERS[layer_of(name)][0]}), "
        f"above {LAYERS[mine][0]}"
        for line, name in imports(path)
        if layer_of(name) > mine
    ]
    assert wrong == []


def test_no_recipe_imports_another() -> None:
    recipes = sorted((ROOT / "processor" / "recipes").glob("*.py"))
    names = {module_name(p) for p in recipes if p.name != "__init__.py"}
    wrong = [
        f"{module_name(p)} imports {name}"
        for p in recipes
        for _, name in imports(p)
        if name in names and name != module_name(p)
    ]
    assert wrong == []


def test_the_layer_check_sees_a_violation(tmp_path: Path) -> None:
    # the check itself can fail: a lower stage importing a higher one is found
    assert layer_of("processor.ingest.reading") < layer_of("processor.batch.writer")
    assert layer_of("processor.reports.render") > layer_of("processor.reference.loading")
    with pytest.raises(AssertionError, match="belongs to no layer"):
        layer_of("processor.nowhere")


def test_every_pricing_on_the_products_sheet_has_a_mode_and_no_mode_is_unlisted() -> None:
    from processor.rating import modes
    from schemas.workbooks import PRICINGS

    assert sorted(modes.names()) == sorted(PRICINGS)


def test_every_mode_module_registers_one_mode() -> None:
    # a new pricing mode is one module in processor/rating/modes, registered by name
    from processor.rating import modes

    mode_files = {p.stem for p in (ROOT / "processor" / "rating" / "modes").glob("*.py")}
    assert len(modes.names()) == len(mode_files - {"__init__"})


def test_every_command_is_one_module_with_a_run() -> None:
    import argparse
    from importlib import import_module

    from processor.cli.main import COMMANDS, build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == sorted(COMMANDS)
    modules = {p.stem for p in (ROOT / "processor" / "cli" / "commands").glob("*.py")}
    assert sorted(modules - {"__init__"}) == sorted(COMMANDS.values())
    for module in COMMANDS.values():
        assert callable(import_module(f"processor.cli.commands.{module}").run)

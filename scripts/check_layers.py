"""The package's import rules, checked from the source (ast; nothing is imported).

Layers, top to bottom (docs/architecture.md): a module may import its own layer and the
layers below, never one above. On top of that: no import cycle among modules, no private
name (``_x``) taken from another module, and library modules import the package's own
modules at the top of the file (only modules that pull in torch stay lazy, like torch).
The CLI is the shell: its commands import the library inside the command so that
``pokecard --help`` loads none of it.

Usage: ``python scripts/check_layers.py [src/pokecard]`` (exit 1 and one line per problem).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# (module prefix, layer): the longest matching prefix decides; higher imports lower.
LAYERS: tuple[tuple[str, int], ...] = (
    ("pokecard", 0),
    ("pokecard.errors", 0),
    ("pokecard.atomic", 0),
    ("pokecard.arrays", 0),
    ("pokecard.progress", 0),
    ("pokecard.card", 0),
    ("pokecard.result", 0),
    ("pokecard.warp", 0),
    ("pokecard.config", 1),
    ("pokecard.layout", 1),
    ("pokecard.store", 1),
    ("pokecard.modelcard", 1),
    ("pokecard.imageio", 1),
    ("pokecard.model_files", 1),
    ("pokecard.catalog", 2),
    ("pokecard.photo", 2),
    ("pokecard.preprocess", 2),
    ("pokecard.models", 2),
    ("pokecard.reference", 3),
    ("pokecard.detect", 3),
    ("pokecard.embed", 3),
    ("pokecard.features", 3),
    ("pokecard.template", 3),
    ("pokecard.namebar", 3),
    ("pokecard.recognize", 4),
    # calibration runs the recognizer, and the build calibrates: one layer above it
    ("pokecard.reference.calibrate", 5),
    ("pokecard.reference.build", 5),
    ("pokecard.demo", 6),
    ("pokecard.train", 6),
    ("pokecard.export", 6),
    ("pokecard.aws", 6),
    ("pokecard.edge", 6),
    ("pokecard.serve", 6),
    ("pokecard.collection", 6),
    ("pokecard.bench", 7),
    ("pokecard.cli", 8),
    ("pokecard.__main__", 8),
)
NAMES = {0: "base", 1: "foundation", 2: "data", 3: "vision", 4: "recognize", 5: "reference build",
         6: "applications", 7: "bench", 8: "cli"}  # fmt: skip
# Own modules that import a heavy or optional package at their top (torch; the web app's
# fastapi): imported lazily, like that package itself.
HEAVY = ("pokecard.train.losses", "pokecard.serve.app")
SHELL = ("pokecard.cli", "pokecard.__main__")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module
    names: tuple[str, ...]  # names taken with `from target import ...`
    line: int
    top: bool  # at module level (not inside a function or class)


def layer_of(module: str, layers: Iterable[tuple[str, int]] = LAYERS) -> int | None:
    best: tuple[int, int] | None = None
    for prefix, layer in layers:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), layer)
    return None if best is None else best[1]


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(root.rglob("*.py")):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.ImportFrom, here: str, mods: dict[str, Path]) -> list[tuple[str, str, str | None]]:
    """(alias, module, name) per imported name of an own ``from ... import`` (name None: a submodule)."""
    base = node.module or ""
    if node.level:
        up = here.split(".")[: len(here.split(".")) - node.level + 1]
        base = ".".join(up + ([base] if base else []))
    if base.split(".")[0] != "pokecard":
        return []
    out: list[tuple[str, str, str | None]] = []
    for a in node.names:
        sub = f"{base}.{a.name}"
        if sub in mods:  # `from pkg import submodule`
            out.append((a.asname or a.name, sub, None))
        else:
            out.append((a.asname or a.name, _resolve(base, mods) or base, a.name))
    return out


def imports(root: Path) -> tuple[dict[str, Path], list[Import], list[tuple[str, int, str]]]:
    """Every import of an own module, and every ``module._private`` attribute access."""
    mods = modules(root)
    found: list[Import] = []
    private_attrs: list[tuple[str, int, str]] = []
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        here = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            targets: list[tuple[str, str, str | None]] = []
            if isinstance(node, ast.Import):
                targets = [(a.asname or a.name, t, None) for a in node.names if (t := _resolve(a.name, mods))]
            elif isinstance(node, ast.ImportFrom):
                targets = _targets(node, here, mods)
            for alias, target, name in targets:
                if name is None:
                    aliases[alias] = target
                if target != mod:
                    names = (name,) if name else ()
                    found.append(Import(mod, target, names, node.lineno, node in tree.body))
        private_attrs += [
            (mod, node.lineno, f"{aliases[node.value.id]}.{node.attr}")
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ]
    return mods, found, private_attrs


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def check(root: Path, layers: Iterable[tuple[str, int]] = LAYERS) -> list[str]:
    """Every broken rule under the package folder ``root``, one line each (empty: all hold)."""
    layers = tuple(layers)
    mods, found, private_attrs = imports(root)
    problems: list[str] = []
    for m in mods:
        if layer_of(m, layers) is None:
            problems.append(f"{m}: in no layer; add it to LAYERS in scripts/check_layers.py")
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for imp in found:
        edges[imp.source].add(imp.target)
        src, dst = layer_of(imp.source, layers), layer_of(imp.target, layers)
        where = f"{mods[imp.source]}:{imp.line}"
        if src is not None and dst is not None and dst > src:
            problems.append(
                f"{where}: {imp.source} ({NAMES.get(src, src)}) imports {imp.target} "
                f"({NAMES.get(dst, dst)}), a higher layer"
            )
        for n in imp.names:
            if n.startswith("_") and not n.startswith("__"):
                problems.append(f"{where}: {imp.source} imports the private name {imp.target}.{n}")
        shell = any(imp.source == s or imp.source.startswith(s + ".") for s in SHELL)
        if not imp.top and not shell and imp.target not in HEAVY:
            problems.append(
                f"{where}: {imp.source} imports {imp.target} inside a function; import it at the top"
            )
    for mod, line, name in private_attrs:
        if not name.startswith(mod + "."):
            problems.append(f"{mods[mod]}:{line}: {mod} uses the private name {name}")
    for comp in cycles(edges):
        problems.append(f"import cycle: {' <-> '.join(comp)}")
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else Path(__file__).resolve().parents[1] / "src" / "pokecard")
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} import rule(s) broken under {root}", file=sys.stderr)
        return 1
    print(f"import layers: OK ({len(modules(root))} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

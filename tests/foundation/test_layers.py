"""The import rules of scripts/check_layers.py hold for the package, and the check fails when
one is broken (a cycle, an import of a higher layer, a private name, a lazy own import)."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _checker():  # noqa: ANN202 - the script as a module
    spec = importlib.util.spec_from_file_location("check_layers", REPO / "scripts" / "check_layers.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pokecard"
    for name, body in {"__init__.py": "", **files}.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(body))
    return root


LAYERS = (
    ("pokecard", 0),
    ("pokecard.low", 1),
    ("pokecard.mid", 2),
    ("pokecard.high", 3),
    ("pokecard.cli", 4),
)


def test_the_package_keeps_its_import_rules() -> None:
    problems = _checker().check(REPO / "src" / "pokecard")
    assert problems == [], "\n".join(problems)


def test_a_clean_package_passes() -> None:
    ck = _checker()
    assert ck.layer_of("pokecard.reference.build") == 5 and ck.layer_of("pokecard.reference.db") == 3
    assert ck.layer_of("pokecard.cli.recognize") > ck.layer_of("pokecard.bench.recognizer")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # a cycle inside one layer
            {
                "mid/__init__.py": "",
                "mid/a.py": "from pokecard.mid import b\n",
                "mid/b.py": "from pokecard.mid import a\n",
            },
            "import cycle: pokecard.mid.a <-> pokecard.mid.b",
        ),
        (  # a lower layer importing a higher one, even lazily
            {"low.py": "def f():\n    from pokecard.high import g\n", "high.py": "def g(): ...\n"},
            "pokecard.low (foundation) imports pokecard.high (vision), a higher layer",
        ),
        (  # a private name across modules
            {"low.py": "def _helper(): ...\n", "mid.py": "from pokecard.low import _helper\n"},
            "imports the private name pokecard.low._helper",
        ),
        (  # a private attribute of another module
            {"low.py": "_flag = 1\n", "mid.py": "from pokecard import low\nx = low._flag\n"},
            "uses the private name pokecard.low._flag",
        ),
        (  # an own module imported inside a library function
            {"low.py": "x = 1\n", "mid.py": "def f():\n    from pokecard.low import x\n    return x\n"},
            "imports pokecard.low inside a function; import it at the top",
        ),
        (  # a module in no layer
            {"stray.py": "x = 1\n"},
            None,
        ),
    ],
)
def test_each_broken_rule_is_reported(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    ck = _checker()
    root = _package(tmp_path, files)
    layers = LAYERS if expected is not None else (("pokecard.low", 1),)
    problems = ck.check(root, layers)
    assert problems, "the check passed a package that breaks a rule"
    if expected is not None:
        assert any(expected in p for p in problems), problems


def test_the_cli_may_import_the_library_inside_its_commands(tmp_path: Path) -> None:
    root = _package(tmp_path, {"low.py": "x = 1\n", "cli.py": "def cmd():\n    from pokecard.low import x\n"})
    assert _checker().check(root, LAYERS) == []


def test_every_module_imports() -> None:
    """Top-level imports are the rule now, so a wrong name anywhere fails at import."""
    import importlib
    import pkgutil

    import pokecard

    names = [
        m.name
        for m in pkgutil.walk_packages(pokecard.__path__, "pokecard.")
        if not m.name.endswith("__main__")
    ]
    assert len(names) > 50
    for name in names:
        importlib.import_module(name)

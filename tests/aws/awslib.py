"""Helpers for the cloud-operation tests."""

from __future__ import annotations


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run `pokecard ARGS` in this process; (exit code, stdout, stderr)."""
    import contextlib
    import io

    from pokecard.cli import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(args))
    return code, out.getvalue(), err.getvalue()

"""Progress bars for long work, shared by every module.

Library code calls :func:`progress` and gets a rich bar on a terminal; the CLI turns bars
off for ``--json`` output (``set_enabled(False)``) so machines read clean stdout. Bars go
to stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_enabled = os.environ.get("POKECARD_PROGRESS", "1") != "0"


def set_enabled(flag: bool) -> None:
    global _enabled
    _enabled = flag


def enabled() -> bool:
    return _enabled and sys.stderr.isatty()


@contextlib.contextmanager
def silenced(flag: bool = True) -> Iterator[None]:
    """Bars off inside the block when ``flag`` (a library call asked for quiet), then as before."""
    global _enabled
    was = _enabled
    if flag:
        _enabled = False
    try:
        yield
    finally:
        _enabled = was


@contextlib.contextmanager
def progress(total: int | None, description: str) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; shows a bar on a TTY, silent otherwise."""
    if not enabled():
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress(total, description) as advance:
        for item in items:
            yield item
            advance(1)

"""Benchmarks (`make bench` / `pokecard bench NAME`). Numbers live here, never in timed tests.

Each benchmark module ``pokecard.bench.<name>`` exposes ``run(quick: bool) -> dict``. Its
result is written to ``reports/bench_<name>.json`` and its markdown section replaces the
block between ``<!-- bench:<name>:start -->`` and ``<!-- bench:<name>:end -->`` in
docs/benchmarks.md, so benchmarks never overwrite each other's tables.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path
from typing import Any

from pokecard import atomic

REPORTS = Path(os.environ.get("POKECARD_REPORTS", "reports"))
DOC = Path(os.environ.get("POKECARD_BENCH_DOC", "docs/benchmarks.md"))


def machine() -> str:
    """A short description of this machine for the tables."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def write_report(name: str, data: dict[str, Any]) -> Path:
    data = {"benchmark": name, "machine": machine(), "date": dt.date.today().isoformat(), **data}
    path = REPORTS / f"bench_{name}.json"
    atomic.write_json(path, data)
    return path


def update_doc_section(name: str, markdown: str, doc: Path | None = None) -> Path:
    """Replace (or append) this benchmark's block in docs/benchmarks.md."""
    doc = doc or DOC
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = doc.read_text() if doc.is_file() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    atomic.write_text(doc, text)
    return doc

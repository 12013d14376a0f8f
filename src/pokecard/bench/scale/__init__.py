"""`pokecard bench scale`: the reference DB and the recognizer from the 218 real cards to 17,592 generated ones (build time and memory, DB size, load, accuracy, latency, unknowns); writes reports/bench_scale.json, docs/img/scale.png and its block in docs/benchmarks.md. Not part of `bench all`: a full run takes tens of minutes."""

from __future__ import annotations

from pokecard.bench.scale.report import TARGETS, markdown, plot, targets
from pokecard.bench.scale.run import QUICK_SIZES, SIZES, main, run

__all__ = ["QUICK_SIZES", "SIZES", "TARGETS", "main", "markdown", "plot", "run", "targets"]

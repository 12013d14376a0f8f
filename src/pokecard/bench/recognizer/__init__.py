"""`pokecard bench recognizer`: accuracy, unknown rejection, baselines, throughput and the search sweep of the recognizer; writes reports/bench_recognizer.json and its block in docs/benchmarks.md."""

from __future__ import annotations

from pokecard.bench.recognizer.common import SHIPPED_STUDENT, pick_student
from pokecard.bench.recognizer.report import markdown
from pokecard.bench.recognizer.run import main, run
from pokecard.bench.recognizer.search import scale_check, usearch_compare

__all__ = ["SHIPPED_STUDENT", "main", "markdown", "pick_student", "run", "scale_check", "usearch_compare"]

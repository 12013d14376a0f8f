"""`pokecard costs`: storage per layout component and storage class (from one listing), monthly
and annual at the shipped price table, the saving the bucket's lifecycle rules give, and the
training cost from `pokecard jobs`. Writes ``analytics/metrics/storage_metrics.csv``,
``analytics/metrics/summary.json`` and ``analytics/dashboards/dashboard_config.json`` (the
CloudWatch dashboard Terraform made: its name, namespace and widgets, with these figures).
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from pokecard import layout
from pokecard.aws import jobs, prices
from pokecard.aws.clients import CloudError, aws_errors, client
from pokecard.config import Settings, infra_outputs_path, load_settings
from pokecard.store import Store

GB = 1024**3  # S3 bills GB-months of 2^30 bytes


def monthly(nbytes: int, storage_class: str = "STANDARD") -> float:
    return nbytes / GB * prices.storage_per_gb_month(storage_class)


@dataclass
class Line:
    component: str
    storage_class: str
    objects: int
    bytes: int
    monthly_usd: float
    annual_usd: float


@dataclass
class CostReport:
    root: str
    price_date: str
    lines: list[Line] = field(default_factory=list)
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    training_usd: float | None = None
    training_jobs: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(line.bytes for line in self.lines)

    @property
    def monthly_usd(self) -> float:
        return round(sum(line.monthly_usd for line in self.lines), 2)

    @property
    def lifecycle_saving_monthly_usd(self) -> float:
        return round(sum(r["saving_monthly_usd"] for r in self.lifecycle), 2)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            total_bytes=self.total_bytes,
            total_gb=round(self.total_bytes / GB, 2),
            monthly_usd=self.monthly_usd,
            annual_usd=round(self.monthly_usd * 12, 2),
            lifecycle_saving_monthly_usd=self.lifecycle_saving_monthly_usd,
        )
        return d


def _lifecycle(store: Store, sizes: dict[str, int], settings: Settings) -> list[dict[str, Any]]:
    """Each transition rule over the project: the bytes under its prefix, what they would cost in
    STANDARD and what they cost once transitioned (steady state: everything older than the rule's days)."""
    from botocore.exceptions import ClientError

    s3 = client("s3", settings)
    try:
        with aws_errors(f"lifecycle of s3://{store.bucket}", settings.endpoint_url):
            rules = s3.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
    except CloudError as e:
        if isinstance(e.__cause__, ClientError) and "NoSuchLifecycleConfiguration" in str(e):
            return []
        raise
    out = []
    for r in rules:
        prefix = (r.get("Filter") or {}).get("Prefix", r.get("Prefix", ""))
        for t in r.get("Transitions", []):
            if r.get("Status") != "Enabled" or not prefix.startswith(store.prefix):
                continue
            rel = prefix[len(store.prefix) :]
            n = sum(b for k, b in sizes.items() if k.startswith(rel))
            before, after = monthly(n), monthly(n, t["StorageClass"])
            out.append(
                {
                    "rule": r.get("ID", "?"),
                    "prefix": rel,
                    "days": t.get("Days"),
                    "storage_class": t["StorageClass"],
                    "bytes": n,
                    "saving_monthly_usd": round(before - after, 4),
                }
            )
    return out


def report(store: Store, settings: Settings | None = None, *, with_jobs: bool = True) -> CostReport:
    s = settings or load_settings()
    rep = CostReport(store.url, prices.table()["date"])
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    sizes: dict[str, int] = {}
    for o in store.list_detailed():
        g = groups[(layout.component(o["key"]), o["storage_class"] or "STANDARD")]
        g[0] += 1
        g[1] += o["size"]
        sizes[o["key"]] = o["size"]
    for (comp, cls), (n, b) in sorted(groups.items()):
        m = monthly(b, cls)
        rep.lines.append(Line(comp, cls, n, b, round(m, 4), round(m * 12, 4)))
    if hasattr(store, "bucket"):
        rep.lifecycle = _lifecycle(store, sizes, s)
    if with_jobs:
        try:
            rows = jobs.history(s)
            rep.training_usd, rep.training_jobs = jobs.total(rows), len(rows)
        except CloudError as e:
            rep.notes.append(f"training cost left out: {e}")
    return rep


def storage_csv(rep: CostReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["component", "storage_class", "objects", "bytes", "monthly_usd", "annual_usd"])
    for line in rep.lines:
        w.writerow(
            [line.component, line.storage_class, line.objects, line.bytes, line.monthly_usd, line.annual_usd]
        )
    return buf.getvalue()


def dashboard_config(rep: CostReport, settings: Settings) -> dict[str, Any]:
    """The CloudWatch dashboard Terraform created (name, namespace, widgets) with this report's figures."""
    outputs: dict[str, Any] = {}
    path = infra_outputs_path()
    if path.is_file():
        outputs = json.loads(path.read_text())
    name = outputs.get("dashboard_name", "pokemon-card-recognition")
    widgets: list[dict[str, Any]] = []
    try:
        with aws_errors(f"CloudWatch dashboard {name}", settings.endpoint_url):
            body = json.loads(
                client("cloudwatch", settings).get_dashboard(DashboardName=name)["DashboardBody"]
            )
        widgets = [
            {
                "title": w.get("properties", {}).get("title", ""),
                "metrics": w.get("properties", {}).get("metrics", []),
            }
            for w in body.get("widgets", [])
        ]
    except CloudError as e:
        rep.notes.append(f"dashboard {name} not read: {e}")
    return {
        "dashboard_name": name,
        "region": settings.region,
        "bucket": settings.bucket,
        "metric_namespace": outputs.get("metric_namespace", "PokemonCardRecognition"),
        "widgets": widgets,
        "storage": {"total_gb": round(rep.total_bytes / GB, 2), "monthly_usd": rep.monthly_usd},
        "training_usd": rep.training_usd,
    }


def write(store: Store, rep: CostReport, settings: Settings | None = None) -> list[str]:
    s = settings or load_settings()
    dash = dashboard_config(rep, s)
    with store.batch():
        store.put_bytes(layout.STORAGE_METRICS, storage_csv(rep).encode())
        store.put_json(layout.METRICS_SUMMARY, rep.as_dict())
        store.put_json(layout.DASHBOARD_CONFIG, dash)
    return [
        f"{store.url}{k}" for k in (layout.STORAGE_METRICS, layout.METRICS_SUMMARY, layout.DASHBOARD_CONFIG)
    ]

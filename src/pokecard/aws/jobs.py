"""`pokecard jobs`: the training job history from the SageMaker API, with costs.

Cost = billable seconds x the on-demand $/h of the instance (``aws/data/prices.json``) x the
instance count; billable seconds are what SageMaker reports (for managed spot they are below
the training seconds, and the difference at the same rate is the spot saving). A job the API
has not billed yet (running, or an emulator that reports no times) counts its training seconds.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from typing import Any

from pokecard import layout
from pokecard.aws import prices
from pokecard.aws.clients import aws_errors, client
from pokecard.config import Settings, load_settings
from pokecard.store import open_store

CSV_FIELDS = (
    "name",
    "stage",
    "date",
    "instance",
    "count",
    "status",
    "spot",
    "training_s",
    "billable_s",
    "price_per_hour",
    "cost_usd",
    "spot_saving_usd",
)


@dataclass
class JobRow:
    name: str
    stage: str
    date: str
    instance: str
    count: int
    status: str
    spot: bool
    training_s: int
    billable_s: int
    price_per_hour: float | None
    cost_usd: float | None
    spot_saving_usd: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def row(describe: dict[str, Any], stage: str | None = None) -> JobRow:
    """One table row from a DescribeTrainingJob response (and the job's stage tag)."""
    rc = describe.get("ResourceConfig", {})
    inst = str(rc.get("InstanceType", "?"))
    count = int(rc.get("InstanceCount", 1) or 1)
    start, end = describe.get("TrainingStartTime"), describe.get("TrainingEndTime")
    training = describe.get("TrainingTimeInSeconds")
    if training is None:
        training = int((end - start).total_seconds()) if start and end else 0
    billable = describe.get("BillableTimeInSeconds")
    billable = int(training if billable is None else billable)
    price = prices.training_per_hour(inst)
    cost = saving = None
    if price is not None:
        cost = round(billable / 3600 * price * count, 2)
        saving = round(max(int(training) - billable, 0) / 3600 * price * count, 2)
    created = describe.get("CreationTime")
    return JobRow(
        name=describe["TrainingJobName"],
        stage=stage or "-",
        date=created.date().isoformat() if created else "-",
        instance=inst,
        count=count,
        status=str(describe.get("TrainingJobStatus", "?")),
        spot=bool(describe.get("EnableManagedSpotTraining", False)),
        training_s=int(training),
        billable_s=billable,
        price_per_hour=price,
        cost_usd=cost,
        spot_saving_usd=saving,
    )


def history(
    settings: Settings | None = None, *, name_contains: str | None = "pokecard", limit: int = 100
) -> list[JobRow]:
    """The newest ``limit`` jobs whose name contains ``name_contains`` (None: all), newest first."""
    s = settings or load_settings()
    sm = client("sagemaker", s)
    rows: list[JobRow] = []
    with aws_errors("SageMaker ListTrainingJobs", s.endpoint_url):
        kw: dict[str, Any] = {
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": min(limit, 100),
        }
        if name_contains:
            kw["NameContains"] = name_contains
        for summary in sm.list_training_jobs(**kw)["TrainingJobSummaries"][:limit]:
            d = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
            tags = {
                t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=d["TrainingJobArn"]).get("Tags", [])
            }
            rows.append(row(d, tags.get("pokecard:stage")))
    return rows


def total(rows: list[JobRow]) -> float:
    return round(sum(r.cost_usd or 0.0 for r in rows), 2)


def to_csv(rows: list[JobRow]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r.as_dict())
    return buf.getvalue()


def write_breakdown(rows: list[JobRow], root: str | None = None) -> str:
    """Write ``analytics/metrics/cost_breakdown.csv`` through the store; returns its URL."""
    st = open_store(root)
    st.put_bytes(layout.COST_BREAKDOWN, to_csv(rows).encode())
    return f"{st.url}{layout.COST_BREAKDOWN}"

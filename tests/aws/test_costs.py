"""`pokecard costs` on the Terraform bucket: components, lifecycle saving, the analytics files."""

from __future__ import annotations

import json

import pytest

from aws.awslib import run_cli

pytestmark = pytest.mark.integration


def test_team_figure_31_7_gb_is_73_cents() -> None:
    from pokecard.aws import costs

    assert round(costs.monthly(int(31.7 * costs.GB)), 2) == 0.73
    assert costs.monthly(costs.GB, "GLACIER") < costs.monthly(costs.GB) / 5


def test_costs_table_and_files(tf_env) -> None:  # noqa: ANN001
    from pokecard import layout
    from pokecard.store import open_store

    o = tf_env.outputs
    root = f"s3://{o['bucket']}/{o['prefix']}"
    st = open_store(root)
    with st.batch():
        st.put_bytes("data/raw/card_images/a.jpg", b"x" * 3000)
        st.put_bytes("data/raw/card_images/b.jpg", b"y" * 2000)
        st.put_bytes(layout.profiling_dir("student", "2026-11-01") + "/trace.json", b"t" * 7000)
    code, out, err = run_cli("costs", "--root", root, "--json")
    assert code == 0, err
    doc = json.loads(out)
    lines = {(ln["component"], ln["storage_class"]): ln for ln in doc["lines"]}
    assert (
        lines[("data/raw", "STANDARD")]["bytes"] == 5000 and lines[("data/raw", "STANDARD")]["objects"] == 2
    )
    assert lines[("profiling/student", "STANDARD")]["bytes"] == 7000
    (rule,) = [r for r in doc["lifecycle"] if r["rule"] == "profiling-to-glacier"]
    assert rule["bytes"] == 7000 and rule["days"] == 90 and rule["storage_class"] == "GLACIER"
    assert rule["saving_monthly_usd"] == round(7000 / 1024**3 * (0.023 - 0.0036), 4)
    assert doc["training_usd"] is not None  # from the SageMaker API (0.00 on moto's instant jobs)
    assert doc["annual_usd"] == round(doc["monthly_usd"] * 12, 2)
    summary = st.get_json(layout.METRICS_SUMMARY)
    assert summary["total_bytes"] == doc["total_bytes"]
    csv = st.get_bytes(layout.STORAGE_METRICS).decode()
    assert csv.splitlines()[0] == "component,storage_class,objects,bytes,monthly_usd,annual_usd"
    assert "data/raw,STANDARD,2,5000," in csv
    dash = st.get_json(layout.DASHBOARD_CONFIG)
    assert dash["dashboard_name"] == "pokemon-card-recognition" and dash["bucket"] == o["bucket"]
    assert "BucketSizeBytes" in json.dumps(dash["widgets"])  # the widgets of the Terraform dashboard

"""`pokecard registry` against the model package group Terraform made on moto, and the lineage."""

from __future__ import annotations

import json
import uuid

import pytest

from aws.awslib import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def models_root(tf_env) -> str:  # noqa: ANN001
    """A project root in the Terraform bucket (own prefix) with a teacher, a student and its ONNX."""
    from pokecard import layout
    from pokecard.store import open_store

    o = tf_env.outputs
    root = f"s3://{o['bucket']}/{o['prefix']}reg-{uuid.uuid4().hex[:8]}"
    st = open_store(root)
    card = {
        "architecture": "efficientnet_lite0",
        "parameters": 3_400_000,
        "embedding_dim": 256,
        "metrics": {"top1": 0.97},
    }
    st.put_bytes(layout.teacher_checkpoint("v1"), b"teacher weights")
    st.put_json(layout.model_card(layout.teacher_dir("v1")), {**card, "architecture": "vit_base_dinov3"})
    st.put_bytes(layout.student_checkpoint("v1"), b"student weights")
    st.put_bytes(layout.student_onnx("v1"), b"onnx bytes")
    st.put_json(layout.model_card(layout.student_dir("v1")), card)
    return root


def test_register_list_approve_reject_and_lineage(tf_env, models_root) -> None:  # noqa: ANN001
    from pokecard import layout
    from pokecard.store import open_store

    code, out, err = run_cli("registry", "register", "--root", models_root, "--json")
    assert code == 0, err
    nodes = {n["kind"]: n for n in json.loads(out)}
    assert set(nodes) == {"teacher", "student", "onnx"}  # no HEF in the store: none registered
    assert nodes["student"]["parent"] == nodes["teacher"]["sha256"]
    assert nodes["onnx"]["parent"] == nodes["student"]["sha256"]
    sm = tf_env.client("sagemaker")
    d = sm.describe_model_package(ModelPackageName=nodes["onnx"]["model_package_arn"])
    assert d["ModelApprovalStatus"] == "PendingManualApproval"
    md = d["CustomerMetadataProperties"]
    assert md["architecture"] == "efficientnet_lite0" and md["metric:top1"] == "0.97"
    assert md["s3_uri"] == f"{models_root}/{layout.student_onnx('v1')}" and len(md["sha256"]) == 64
    assert d["ModelPackageGroupName"] == tf_env.outputs["model_package_group"]

    version = str(d["ModelPackageVersion"])
    code, out, err = run_cli(
        "registry", "approve", version, "--reason", "top-1 0.97 on held-out photos", "--json"
    )
    assert code == 0 and json.loads(out)["status"] == "Approved", err
    teacher_arn = nodes["teacher"]["model_package_arn"]
    code, out, _ = run_cli("registry", "reject", teacher_arn, "--reason", "teacher is not deployed", "--json")
    assert code == 0 and json.loads(out)["status"] == "Rejected"
    code, _, err = run_cli("registry", "reject", teacher_arn, "--reason", " ")
    assert code != 0 and "--reason" in err

    code, out, _ = run_cli("registry", "list", "--root", models_root, "--json")
    rows = {r["arn"]: r for r in json.loads(out)}
    onnx = rows[nodes["onnx"]["model_package_arn"]]
    # moto drops the metadata on update: list fills it from the lineage.
    assert onnx["status"] == "Approved" and onnx["kind"] == "onnx" and onnx["metrics"] == {"top1": "0.97"}
    assert rows[teacher_arn]["status"] == "Rejected"

    lin = open_store(models_root).get_json(layout.MODEL_LINEAGE)
    assert {"from": nodes["teacher"]["sha256"], "to": nodes["student"]["sha256"]} in lin["edges"]
    assert {"from": nodes["student"]["sha256"], "to": nodes["onnx"]["sha256"]} in lin["edges"]
    # verify checks every lineage model is in the store.
    assert run_cli("verify", "--root", models_root)[0] == 0
    open_store(models_root).delete(layout.student_onnx("v1"), dry_run=False)
    code, out, _ = run_cli("verify", "models", "--root", models_root)
    assert code == 1 and "lineage" in out and layout.student_onnx("v1") in out


def test_register_without_models_is_one_line(tf_env, tmp_path) -> None:  # noqa: ANN001
    code, _, err = run_cli("registry", "register", "--root", str(tmp_path))
    assert code != 0 and "no model of version 'v1'" in err

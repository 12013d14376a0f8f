"""`pokecard registry register|list|approve|reject`: model packages in the SageMaker registry,
and ``analytics/metrics/model_lineage.json`` (teacher -> student -> ONNX -> int8/HEF ->
reference DB, each node by sha256).

Packages are created with boto3 ``create_model_package`` (sagemaker-core 2.27's
``ModelPackage.create`` is broken). moto's ``update_model_package`` drops
CustomerMetadataProperties, so ``list`` fills metadata from the lineage, which records it too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pokecard import layout
from pokecard.aws.clients import CloudError, aws_errors, client
from pokecard.config import Settings, load_settings
from pokecard.errors import ConfigError, ObjectNotFound
from pokecard.store import Store

# (kind, model dir function, model file key function, parent kind)
ARTIFACTS = (
    ("teacher", layout.teacher_dir, layout.teacher_checkpoint, None),
    ("student", layout.student_dir, layout.student_checkpoint, "teacher"),
    ("onnx", layout.student_dir, layout.student_onnx, "student"),
    ("hef", layout.hailo_dir, layout.hailo_hef, "onnx"),
)
# The serving image recorded in a package; pokecard runs its ONNX models on CPU/Hailo, not here.
INFERENCE_IMAGE = "763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-inference:2.5-cpu-py311"
STATUSES = {"approve": "Approved", "reject": "Rejected"}


@dataclass
class Node:
    kind: str
    key: str
    sha256: str
    size: int
    parent: str | None  # sha256 of the node it was made from
    metadata: dict[str, str]
    model_package_arn: str | None = None


def _card(store: Store, model_dir: str) -> dict[str, Any]:
    try:
        return store.get_json(layout.model_card(model_dir))
    except ObjectNotFound:
        return {}


def _metadata(
    kind: str, card: dict[str, Any], key: str, rec: dict[str, Any], store_url: str
) -> dict[str, str]:
    md = {
        "kind": kind,
        "architecture": str(card.get("architecture", "?")),
        "parameters": str(card.get("parameters", 0)),
        "embedding_dim": str(card.get("embedding_dim", "?")),
        "size_bytes": str(rec["size"]),
        "sha256": rec["sha256"],
        "s3_uri": f"{store_url}{key}",
        "training_job": str((card.get("extra") or {}).get("training_job", "-")),
    }
    for name, v in sorted((card.get("metrics") or {}).items()):
        if isinstance(v, int | float) and len(md) < 40:  # the API allows 50 properties
            md[f"metric:{name}"] = f"{v:.6g}"
    return md


def collect(store: Store, version: str) -> list[Node]:
    """The model artifacts of ``version`` present in the store, parents linked by sha256."""
    nodes: dict[str, Node] = {}
    for kind, dir_fn, key_fn, parent in ARTIFACTS:
        key = key_fn(version)
        rec = store.recorded(key)
        if rec is None or not store.exists(key):
            continue
        card = _card(store, dir_fn(version))
        p = nodes.get(parent) if parent else None
        nodes[kind] = Node(
            kind,
            key,
            rec["sha256"],
            int(rec["size"]),
            p.sha256 if p else None,
            _metadata(kind, card, key, rec, store.url),
        )
    return list(nodes.values())


def _reference_node(store: Store) -> Node | None:
    rec = store.recorded(layout.REFERENCE_MANIFEST)
    if rec is None:
        return None
    man = store.get_json(layout.REFERENCE_MANIFEST)
    model_sha = (man.get("model") or {}).get("sha256")
    md = {"kind": "reference", "cards": str(man.get("count", "?")), "mode": str(man.get("mode", "?"))}
    return Node("reference", layout.REFERENCE_MANIFEST, rec["sha256"], int(rec["size"]), model_sha, md)


def load_lineage(store: Store) -> dict[str, Any]:
    try:
        return store.get_json(layout.MODEL_LINEAGE)
    except ObjectNotFound:
        return {"nodes": [], "edges": []}


def update_lineage(store: Store, nodes: list[Node]) -> dict[str, Any]:
    """Upsert ``nodes`` (and the reference DB) into model_lineage.json, edges parent -> child by sha256."""
    lin = load_lineage(store)
    by_key = {n["key"] + "@" + n["sha256"]: n for n in lin.get("nodes", [])}
    ref = _reference_node(store)
    for n in [*nodes, *([ref] if ref else [])]:
        old = by_key.get(n.key + "@" + n.sha256, {})
        by_key[n.key + "@" + n.sha256] = {**old, **{k: v for k, v in vars(n).items() if v is not None}}
    edges = {(n["parent"], n["sha256"]) for n in by_key.values() if n.get("parent")}
    lin = {
        "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nodes": sorted(by_key.values(), key=lambda n: (n["key"], n["sha256"])),
        "edges": [{"from": a, "to": b} for a, b in sorted(edges)],
    }
    store.put_json(layout.MODEL_LINEAGE, lin)
    return lin


def register(store: Store, version: str = "v1", settings: Settings | None = None) -> list[Node]:
    """One PendingManualApproval package per artifact of ``version``; returns the nodes with their ARNs."""
    s = settings or load_settings()
    nodes = collect(store, version)
    if not nodes:
        raise ConfigError(
            f"no model of version {version!r} in {store.url} (looked for {layout.teacher_checkpoint(version)}, "
            f"{layout.student_onnx(version)}, ...): train or push one first"
        )
    sm = client("sagemaker", s)
    for n in nodes:
        with aws_errors(f"model package group {s.model_package_group}", s.endpoint_url):
            r = sm.create_model_package(
                ModelPackageGroupName=s.model_package_group,
                ModelPackageDescription=f"pokecard {n.kind} {version} ({n.metadata['architecture']})",
                ModelApprovalStatus="PendingManualApproval",
                CustomerMetadataProperties=n.metadata,
                InferenceSpecification={
                    "Containers": [
                        {
                            "Image": INFERENCE_IMAGE.format(region=s.region),
                            "ModelDataUrl": n.metadata["s3_uri"],
                        }
                    ],
                    "SupportedContentTypes": ["image/jpeg"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
            )
        n.model_package_arn = r["ModelPackageArn"]
    update_lineage(store, nodes)
    return nodes


def list_packages(store: Store | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    s = settings or load_settings()
    sm = client("sagemaker", s)
    lin = {n.get("model_package_arn"): n for n in (load_lineage(store)["nodes"] if store else [])}
    out = []
    with aws_errors(f"model package group {s.model_package_group}", s.endpoint_url):
        pages = sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=s.model_package_group)
        for page in pages:
            for p in page["ModelPackageSummaryList"]:
                d = sm.describe_model_package(ModelPackageName=p["ModelPackageArn"])
                md = d.get("CustomerMetadataProperties") or lin.get(p["ModelPackageArn"], {}).get(
                    "metadata", {}
                )
                out.append(
                    {
                        "arn": p["ModelPackageArn"],
                        "version": p.get("ModelPackageVersion"),
                        "status": d.get("ModelApprovalStatus"),
                        "reason": d.get("ApprovalDescription"),
                        "kind": md.get("kind", "?"),
                        "architecture": md.get("architecture", "?"),
                        "sha256": md.get("sha256", "?"),
                        "metrics": {k[7:]: v for k, v in md.items() if k.startswith("metric:")},
                    }
                )
    return sorted(out, key=lambda r: r["version"] or 0)


def decide(arn_or_version: str, action: str, reason: str, settings: Settings | None = None) -> dict[str, Any]:
    """Approve or reject one package (by ARN or version number in the group), with a reason."""
    s = settings or load_settings()
    if action not in STATUSES:
        raise ConfigError(f"action {action!r}: use approve or reject")
    if not reason.strip():
        raise ConfigError(f"{action} needs a --reason (it is kept in the registry as ApprovalDescription)")
    arn = arn_or_version
    if arn.isdigit():
        arn = f"arn:aws:sagemaker:{s.region}:{_account(s)}:model-package/{s.model_package_group}/{arn}"
    sm = client("sagemaker", s)
    with aws_errors(f"model package {arn}", s.endpoint_url):
        sm.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=STATUSES[action], ApprovalDescription=reason
        )
        d = sm.describe_model_package(ModelPackageName=arn)
    if d.get("ModelApprovalStatus") != STATUSES[action]:
        raise CloudError(f"{arn}: status is {d.get('ModelApprovalStatus')} after {action}")
    return {"arn": arn, "status": d["ModelApprovalStatus"], "reason": d.get("ApprovalDescription")}


def _account(s: Settings) -> str:
    if s.role_arn and s.role_arn.count(":") >= 4:
        return s.role_arn.split(":")[4]
    with aws_errors("sts GetCallerIdentity", s.endpoint_url):
        return str(client("sts", s).get_caller_identity()["Account"])

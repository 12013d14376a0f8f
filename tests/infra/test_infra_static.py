"""Terraform checks that need no AWS: fmt, validate per env, `terraform test` per module
(mock provider), checkov, and the pieces of pokecard.aws.infra that do not touch terraform."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from infra_testlib import REPO, copy_infra, require_terraform

from pokecard.aws import infra
from pokecard.errors import ConfigError, InfraError

MODULES = sorted(p.name for p in (REPO / "infra" / "modules").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def module_tf(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Terraform for a module in a private copy of infra/, initialised once per module."""
    plugin_dir = require_terraform()
    root = copy_infra(tmp_path_factory.mktemp("modules"))
    ready: dict[str, infra.Terraform] = {}

    def get(module: str) -> infra.Terraform:
        if module not in ready:
            tf = infra.Terraform(root / "modules" / module, plugin_dir=plugin_dir)
            tf.init(capture=True)
            ready[module] = tf
        return ready[module]

    return get


def test_every_module_has_the_standard_files() -> None:
    assert MODULES == ["artifact_bucket", "model_registry", "observability", "sagemaker_role"]
    for m in MODULES:
        d = REPO / "infra" / "modules" / m
        missing = [
            f
            for f in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
            if not (d / f).is_file()
        ]
        assert not missing, f"{m}: missing {missing}"
        assert list((d / "tests").glob("*.tftest.hcl")), f"{m}: no terraform test file"
        # terraform-aws-modules style: every variable is described.
        text = (d / "variables.tf").read_text()
        n_vars = len(re.findall(r'^variable "', text, re.M))
        assert n_vars and text.count("description =") >= n_vars, f"{m}: undescribed variables"


def test_terraform_fmt(tmp_path: Path) -> None:
    require_terraform()
    tf = infra.Terraform(REPO / "infra")
    proc = tf.run(["fmt", "-check", "-recursive", "-diff"], capture=True, check=False)
    assert proc.returncode == 0, (
        f"terraform fmt -check failed; run `terraform fmt -recursive infra`:\n{proc.stdout}"
    )


@pytest.mark.parametrize("env", infra.ENVS)
def test_terraform_validate(env: str, tmp_path: Path) -> None:
    plugin_dir = require_terraform()
    root = copy_infra(tmp_path)
    tf = infra.Terraform(root / "envs" / env, data_dir=tmp_path / "tfdata", plugin_dir=plugin_dir)
    tf.init(backend=False, capture=True)
    proc = tf.run(["validate", "-json"], capture=True, check=False)
    report = json.loads(proc.stdout)
    assert report["valid"], report["diagnostics"]
    assert report["warning_count"] == 0, report["diagnostics"]


@pytest.mark.parametrize("module", MODULES)
def test_module_terraform_test(module: str, module_tf) -> None:  # noqa: ANN001
    """Each module's tests/*.tftest.hcl, with mock_provider "aws", all pass."""
    proc = module_tf(module).run(["test", "-no-color"], capture=True, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    m = re.search(r"Success! (\d+) passed, 0 failed", out)
    assert m and int(m.group(1)) >= 2, out


def test_prevent_destroy_refuses_the_teardown(module_tf) -> None:  # noqa: ANN001
    """The protected bucket variant really refuses a destroy (here: the test's own teardown)."""
    proc = module_tf("artifact_bucket").run(
        ["test", "-no-color", "-test-directory=tests/prevent_destroy"], capture=True, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "aws_s3_bucket.protected[0] has lifecycle.prevent_destroy set" in out, out


def test_checkov_zero_failed_and_every_skip_explained() -> None:
    """checkov (own venv, --skip-download) over infra/: nothing fails; skips are inline with a reason."""
    require_terraform()
    proc = subprocess.run(
        ["bash", "scripts/infra.sh", "checkov", "--output", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    start = proc.stdout.find("{") if proc.stdout.lstrip().startswith("{") else proc.stdout.find("[")
    assert start >= 0, (
        f"no JSON from checkov (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    data = json.loads(proc.stdout[start:])
    reports = data if isinstance(data, list) else [data]
    summary = {k: sum(r["summary"][k] for r in reports) for k in ("passed", "failed", "skipped")}
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert summary["failed"] == 0 and not failed, failed
    assert summary["passed"] >= 30, summary
    assert summary["skipped"] > 0, summary  # the inline skips below are seen by checkov
    # Skips live only inline, each with its reason (the script passes no --skip-check).
    skips = [
        (tf.relative_to(REPO), m.group(1), m.group(2))
        for tf in sorted((REPO / "infra").rglob("*.tf"))
        if ".terraform" not in tf.parts
        for m in re.finditer(r"#checkov:skip=([A-Z0-9_]+)(?::(.*))?", tf.read_text())
    ]
    assert skips
    unexplained = [f"{f}: {cid}" for f, cid, reason in skips if len((reason or "").strip()) < 20]
    assert not unexplained, f"checkov skips without a reason: {unexplained}"
    assert "--skip-check" not in (REPO / "scripts" / "infra.sh").read_text()
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_plugin_dir_setting(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp").mkdir(parents=True)
    assert infra.find_plugin_dir({"TF_PLUGIN_DIR": str(mirror)}) == mirror
    with pytest.raises(ConfigError, match="TF_PLUGIN_DIR=.*registry.terraform.io"):
        infra.find_plugin_dir({"TF_PLUGIN_DIR": str(tmp_path / "nope")})
    found = infra.find_plugin_dir({})
    if found is not None:  # auto-discovery: the parent of a registry.terraform.io/hashicorp mirror
        assert (found / "registry.terraform.io" / "hashicorp").is_dir()


def test_terraform_environ_drops_missing_cli_config(tmp_path: Path) -> None:
    env = infra.terraform_environ(tmp_path / "d", base={"TF_CLI_CONFIG_FILE": str(tmp_path / "missing.rc")})
    assert "TF_CLI_CONFIG_FILE" not in env and env["TF_DATA_DIR"] == str(tmp_path / "d")
    assert env["CHECKPOINT_DISABLE"] == "1"
    rc = tmp_path / "real.rc"
    rc.write_text("")
    assert infra.terraform_environ(base={"TF_CLI_CONFIG_FILE": str(rc)})["TF_CLI_CONFIG_FILE"] == str(rc)


def test_outputs_file_round_trips_into_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pokecard.config import load_settings

    path = tmp_path / "out" / "local.json"
    outputs = {
        "bucket": "b-1",
        "prefix": "project/x/",
        "region": "us-east-2",
        "endpoint_url": "http://127.0.0.1:5999",
        "role_arn": "arn:aws:iam::123456789012:role/r",
        "model_package_group": "g",
        "log_groups": {"training_jobs": "/aws/sagemaker/TrainingJobs"},
        "dashboard_name": "d",
    }
    infra.write_outputs(outputs, path)
    assert json.loads(path.read_text()) == outputs
    monkeypatch.setenv("POKECARD_INFRA_OUTPUTS", str(path))
    s = load_settings()
    assert (s.bucket, s.prefix, s.endpoint_url, s.role_arn, s.model_package_group) == (
        "b-1",
        "project/x/",
        "http://127.0.0.1:5999",
        "arn:aws:iam::123456789012:role/r",
        "g",
    )
    assert s.log_groups == {"training_jobs": "/aws/sagemaker/TrainingJobs"}
    with pytest.raises(InfraError, match="role_arn"):
        infra.write_outputs({k: v for k, v in outputs.items() if k != "role_arn"}, path)


def test_unknown_env_and_stray_backend_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown infra environment 'staging'"):
        infra._env_dir("staging", tmp_path)
    root = copy_infra(tmp_path)
    (root / "envs" / "prod" / infra.BACKEND_OVERRIDE).write_text('terraform {\n  backend "s3" {}\n}\n')
    with pytest.raises(ConfigError, match="TF_BACKEND_CONFIG is not set"):
        infra.apply_prod(tmp_path, approve=False, data_dir=tmp_path / "tfdata")
    with pytest.raises(ConfigError, match="no such file"):
        infra.apply_prod(tmp_path, approve=False, backend_config=tmp_path / "missing.s3.tfbackend")

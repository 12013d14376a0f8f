from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pokecard.cli import run


def _json_lines(out: str) -> list:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_help_and_layout(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    assert "store" in capsys.readouterr().out
    assert run(["layout", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    keys = [r["key"] for r in data["keys"]]
    assert "metadata/project_manifest.json" in keys
    assert data["s3_root"].startswith("s3://pokemon-card-training-us-east-2/project/pokemon-card-recognition")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["catalog", "build"], "Missing option '--source'"),
        (["recognize", "--top-k", "many", "x.jpg"], "'--top-k'"),
        (["store", "no-such-command"], "No such command"),
    ],
)
def test_usage_errors_are_one_message_and_exit_2(
    argv: list, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err


def test_cli_import_is_light() -> None:
    """`pokecard --help` must not pay for torch, timm, boto3 or sagemaker."""
    code = "import sys, pokecard.cli; print(sorted(m for m in ('torch','timm','boto3','sagemaker','mlflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_push_pull_local_root(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "cards"
    src.mkdir()
    (src / "tef-001.jpg").write_bytes(b"\xff\xd8fakejpeg")
    root = str(tmp_path / "root")
    assert run(["store", "push", str(src), "data/raw/card_images", "--root", root, "--json"]) == 0
    assert _json_lines(capsys.readouterr().out)[0]["copy"] == ["data/raw/card_images/tef-001.jpg"]
    assert (
        run(["store", "pull", "data/raw/card_images", str(tmp_path / "back"), "--root", root, "--json"]) == 0
    )
    capsys.readouterr()
    assert (tmp_path / "back" / "tef-001.jpg").read_bytes() == b"\xff\xd8fakejpeg"
    assert run(["store", "verify", "--root", root, "--json"]) == 0
    assert _json_lines(capsys.readouterr().out)[0]["passed"] is True


@pytest.mark.integration
def test_push_pull_through_moto_with_outputs_file_only(
    s3_bucket: str, moto_server: str, tmp_path, monkeypatch, capsys
) -> None:
    """The infra outputs file alone says where the bucket is; --root s3 uses it."""
    outputs = tmp_path / "local.json"
    outputs.write_text(
        json.dumps(
            {
                "bucket": s3_bucket,
                "prefix": "project/pokemon-card-recognition/",
                "region": "us-east-2",
                "endpoint_url": moto_server,
            }
        )
    )
    monkeypatch.setenv("POKECARD_INFRA_OUTPUTS", str(outputs))
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    src = tmp_path / "ref"
    src.mkdir()
    (src / "index.json").write_text("[]")
    assert run(["store", "push", str(src), "data/reference", "--root", "s3", "--json"]) == 0
    capsys.readouterr()
    assert run(["store", "ls", "data", "--root", "s3", "--json"]) == 0
    listed = _json_lines(capsys.readouterr().out)[0]
    assert [o["key"] for o in listed] == ["data/reference/index.json"] and listed[0]["sha256"]
    assert run(["store", "pull", "data/reference", str(tmp_path / "back"), "--root", "s3"]) == 0
    assert (tmp_path / "back" / "index.json").read_text() == "[]"


def test_errors_are_one_line_without_traceback(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["store", "pull", "data/nothing", str(tmp_path / "x"), "--root", str(tmp_path / "root")]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "data/nothing" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    (tmp_path / "f").mkdir()
    assert run(["store", "push", str(tmp_path / "f"), "../escape", "--root", str(tmp_path / "root")]) != 0
    assert "not a clean relative path" in capsys.readouterr().err


def test_error_exit_code_from_real_process(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pokecard.cli", "store", "rm", "data/x", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert (
        proc.stderr.startswith("error: ")
        and "does not exist" in proc.stderr
        and "Traceback" not in proc.stderr
    )

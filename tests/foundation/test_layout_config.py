from __future__ import annotations

import json

import pytest

from pokecard import layout
from pokecard.config import DEFAULT_BUCKET, DEFAULT_PREFIX, load_settings
from pokecard.errors import ConfigError, LayoutError


def test_layout_keys_follow_the_production_layout() -> None:
    assert layout.student_onnx("v3") == "models/efficientnet-student/stage2/v3/student_stage2_final.onnx"
    assert (
        layout.hailo_hef("v3") == "models/efficientnet-hailo/v3/pokemon_student_efficientnet_lite0_stage2.hef"
    )
    assert layout.teacher_archive("v1") == "models/dinov3-teacher/v1/model.tar.gz"
    assert layout.profiling_dir("student", "2026-11-27") == "profiling/student/2026-11-27"
    assert layout.pipeline_dir("training") == "pipelines/training"
    # every constant key lives under one of the layout's top-level folders
    keys = [v for k, v in vars(layout).items() if k.isupper() and isinstance(v, str) and "/" in v]
    assert keys and all(layout.in_layout(k) for k in keys)


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs/path", "a//b", "data/./x", ""])
def test_layout_rejects_unclean_keys(bad: str) -> None:
    with pytest.raises(LayoutError):
        layout.validate_key(bad)


def test_layout_refuses_writes_outside_unless_forced() -> None:
    with pytest.raises(LayoutError, match="outside the project layout"):
        layout.check_writable("random/file.txt")
    assert layout.check_writable("random/file.txt", force=True) == "random/file.txt"
    with pytest.raises(LayoutError):
        layout.student_dir("bad version!")
    with pytest.raises(LayoutError):
        layout.pipeline_dir("nope")


def test_settings_defaults() -> None:
    s = load_settings()
    assert (s.bucket, s.prefix, s.region) == (DEFAULT_BUCKET, DEFAULT_PREFIX, "us-east-2")
    assert s.s3_root == "s3://pokemon-card-training-us-east-2/project/pokemon-card-recognition/"
    assert s.resolve_root("s3") == s.s3_root
    assert s.resolve_root("/tmp/x") == "/tmp/x"


def test_settings_precedence(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "bucket": "from-infra",
                "prefix": "p/",
                "role_arn": "arn:aws:iam::1:role/r",
                "endpoint_url": "http://127.0.0.1:5055",
                "unrelated": 1,
            }
        )
    )
    monkeypatch.setenv("POKECARD_INFRA_OUTPUTS", str(outputs))
    s = load_settings()
    assert (s.bucket, s.prefix, s.role_arn) == ("from-infra", "p/", "arn:aws:iam::1:role/r")
    toml = tmp_path / "pokecard.toml"
    toml.write_text('[pokecard]\nbucket = "from-toml"\n')
    monkeypatch.setenv("POKECARD_CONFIG", str(toml))
    assert load_settings().bucket == "from-toml"
    monkeypatch.setenv("POKECARD_BUCKET", "from-env")
    assert load_settings().bucket == "from-env"
    assert load_settings(bucket="from-cli").bucket == "from-cli"
    assert load_settings(bucket=None).bucket == "from-env"


def test_settings_bad_files_name_the_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "pokecard.toml"
    toml.write_text('[pokecard]\nbukcet = "typo"\n')
    monkeypatch.setenv("POKECARD_CONFIG", str(toml))
    with pytest.raises(ConfigError, match="bukcet"):
        load_settings()
    toml.write_text("not = [valid")
    with pytest.raises(ConfigError, match=str(toml)):
        load_settings()
    monkeypatch.setenv("POKECARD_CONFIG", str(tmp_path / "none.toml"))
    out = tmp_path / "o.json"
    out.write_text("{broken")
    monkeypatch.setenv("POKECARD_INFRA_OUTPUTS", str(out))
    with pytest.raises(ConfigError, match="make infra"):
        load_settings()

"""The model factory: names, parameter counts, weights loading, and that training learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from pokecard.errors import ModelError  # noqa: E402
from pokecard.models import create_model, parameter_count  # noqa: E402


def test_factory_builds_teacher_and_student_by_name_with_expected_sizes() -> None:
    teacher = create_model("teacher")
    assert teacher.architecture == "vit_base_patch16_dinov3"
    n_t = parameter_count(teacher)
    assert abs(n_t - 86e6) / 86e6 < 0.03, n_t  # DINOv3 ViT-B/16, CLS token is already 768-d
    del teacher
    student = create_model("student")
    backbone = timm.create_model("efficientnet_lite0", num_classes=0)
    n_s = parameter_count(student)
    # Lite0 without its ImageNet classifier plus a 1280 -> 768 linear head.
    assert n_s == parameter_count(backbone) + 1280 * 768 + 768
    assert abs(n_s - 4.7e6) / 4.7e6 < 0.10, n_s
    x = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        y = student.eval()(x)
    assert y.shape == (2, 768)
    assert torch.allclose(y.norm(dim=1), torch.ones(2), atol=1e-5)


def test_any_timm_name_and_embedding_dim_work_and_unknown_names_fail_clearly() -> None:
    net = create_model("teacher-tiny", input_size=(64, 48), embedding_dim=32)
    with torch.no_grad():
        assert net.eval()(torch.randn(1, 3, 64, 48)).shape == (1, 32)
    with pytest.raises(ModelError, match="unknown architecture 'no_such_net'"):
        create_model("no_such_net")


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_weights_from_a_local_file_replace_the_random_init(tmp_path: Path, fmt: str) -> None:
    torch.manual_seed(1)
    src = timm.create_model("efficientnet_lite0", num_classes=0)
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    f = tmp_path / f"lite0.{fmt}"
    if fmt == "pth":
        torch.save(sd, f)
    else:
        from safetensors.torch import save_file

        save_file(sd, str(f))
    torch.manual_seed(2)
    loaded = create_model("student", weights=f)
    torch.manual_seed(2)
    fresh = create_model("student")
    key = "conv_stem.weight"
    assert torch.equal(loaded.backbone.state_dict()[key], sd[key])
    assert not torch.equal(fresh.backbone.state_dict()[key], sd[key])


def test_a_bad_weights_file_gives_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ModelError, match="broken.pth"):
        create_model("student", weights=bad)
    wrong = tmp_path / "other.pth"
    torch.save(timm.create_model("resnet10t", num_classes=0).state_dict(), wrong)
    with pytest.raises(ModelError, match="other.pth"):
        create_model("student", weights=wrong)
    with pytest.raises(ModelError, match="not found"):
        create_model("student", weights=tmp_path / "missing.pth")


def test_losses_decrease_on_a_tiny_problem() -> None:
    """A few optimizer steps on a fixed tiny batch must reduce both training losses."""
    from pokecard.train.losses import NormSoftmax, distill_loss

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(8, 3, 64, 48)).astype(np.float32))
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])

    teacher = create_model("teacher-tiny", input_size=(64, 48), embedding_dim=32)
    head = NormSoftmax(4, 32)
    opt = torch.optim.AdamW(list(teacher.parameters()) + list(head.parameters()), lr=1e-3)
    losses = []
    for _ in range(12):
        loss = head(teacher(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0], losses

    gallery = torch.nn.functional.normalize(torch.randn(4, 32), dim=1)
    student = create_model("mobilenetv3_small_050", embedding_dim=32)
    opt = torch.optim.AdamW(student.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss, parts = distill_loss(student(x), gallery, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert set(parts) == {"cosine", "relational", "gallery_ce"}
    assert losses[-1] < 0.7 * losses[0], losses


def test_retrieval_metrics_count_top1_top5_and_margins() -> None:
    from pokecard.train.losses import retrieval_metrics

    g = np.eye(6, dtype=np.float32)
    q = np.eye(6, dtype=np.float32)[[0, 1, 2]] * 0.9
    q[2] = 0.5 * g[3] + 0.4 * g[2]  # card 2 photographed, card 3 scores higher
    m = retrieval_metrics(q, g, np.array([0, 1, 2]))
    assert m["top1"] == pytest.approx(2 / 3)
    assert m["top5"] == 1.0
    assert m["margin_mean"] == pytest.approx((0.9 + 0.9 - 0.1) / 3)


def test_the_student_id_loss_separates_cards_the_teacher_gallery_merges() -> None:
    """Two cards whose teacher gallery vectors coincide (a weak teacher on reprints that share
    art) get identical targets from every distillation term; the id loss tells them apart."""
    import torch.nn.functional as F

    from pokecard.train.losses import NormSoftmax, distill_loss

    torch.manual_seed(0)
    feats = torch.randn(4, 16)  # four cards' photo features, all distinguishable
    y = torch.arange(4)
    g = F.normalize(torch.randn(4, 8), dim=1)
    g[3] = g[2]  # cards 2 and 3 merged in the teacher's gallery

    def train(id_weight: float, cap: float = 1.0) -> torch.Tensor:
        torch.manual_seed(1)
        student = torch.nn.Linear(16, 8)
        ids = NormSoftmax(4, 8)
        opt = torch.optim.Adam(list(student.parameters()) + list(ids.parameters()), lr=0.05)
        for _ in range(300):
            emb = student(feats)
            loss, _ = distill_loss(emb, g, y, relational_cap=cap)
            if id_weight:
                loss = loss + id_weight * ids(emb, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            e = F.normalize(student(feats), dim=1)
        return e @ e.T

    plain, with_id, capped = train(0.0), train(1.0), train(1.0, cap=0.5)
    assert plain[2, 3] > 0.99  # distillation alone maps the two cards to one point
    assert with_id[2, 3] < 0.95  # the id loss pulls them apart (0.885 here)
    # with the relational target between different cards capped, the relational term stops
    # pulling the merged pair together: they end further apart
    assert capped[2, 3] < with_id[2, 3] - 0.05, (float(capped[2, 3]), float(with_id[2, 3]))
    # and the cap leaves pairs the teacher already keeps apart as they were
    assert abs(float(capped[0, 1]) - float(with_id[0, 1])) < 0.1

"""Evaluation: an oracle scores 100, clip and streaming modes, eval's predictions agree with `score`, the
CLI writes its reports, and 2 DDP processes give the single-process result."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from openvidseg.cli import main
from openvidseg.data import VSPWDataset, write_synthetic_vspw
from openvidseg.engine.evaluator import evaluate
from openvidseg.metrics import score_predictions
from openvidseg.models.base import FrameFeatures, SegmentationOutput, VideoSegmenter

CLASSES = ("sky", "grass", "red circle", "blue star")


def oracle_dataset(root, lengths=(18, 5), size=(12, 16)):
    """A VSPW-layout set whose frames encode their labels: red channel = 10 x class id (PNG, lossless)."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    (root / "label_num_dic_final.json").write_text(json.dumps({"others": 0, **{n: i + 1 for i, n in enumerate(CLASSES)}}))
    names = []
    for v, length in enumerate(lengths):
        name = f"video{v}"
        names.append(name)
        for folder in ("origin", "mask"):
            (root / "data" / name / folder).mkdir(parents=True)
        mask = rng.integers(0, len(CLASSES) + 1, size=size).astype(np.uint8)
        for t in range(length):
            mask[:, t % size[1]] = (t // 3) % (len(CLASSES) + 1)  # one column changes now and then
            frame = np.zeros((*size, 3), dtype=np.uint8)
            frame[..., 0] = mask * 10
            Image.fromarray(frame).save(root / "data" / name / "origin" / f"{t:05d}.png")
            Image.fromarray(mask).save(root / "data" / name / "mask" / f"{t:05d}.png")
    (root / "val.txt").write_text("\n".join(names) + "\n")
    return root


class Oracle(VideoSegmenter):
    """Reads the label out of the frame (gzsl vocabulary order = dataset ids - 1); "others" -> class 0."""

    def __init__(self):
        torch.nn.Module.__init__(self)
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    @property
    def device(self):
        return self.anchor.device

    def text_embeddings(self, class_names):
        return torch.zeros(len(class_names), 1, 1)

    def encode_frames(self, images):
        return FrameFeatures(images[:, :1].float())

    def decode(self, target, refs, context, text, out_size):
        ids = (target.clip[:, 0] / 10).round().long()
        logits = torch.nn.functional.one_hot((ids - 1).clamp(0, text.shape[0] - 1), text.shape[0]).permute(0, 3, 1, 2).float()
        return SegmentationOutput(torch.nn.functional.interpolate(logits, size=tuple(out_size)))


@pytest.mark.parametrize("mode", ["clip", "streaming"])
def test_an_oracle_scores_100_and_vc_counts_windows_of_long_videos_only(tmp_path, mode):
    data = VSPWDataset(oracle_dataset(tmp_path / "oracle"), "val", split="all")
    protocol = data.split.protocol("gzsl")
    result = evaluate(Oracle(), data.videos, protocol, mode=mode, progress=False)
    assert result.miou == pytest.approx(100) and result.aacc == pytest.approx(100) and result.macc == pytest.approx(100)
    assert result.vc8 == pytest.approx(100) and result.vc16 == pytest.approx(100)  # only the 18-frame video counts
    assert (result.num_frames, result.num_videos) == (23, 2)


def test_unseen_protocol_counts_background_as_a_miss(tmp_path):
    """Under 'unseen' the vocabulary is the unseen classes + background; the oracle (which always answers in
    gzsl order) is then wrong on most pixels, and nothing crashes on the extra background index."""
    root = oracle_dataset(tmp_path / "oracle")
    (root / "seen.json").write_text(json.dumps(["sky", "grass"]))
    data = VSPWDataset(root, "val", split=str(root / "seen.json"))
    protocol = data.split.protocol("unseen")
    assert protocol.vocabulary() == ("red circle", "blue star", "background")
    result = evaluate(Oracle(), data.videos, protocol, progress=False)
    assert result.miou_seen is None and result.miou < 100


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic") / "set"
    return write_synthetic_vspw(root, class_names=CLASSES, num_videos=3, num_frames=18, size=(48, 64), seed=1,
                                splits={"train": 1, "val": 2}, seen_classes=["sky", "red circle"])


def test_saved_predictions_score_the_same_as_the_evaluation(synthetic, tmp_path):
    from openvidseg.models import create_model

    torch.manual_seed(0)
    model = create_model("ov2vss_tiny")
    data = VSPWDataset(synthetic.root, "val", split=str(synthetic.seen_file))
    protocol = data.split.protocol("gzsl")
    result = evaluate(model, data.videos, protocol, mode="clip", predictions_dir=tmp_path / "pred", progress=False)
    scored = score_predictions(tmp_path / "pred", synthetic.root, split="val", split_def=str(synthetic.seen_file))
    assert scored.to_json() == result.to_json()
    assert result.num_frames == 36 and result.vc8 is not None


def test_eval_command_writes_reports_and_refuses_to_overwrite(synthetic, tmp_path, capsys):
    out = tmp_path / "eval"
    args = ["eval", "--config", "ov2vss_tiny_synthetic", "--out", str(out), "--no-progress",
            f"data.root={synthetic.root}", f"data.split={synthetic.seen_file}", "eval.mode=streaming",
            "eval.max_videos=1", "data.test_short_side=48"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"] == "gzsl" and metrics["num_videos"] == 1 and metrics["num_frames"] == 18
    assert set(metrics["per_class"]) == {"sky", "grass", "red circle", "blue star"}
    assert (out / "report.md").read_text().startswith("# Evaluation")
    assert (out / "per_class_iou.png").is_file() and (out / "config.yaml").is_file()
    capsys.readouterr()
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err


def _ddp_worker(rank, world, init_file, root, seen_file, out_file):
    import torch.distributed as dist

    from openvidseg.models import create_model

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = create_model("frame_tiny")
    data = VSPWDataset(root, "val", split=seen_file)
    result = evaluate(model, data.videos, data.split.protocol("gzsl"), progress=False)
    if rank == 0:
        out_file.write_text(json.dumps(result.to_json()))
    dist.destroy_process_group()


def test_two_processes_give_the_single_process_result(synthetic, tmp_path):
    from openvidseg.models import create_model

    torch.manual_seed(0)
    data = VSPWDataset(synthetic.root, "val", split=str(synthetic.seen_file))
    single = evaluate(create_model("frame_tiny"), data.videos, data.split.protocol("gzsl"), progress=False)
    out_file = tmp_path / "ddp.json"
    os.environ.pop("WORLD_SIZE", None)
    torch.multiprocessing.spawn(_ddp_worker, args=(2, tmp_path / "init", synthetic.root, str(synthetic.seen_file),
                                                   out_file), nprocs=2, join=True)
    ddp = json.loads(out_file.read_text())
    for key, value in single.to_json().items():
        if isinstance(value, float):
            assert ddp[key] == pytest.approx(value, abs=1e-6), key
        else:
            assert ddp[key] == value, key

"""OV2VSS's inference-time class pruning (issue 14): which classes are kept, and that the kept classes get
exactly the logits of the model run on their vocabulary alone while the pruned ones lose everywhere."""
from __future__ import annotations

import pytest
import torch

from openvidseg.errors import InputError
from openvidseg.models import create_model
from openvidseg.models.ov2vss.pruning import PRUNED_MARGIN, prune_classes, unprune


def test_classes_rank_by_their_peak_probability_over_pixels():
    # 4 pixels, 5 classes (hand-made logits): class 3 wins pixel 0 outright, class 1 is near-certain on one
    # pixel only, class 0 wins pixel 1 (p = e / (e + 1 + 3 e^-5)), classes 2 and 4 tie on pixel 3
    # (p = e^2 / (2 + e^-5 + 2 e^2))
    logits = torch.tensor([[1.0, 1.0, 1.0, 0.0],
                           [-5.0, -5.0, 8.0, -5.0],
                           [-5.0, -5.0, -5.0, 2.0],
                           [9.0, 0.0, 0.0, 0.0],
                           [-5.0, -5.0, -5.0, 2.0]]).reshape(1, 5, 2, 2)
    peak = logits.softmax(dim=1).flatten(2).amax(dim=2)[0]
    torch.testing.assert_close(peak[[0, 2]], torch.tensor([0.7271, 0.4402]), rtol=0, atol=1e-4)
    assert prune_classes(logits, 3).tolist() == [0, 1, 3]  # sorted indices of the 3 best
    assert prune_classes(logits, 5) is None and prune_classes(logits, 9) is None
    two = prune_classes(torch.cat([logits, logits.flip(1)]), 4)  # batch entries pool: reversed copy's classes too
    assert two.tolist() == [0, 1, 3, 4]


def test_unpruned_logits_put_the_kept_classes_in_place_and_the_others_below_everything():
    kept = torch.tensor([1, 4])
    logits = torch.tensor([[[[0.5, -2.0]], [[3.0, 1.0]]]])  # (1, 2, 1, 2)
    full = unprune(logits, kept, 6)
    assert full.shape == (1, 6, 1, 2)
    assert torch.equal(full[:, kept], logits)
    others = full[:, [0, 2, 3, 5]]
    assert torch.all(others == -2.0 - PRUNED_MARGIN)
    assert torch.all(full.softmax(dim=1)[:, [0, 2, 3, 5]] == 0)


@pytest.mark.parametrize("options", [{}, {"vte_queries": "classes", "cost_templates": 2}])
def test_pruned_model_gives_the_kept_classes_the_logits_of_their_own_vocabulary(options):
    torch.manual_seed(0)
    model = create_model("ov2vss_tiny", class_pruning=3, **options).eval()
    names = [f"class {i}" for i in range(7)]
    with torch.no_grad():
        text = model.text_embeddings(names)
        target = model.encode_frames(torch.randint(0, 256, (1, 3, 48, 64)).float())
        refs, context = [target] * len(model.ref_offsets), model.random_context(target)
        kept = prune_classes(model.pruning_logits(target.clip, text), 3)
        pruned = model.decode(target, refs, context, text, None).logits
        model.class_pruning = 0
        alone = model.decode(target, refs, context, text[kept], None).logits
        every = model.decode(target, refs, context, text, None).logits
    assert kept is not None and len(kept) == 3
    assert pruned.shape == every.shape == (1, 7, *every.shape[2:])
    torch.testing.assert_close(pruned[:, kept], alone, rtol=1e-5, atol=1e-5)
    losers = [i for i in range(7) if i not in kept.tolist()]
    assert pruned[:, losers].amax() < pruned[:, kept].amin()
    assert set(pruned.argmax(dim=1).unique().tolist()) <= set(kept.tolist())


def test_pruning_defaults_to_20_is_off_in_training_and_never_below_zero():
    assert create_model("ov2vss_tiny").class_pruning == 20  # the default: off for vocabularies up to 20
    torch.manual_seed(0)
    model = create_model("ov2vss_tiny", class_pruning=1)
    frames = torch.randint(0, 256, (1, 4, 3, 32, 32), dtype=torch.uint8)
    out = model(frames, ["a", "b", "c"], torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8),
                torch.randint(0, 3, (1, 32, 32)))
    out["loss"].backward()  # every class trained: pruning applies at inference only
    assert model.decoder.head.weight.grad.abs().sum() > 0
    with pytest.raises(InputError, match="k >= 0"):
        create_model("ov2vss_tiny", class_pruning=-1)

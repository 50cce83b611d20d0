"""One weight-loading path: hub-layout folders, OpenAI-layout files (plain and TorchScript), strict
reports of bad weights, and a clear offline message."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from openvidseg.clip import load_clip
from openvidseg.clip.random_clip import byte_tokenizer
from openvidseg.errors import WeightsError, WeightsNotFoundError


def hf_to_openai(model) -> dict[str, torch.Tensor]:
    """The test's own writing of OpenAI's CLIP layout from a transformers CLIPModel (independent of the
    package's converter): q, k, v stacked into in_proj, projections transposed."""
    sd = model.state_dict()
    out = {
        "visual.class_embedding": sd["vision_model.embeddings.class_embedding"],
        "visual.positional_embedding": sd["vision_model.embeddings.position_embedding.weight"],
        "visual.conv1.weight": sd["vision_model.embeddings.patch_embedding.weight"],
        "visual.ln_pre.weight": sd["vision_model.pre_layrnorm.weight"],
        "visual.ln_pre.bias": sd["vision_model.pre_layrnorm.bias"],
        "visual.ln_post.weight": sd["vision_model.post_layernorm.weight"],
        "visual.ln_post.bias": sd["vision_model.post_layernorm.bias"],
        "visual.proj": sd["visual_projection.weight"].t(),
        "token_embedding.weight": sd["text_model.embeddings.token_embedding.weight"],
        "positional_embedding": sd["text_model.embeddings.position_embedding.weight"],
        "ln_final.weight": sd["text_model.final_layer_norm.weight"],
        "ln_final.bias": sd["text_model.final_layer_norm.bias"],
        "text_projection": sd["text_projection.weight"].t(),
        "logit_scale": sd["logit_scale"],
    }
    for tower, prefix in (("vision_model", "visual."), ("text_model", "")):
        layers = model.config.vision_config.num_hidden_layers if tower == "vision_model" else model.config.text_config.num_hidden_layers
        for i in range(layers):
            src, dst = f"{tower}.encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
            for kind in ("weight", "bias"):
                out[dst + f"attn.in_proj_{kind}"] = torch.cat([sd[src + f"self_attn.{p}_proj.{kind}"] for p in "qkv"])
                out[dst + f"attn.out_proj.{kind}"] = sd[src + f"self_attn.out_proj.{kind}"]
                out[dst + f"ln_1.{kind}"] = sd[src + f"layer_norm1.{kind}"]
                out[dst + f"ln_2.{kind}"] = sd[src + f"layer_norm2.{kind}"]
                out[dst + f"mlp.c_fc.{kind}"] = sd[src + f"mlp.fc1.{kind}"]
                out[dst + f"mlp.c_proj.{kind}"] = sd[src + f"mlp.fc2.{kind}"]
    return {k: v.clone() for k, v in out.items()}


def openai_image_embedding(sd: dict[str, torch.Tensor], pixels: torch.Tensor, heads: int) -> torch.Tensor:
    """OpenAI's ViT forward written against its own layout, with torch's MultiheadAttention (which uses
    the same stacked in_proj), as an independent oracle for the converted model."""
    patch = sd["visual.conv1.weight"].shape[-1]
    x = F.conv2d(pixels, sd["visual.conv1.weight"], stride=patch).flatten(2).transpose(1, 2)
    width = x.shape[-1]
    x = torch.cat([sd["visual.class_embedding"].expand(x.shape[0], 1, -1), x], 1) + sd["visual.positional_embedding"]
    x = F.layer_norm(x, (width,), sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"])
    i = 0
    while f"visual.transformer.resblocks.{i}.ln_1.weight" in sd:
        p = f"visual.transformer.resblocks.{i}."
        attn = nn.MultiheadAttention(width, heads, batch_first=True)
        attn.load_state_dict({k[len(p + "attn."):]: v for k, v in sd.items() if k.startswith(p + "attn.")})
        h = F.layer_norm(x, (width,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"])
        x = x + attn(h, h, h, need_weights=False)[0]
        h = F.layer_norm(x, (width,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"])
        h = F.linear(h, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])
        h = h * torch.sigmoid(1.702 * h)  # QuickGELU
        x = x + F.linear(h, sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
        i += 1
    x = F.layer_norm(x[:, 0], (width,), sd["visual.ln_post.weight"], sd["visual.ln_post.bias"])
    return x @ sd["visual.proj"]


def torchscript_archive(state: dict[str, torch.Tensor], path) -> None:
    """Save `state` as a TorchScript archive with the same parameter names (like OpenAI's jit release)."""

    class Holder(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    root = Holder()
    for key, value in state.items():
        *parents, leaf = key.split(".")
        node = root
        for part in parents:
            if not hasattr(node, part):
                node.add_module(part, Holder())
            node = getattr(node, part)
        node.register_parameter(leaf, nn.Parameter(value, requires_grad=False))
    with pytest.warns(DeprecationWarning):  # torch marks TorchScript as deprecated
        torch.jit.save(torch.jit.script(root), str(path))


@pytest.fixture(scope="module")
def reference():
    """A tiny random CLIP (transformers) and the same weights in OpenAI's layout."""
    clip = load_clip("random:tiny", seed=3)
    return clip, hf_to_openai(clip.model)


def save_tokenizer_beside(path) -> None:
    byte_tokenizer().save_pretrained(str(path))


def image_embedding(clip, pixels):
    with torch.no_grad():
        tokens, _ = clip.forward_tokens(pixels)
        return clip.project_tokens(tokens[:, 0])


def test_converted_openai_layout_matches_an_independent_openai_forward(reference):
    clip, openai_sd = reference
    pixels = torch.randn(2, 3, 224, 224)
    oracle = openai_image_embedding(openai_sd, pixels, heads=clip.model.config.vision_config.num_attention_heads)
    torch.testing.assert_close(image_embedding(clip, pixels), oracle, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fmt", ["pt", "torchscript", "safetensors", "fp16-pt"])
def test_openai_layout_files_round_trip(reference, tmp_path, fmt):
    clip, openai_sd = reference
    save_tokenizer_beside(tmp_path)
    if fmt == "pt":
        path = tmp_path / "ViT-tiny.pt"
        torch.save(openai_sd, path)
    elif fmt == "fp16-pt":
        path = tmp_path / "ViT-tiny.pt"
        torch.save({"state_dict": {f"module.{k}": v.half() for k, v in openai_sd.items()}}, path)  # DDP-wrapped
    elif fmt == "torchscript":
        path = tmp_path / "ViT-tiny.pt"
        torchscript_archive(openai_sd, path)
    else:
        path = tmp_path / "open_clip_model.safetensors"
        save_file({k: v.contiguous() for k, v in openai_sd.items()}, str(path))
    loaded = load_clip(str(path))
    pixels = torch.randn(1, 3, 224, 224)
    tol = dict(rtol=2e-2, atol=2e-2) if fmt == "fp16-pt" else dict(rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(image_embedding(loaded, pixels), image_embedding(clip, pixels), **tol)
    torch.testing.assert_close(loaded.text_classifier(["cat", "dog"], "single"),
                               clip.text_classifier(["cat", "dog"], "single"), **tol)


def test_hub_layout_folder_and_sharded_weights(reference, tmp_path):
    clip, _ = reference
    clip.model.save_pretrained(tmp_path / "plain")
    clip.model.save_pretrained(tmp_path / "sharded", max_shard_size="200KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    pixels = torch.randn(1, 3, 224, 224)
    for name in ("plain", "sharded"):
        save_tokenizer_beside(tmp_path / name)
        loaded = load_clip(str(tmp_path / name))
        torch.testing.assert_close(image_embedding(loaded, pixels), image_embedding(clip, pixels))


def test_missing_unexpected_and_mis_shaped_keys_are_all_reported(reference, tmp_path):
    _, openai_sd = reference
    save_tokenizer_beside(tmp_path)
    broken = dict(openai_sd)
    del broken["visual.ln_post.bias"]
    broken["visual.extra_head.weight"] = torch.zeros(3)
    broken["visual.transformer.resblocks.1.ln_1.weight"] = torch.zeros(65)
    torch.save(broken, tmp_path / "broken.pt")
    with pytest.raises(WeightsError) as err:
        load_clip(str(tmp_path / "broken.pt"))
    message = str(err.value)
    assert "missing: vision_model.post_layernorm.bias" in message
    assert "unexpected: visual.extra_head.weight" in message
    assert "mis-shaped: vision_model.encoder.layers.1.layer_norm1.weight (model has [64], weights have [65])" in message


def test_weights_of_another_size_do_not_load_into_a_config(reference, tmp_path):
    clip, _ = reference
    folder = tmp_path / "other"
    clip.model.save_pretrained(folder)
    save_tokenizer_beside(folder)
    config = (folder / "config.json").read_text().replace('"projection_dim": 32', '"projection_dim": 48')
    (folder / "config.json").write_text(config)
    with pytest.raises(WeightsError, match=r"mis-shaped: visual_projection.weight \(model has \[48, 64\]"):
        load_clip(str(folder))


class Payload:
    """Any Python object: unpickling it would run arbitrary code paths."""


def test_untrusted_pickles_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": Payload()}, path)
    with pytest.raises(WeightsError, match="untrusted pickles are never loaded"):
        load_clip(str(path))


def test_bad_sources_give_clear_errors(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="not an existing file or directory"):
        load_clip(str(tmp_path / "nothing.pt"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsNotFoundError, match="not a CLIP model folder"):
        load_clip(str(tmp_path / "empty"))
    (tmp_path / "garbage.safetensors").write_bytes(b"not really")
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        load_clip(str(tmp_path / "garbage.safetensors"))
    torch.save({"encoder.weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="not a CLIP checkpoint"):
        load_clip(str(tmp_path / "other.pt"))
    with pytest.raises(WeightsError, match="unknown random CLIP size"):
        load_clip("random:huge")


def test_openai_file_without_tokenizer_offline_says_what_to_do(reference, tmp_path):
    _, openai_sd = reference
    torch.save(openai_sd, tmp_path / "ViT.pt")
    with pytest.raises(WeightsNotFoundError, match="vocab.json and merges.txt"):
        load_clip(str(tmp_path / "ViT.pt"))


def test_hub_id_that_cannot_be_fetched_fails_with_one_clear_line(tmp_path):
    """Offline (or a repository that does not exist): no traceback, a message saying how to pass a path."""
    code = (
        "from openvidseg.cli import main\n"
        "from openvidseg.clip import load_clip\n"
        "from openvidseg.errors import OpenVidSegError\n"
        "try:\n    load_clip('openvidseg-tests/no-such-clip')\n"
        "except OpenVidSegError as e:\n    print('ERR', e)\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ERR cannot get CLIP weights 'openvidseg-tests/no-such-clip'" in out.stdout
    assert "--clip /path/to/" in out.stdout and "Traceback" not in out.stdout + out.stderr


def test_real_size_random_snapshot_loads_like_a_downloaded_one(shared_tools, tmp_path, all_cores):
    folder = tmp_path / "clip-vit-base-patch16"
    subprocess.run([sys.executable, str(shared_tools / "make_random_clip.py"), "vit-b-16", str(folder)],
                   check=True, capture_output=True)
    clip = load_clip(str(folder))
    assert (clip.width, clip.embed_dim, clip.patch_size, clip.num_layers) == (768, 512, 16, 12)
    out = clip.dense_features(clip.preprocess(torch.zeros(1, 3, 384, 384)), layers=(3, 6, 9, 12))
    assert out.embeddings.shape == (1, 512, 24, 24) and len(out.layers) == 4
    # the real CLIP BPE tokenizer came with the snapshot
    ids = clip.tokenizer(["a photo of a dog."])["input_ids"][0]
    assert ids[0] == 49406 and ids[-1] == 49407
    assert clip.text_classifier(["dog", "cat"], "single").shape == (2, 1, 512)

"""The VGGish log-mel front end against its formula (an independent numpy computation), the VGGish
re-implementation loading the public weight layouts strictly, and the transformers AST encoder.

The public VGGish weights cannot be downloaded here: the converters are tested on randomly initialised
state dicts with the public layouts' key names and shapes (torchvggish's release; the TensorFlow
checkpoint's variables), written as plain state dicts (read with weights_only) and safetensors, and on an
independent forward pass written from the torchvggish layout."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from openvidseg.errors import InputError, WeightsError, WeightsNotFoundError
from openvidseg.models.audio import VGGishLogMel, load_audio_encoder
from openvidseg.models.audio.vggish_weights import read_pca_params

RATE = 16_000
CONV_SHAPES = {0: (64, 1), 3: (128, 64), 6: (256, 128), 8: (256, 256), 11: (512, 256), 13: (512, 512)}
FC_SHAPES = {0: (4096, 12288), 2: (4096, 4096), 4: (128, 4096)}
TF_CONVS = {0: "conv1", 3: "conv2", 6: "conv3/conv3_1", 8: "conv3/conv3_2", 11: "conv4/conv4_1", 13: "conv4/conv4_2"}
TF_FCS = {0: "fc1/fc1_1", 2: "fc1/fc1_2", 4: "fc2"}


def numpy_log_mel(signal: np.ndarray) -> np.ndarray:
    """VGGish's log-mel written out from its definition, in float64 numpy with explicit loops for the bands."""
    window, hop, fft = 400, 160, 512
    count = 1 + (len(signal) - window) // hop
    frames = np.stack([signal[i * hop:i * hop + window] for i in range(count)])
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)
    spectrum = np.abs(np.fft.rfft(frames * hann, n=fft))  # (F, 257)
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    bin_mel = mel(np.linspace(0, RATE / 2, fft // 2 + 1))
    edges = np.linspace(mel(125.0), mel(7500.0), 64 + 2)
    weights = np.zeros((fft // 2 + 1, 64))
    for band in range(64):
        for k in range(1, fft // 2 + 1):  # bin 0 (DC) keeps weight 0
            rise = (bin_mel[k] - edges[band]) / (edges[band + 1] - edges[band])
            fall = (edges[band + 2] - bin_mel[k]) / (edges[band + 2] - edges[band + 1])
            weights[k, band] = max(0.0, min(rise, fall))
    return np.log(spectrum @ weights + 0.01)


def test_log_mel_matches_the_formula():
    rng = np.random.default_rng(0)
    t = np.arange(16_000) / RATE
    signal = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    ours = VGGishLogMel()(torch.from_numpy(signal[None]).float())[0].numpy()
    expected = numpy_log_mel(signal)
    assert ours.shape == expected.shape == (98, 64)
    assert np.abs(ours - expected).max() < 2e-3


def test_a_tone_lands_in_its_band_and_silence_is_log_of_the_offset():
    t = np.arange(16_000) / RATE
    front = VGGishLogMel()
    tone = front(torch.from_numpy(np.sin(2 * np.pi * 1000 * t)[None]).float())[0]
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    centres = np.linspace(mel(125.0), mel(7500.0), 66)[1:-1]
    assert int(tone.mean(0).argmax()) == int(np.abs(centres - mel(1000.0)).argmin())
    silence = front(torch.zeros(1, 16_000))
    assert torch.allclose(silence, torch.full_like(silence, float(np.log(0.01))))


def test_patches_of_096_seconds():
    front = VGGishLogMel()
    assert front.patches(torch.zeros(2, 15_600)).shape == (2, 1, 96, 64)  # exactly one patch
    assert front.patches(torch.zeros(1, 80_000)).shape == (1, 5, 96, 64)  # a 5 s AVSBench clip: 5 patches
    with pytest.raises(InputError, match="shorter than one VGGish patch"):
        front.patches(torch.zeros(1, 15_599))


def torchvggish_state(shapes_scale: int = 1, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights with the torchvggish release's key names (and shapes divided by `shapes_scale`)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for i, (cout, cin) in CONV_SHAPES.items():
        cout, cin = cout // shapes_scale, max(cin // shapes_scale, 1) if i else 1
        state[f"features.{i}.weight"] = torch.randn(cout, cin, 3, 3, generator=gen) * (2 / (9 * cin)) ** 0.5
        state[f"features.{i}.bias"] = torch.randn(cout, generator=gen) * 0.01
    last = CONV_SHAPES[13][0] // shapes_scale
    fc_in = {0: last * 24, 2: 4096 // shapes_scale, 4: 4096 // shapes_scale}
    fc_out = {0: 4096 // shapes_scale, 2: 4096 // shapes_scale, 4: 128 if shapes_scale == 1 else 16}
    for i in FC_SHAPES:
        state[f"embeddings.{i}.weight"] = torch.randn(fc_out[i], fc_in[i], generator=gen) * (2 / fc_in[i]) ** 0.5
        state[f"embeddings.{i}.bias"] = torch.randn(fc_out[i], generator=gen) * 0.01
    return state


def reference_forward(state: dict[str, torch.Tensor], patches: torch.Tensor) -> torch.Tensor:
    """The torchvggish layout's forward, written from its Sequential: conv/ReLU (+ pools), NHWC flatten, FC/ReLU."""
    x = patches
    for i in CONV_SHAPES:
        x = F.relu(F.conv2d(x, state[f"features.{i}.weight"], state[f"features.{i}.bias"], padding=1))
        if i in (0, 3, 8, 13):
            x = F.max_pool2d(x, 2)
    x = x.transpose(1, 3).transpose(1, 2).reshape(x.shape[0], -1)
    for i in FC_SHAPES:
        x = F.relu(F.linear(x, state[f"embeddings.{i}.weight"], state[f"embeddings.{i}.bias"]))
    return x


def test_the_public_torchvggish_layout_loads_strictly_at_full_size(tmp_path, all_cores):
    state = torchvggish_state()
    assert {k: tuple(v.shape) for k, v in state.items() if "weight" in k}["embeddings.0.weight"] == (4096, 12288)
    torch.save(state, tmp_path / "vggish-10086976.pth")  # a plain state dict: read with weights_only
    encoder = load_audio_encoder(str(tmp_path / "vggish-10086976.pth"))
    wave = torch.randn(2, 15_600) * 0.1
    with torch.no_grad():
        ours = encoder(wave)
        expected = reference_forward(state, VGGishLogMel().patches(wave).reshape(2, 1, 96, 64))
    assert ours.shape == (2, 128) and torch.allclose(ours, expected, atol=1e-4, rtol=1e-4)


def tensorflow_state(torch_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same weights under the TensorFlow checkpoint's variable names and kernel layouts."""
    out = {}
    for i, scope in TF_CONVS.items():
        out[f"vggish/{scope}/weights"] = torch_state[f"features.{i}.weight"].permute(2, 3, 1, 0).contiguous()
        out[f"vggish/{scope}/biases"] = torch_state[f"features.{i}.bias"]
    for i, scope in TF_FCS.items():
        out[f"vggish/{scope}/weights"] = torch_state[f"embeddings.{i}.weight"].t().contiguous()
        out[f"vggish/{scope}/biases"] = torch_state[f"embeddings.{i}.bias"]
    return out


def test_tensorflow_variables_and_torchvggish_give_the_same_network(tmp_path):
    state = torchvggish_state(shapes_scale=16)
    save_file(tensorflow_state(state), str(tmp_path / "vggish_tf.safetensors"))
    save_file(state, str(tmp_path / "vggish_torch.safetensors"))
    from_tf = load_audio_encoder(str(tmp_path / "vggish_tf.safetensors"))
    from_torch = load_audio_encoder(str(tmp_path / "vggish_torch.safetensors"))
    wave = torch.randn(3, 20_000) * 0.1
    with torch.no_grad():
        expected = reference_forward(state, VGGishLogMel().patches(wave).reshape(3, 1, 96, 64))
        assert torch.allclose(from_torch(wave), expected, atol=1e-5)
        # the TensorFlow release has no ReLU after fc2; everything before it is the same
        assert torch.allclose(F.relu(from_tf(wave)), expected, atol=1e-5)
    assert not from_tf.net.final_relu and from_torch.net.final_relu
    # a saved encoder reloads under this package's own names
    torch.save(from_torch.state_dict(), tmp_path / "ours.pth")
    with torch.no_grad():
        assert torch.equal(load_audio_encoder(str(tmp_path / "ours.pth"))(wave), from_torch(wave))


def test_bad_vggish_weights_are_reported(tmp_path):
    state = torchvggish_state(shapes_scale=16)
    broken = dict(state)
    broken.pop("embeddings.4.bias")
    broken["features.0.weight"] = torch.zeros(4, 1, 5, 5)
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(WeightsError) as err:
        load_audio_encoder(str(tmp_path / "broken.pth"))
    assert "missing: net.fc2.bias" in str(err.value) and "mis-shaped: net.conv1.weight" in str(err.value)
    torch.save({**state, "features.99.weight": torch.zeros(1)}, tmp_path / "extra.pth")
    with pytest.raises(WeightsError, match="unexpected keys for VGGish: features.99.weight"):
        load_audio_encoder(str(tmp_path / "extra.pth"))
    torch.save({"encoder.layer.0.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="not VGGish's"):
        load_audio_encoder(str(tmp_path / "other.pth"))
    torch.save({"weights": state["features.0.bias"], "callback": print}, tmp_path / "pickle.pth")
    with pytest.raises(WeightsError, match="untrusted pickles are never loaded"):
        load_audio_encoder(str(tmp_path / "pickle.pth"))
    with pytest.raises(WeightsNotFoundError, match="not on the Hugging Face hub"):
        load_audio_encoder("vggish")


def test_pca_postprocessing_from_npz_and_pth(tmp_path):
    rng = np.random.default_rng(1)
    matrix, means = rng.standard_normal((16, 16)).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    np.savez(tmp_path / "pca.npz", pca_eigen_vectors=matrix, pca_means=means[:, None])
    torch.save({"pca_eigen_vectors": matrix, "pca_means": means}, tmp_path / "pca.pth")  # numpy arrays inside
    for name in ("pca.npz", "pca.pth"):
        got_matrix, got_means = read_pca_params(tmp_path / name)
        assert np.array_equal(got_matrix.numpy(), matrix) and np.array_equal(got_means.numpy(), means)
    state = torchvggish_state(shapes_scale=16)
    torch.save(state, tmp_path / "v.pth")
    plain = load_audio_encoder(str(tmp_path / "v.pth"))
    whitened = load_audio_encoder(str(tmp_path / "v.pth"), pca=tmp_path / "pca.npz")
    wave = torch.randn(2, 15_600) * 0.1
    with torch.no_grad():
        raw, post = plain(wave).numpy(), whitened(wave).numpy()
    expected = np.round((np.clip((raw - means) @ matrix.T, -2, 2) + 2) * 255 / 4)
    assert np.array_equal(post, expected) and post.min() >= 0 and post.max() <= 255


def test_random_encoders_share_the_interface():
    wave = torch.randn(2, 15_600) * 0.1
    for source, dim in (("random:vggish-tiny", 16), ("random:ast-tiny", 32)):
        encoder = load_audio_encoder(source)
        with torch.no_grad():
            out = encoder(wave)
        assert out.shape == (2, dim) and encoder.embed_dim == dim and encoder.sample_rate == RATE
        assert torch.isfinite(out).all() and not torch.allclose(out[0], out[1])
    with pytest.raises(WeightsError, match="unknown random audio encoder"):
        load_audio_encoder("random:wav2vec")


def test_an_ast_folder_loads_strictly_and_drops_the_classifier(tmp_path):
    from transformers import ASTForAudioClassification

    encoder = load_audio_encoder("random:ast-tiny")
    classifier = ASTForAudioClassification(encoder.model.config)
    classifier.save_pretrained(tmp_path / "ast")
    encoder.extractor.save_pretrained(tmp_path / "ast")
    loaded = load_audio_encoder(str(tmp_path / "ast"))
    wave = torch.randn(2, 15_600) * 0.1
    with torch.no_grad():
        expected = classifier.audio_spectrogram_transformer(
            input_values=encoder.extractor(list(wave.numpy()), sampling_rate=RATE, return_tensors="pt")["input_values"]
        ).pooler_output
        assert torch.allclose(loaded(wave), expected, atol=1e-5)
    (tmp_path / "clip").mkdir()
    (tmp_path / "clip" / "config.json").write_text('{"model_type": "clip"}')
    with pytest.raises(WeightsError, match="holds a 'clip' model"):
        load_audio_encoder(str(tmp_path / "clip"))
    from safetensors.torch import load_file

    weights = load_file(str(tmp_path / "ast" / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if "layernorm_before" not in k}, str(tmp_path / "ast" / "model.safetensors"))
    with pytest.raises(WeightsError, match="missing: .*layernorm_before"):
        load_audio_encoder(str(tmp_path / "ast"))


def test_an_audio_encoder_that_cannot_be_fetched_fails_with_one_clear_line(tmp_path):
    import subprocess
    import sys

    code = ("from openvidseg.models.audio import load_audio_encoder\nfrom openvidseg.errors import OpenVidSegError\n"
            "try:\n    load_audio_encoder('openvidseg-tests/no-such-ast')\n"
            "except OpenVidSegError as e:\n    print('ERR', e)\n")
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "ERR cannot get audio encoder weights 'openvidseg-tests/no-such-ast'" in out.stdout
    assert "--audio-encoder /path/to/vggish" in out.stdout and "Traceback" not in out.stdout + out.stderr

"""VGGish (Hershey et al., ICASSP 2017), written from its published architecture, behind `AudioEncoder`.

Log-mel patches (N, 1, 96, 64) -> conv3x3 64, pool, conv 128, pool, conv 256 x2, pool, conv 512 x2, pool
(every conv followed by ReLU; pools 2x2) -> (N, 512, 6, 4), flattened in height-width-channel order as
the TensorFlow original -> FC 4096, ReLU, FC 4096, ReLU, FC 128 (+ ReLU as in the torchvggish release
AVSBench uses). Layer names follow the TensorFlow variables (conv1, conv2, conv3_1, ..., fc1_1, fc1_2, fc2).
An optional post-processing whitens with PCA and quantises to 0..255, as the released AudioSet embeddings.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from openvidseg.models.audio.encoder import AudioEncoder
from openvidseg.models.audio.log_mel import NUM_BANDS, PATCH_FRAMES, VGGishLogMel

CONV_NAMES = ("conv1", "conv2", "conv3_1", "conv3_2", "conv4_1", "conv4_2")
FC_NAMES = ("fc1_1", "fc1_2", "fc2")
POOL_AFTER = ("conv1", "conv2", "conv3_2", "conv4_2")
QUANTIZE_RANGE = (-2.0, 2.0)


def vggish_config(kind: str = "vggish") -> dict:
    """The builder options of 'vggish' (the released size), 'vggish-small' (the demo world's) or 'vggish-tiny' (tests)."""
    if kind == "vggish-tiny":
        return {"channels": (4, 8, 8, 16), "hidden_dim": 32, "embed_dim": 16}
    if kind == "vggish-small":
        return {"channels": (8, 16, 32, 64), "hidden_dim": 128, "embed_dim": 64}
    return {"channels": (64, 128, 256, 512), "hidden_dim": 4096, "embed_dim": 128}


class VGGish(nn.Module):
    """Patches (N, 1, 96, 64) -> embeddings (N, embed_dim)."""

    def __init__(self, channels: tuple[int, int, int, int] = (64, 128, 256, 512), hidden_dim: int = 4096,
                 embed_dim: int = 128, final_relu: bool = True) -> None:
        super().__init__()
        c1, c2, c3, c4 = channels
        ins, outs = (1, c1, c2, c3, c3, c4), (c1, c2, c3, c3, c4, c4)
        for name, cin, cout in zip(CONV_NAMES, ins, outs):
            self.add_module(name, nn.Conv2d(cin, cout, kernel_size=3, padding=1))
        flat = c4 * (PATCH_FRAMES // 16) * (NUM_BANDS // 16)
        for name, fin, fout in zip(FC_NAMES, (flat, hidden_dim, hidden_dim), (hidden_dim, hidden_dim, embed_dim)):
            self.add_module(name, nn.Linear(fin, fout))
        self.final_relu = final_relu
        self.embed_dim = embed_dim

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = patches
        for name in CONV_NAMES:
            x = F.relu(getattr(self, name)(x))
            if name in POOL_AFTER:
                x = F.max_pool2d(x, 2)
        x = x.permute(0, 2, 3, 1).flatten(1)  # height, width, channel: TensorFlow's order
        x = F.relu(self.fc1_1(x))
        x = F.relu(self.fc1_2(x))
        x = self.fc2(x)
        return F.relu(x) if self.final_relu else x


class VGGishEncoder(AudioEncoder):
    """Waveform windows (B, L) at 16 kHz, L >= 15,600 -> (B, embed_dim): the VGGish embedding of each
    window's 0.96 s patches, averaged when a window holds several."""

    def __init__(self, channels: tuple[int, int, int, int] = (64, 128, 256, 512), hidden_dim: int = 4096,
                 embed_dim: int = 128, final_relu: bool = True) -> None:
        super().__init__()
        self.front_end = VGGishLogMel()
        self.net = VGGish(channels, hidden_dim, embed_dim, final_relu)
        self.embed_dim = embed_dim
        self.postprocess = False

    def set_pca(self, matrix: torch.Tensor, means: torch.Tensor) -> None:
        """Whiten with (D, D) `matrix` after subtracting (D,) `means`, then quantise to 0..255 (AudioSet's release)."""
        self.register_buffer("pca_matrix", matrix.float())
        self.register_buffer("pca_means", means.float().reshape(-1))
        self.postprocess = True

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        patches = self.front_end.patches(waveforms)  # (B, P, 96, 64)
        b, p = patches.shape[:2]
        embeddings = self.net(patches.reshape(b * p, 1, PATCH_FRAMES, NUM_BANDS)).reshape(b, p, -1)
        if self.postprocess:
            low, high = QUANTIZE_RANGE
            whitened = (embeddings - self.pca_means) @ self.pca_matrix.T
            embeddings = torch.round((whitened.clamp(low, high) - low) * (255.0 / (high - low)))
        return embeddings.mean(dim=1)

"""Loading the public VGGish weights, converted to `VGGish`'s layout and loaded strictly.

Layouts read (detected from the key names):
- torchvggish (the PyTorch port AVSBench and OV-AVSS use, `vggish-10086976.pth`): `features.{0,3,6,8,11,13}`
  (conv1, conv2, conv3_1, conv3_2, conv4_1, conv4_2) and `embeddings.{0,2,4}` (fc1_1, fc1_2, fc2), PyTorch
  shapes; its fc2 is followed by a ReLU;
- the TensorFlow variables of `vggish_model.ckpt`, exported under their names (`vggish/conv1/weights`
  (3, 3, 1, 64), `vggish/conv3/conv3_1/biases`, `vggish/fc1/fc1_1/weights` (12288, 4096), `vggish/fc2/weights`),
  e.g. to .safetensors: kernels are transposed to PyTorch's order; the TensorFlow fc2 has no ReLU;
- this package's own names (conv1.weight, ..., fc2.bias).
Files are read with safetensors or `torch.load(weights_only=True)`; every missing, unexpected or
mis-shaped key is reported.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from openvidseg.errors import WeightsError
from openvidseg.models.audio.vggish import CONV_NAMES, FC_NAMES, VGGishEncoder
from openvidseg.weights import StateDict, build_with_weights, read_state_dict

TORCHVGGISH_CONVS = (0, 3, 6, 8, 11, 13)  # indices of the convolutions in torchvggish's `features`
TORCHVGGISH_FCS = (0, 2, 4)  # indices of the linear layers in its `embeddings`
TF_SCOPES = {"conv1": "vggish/conv1", "conv2": "vggish/conv2", "conv3_1": "vggish/conv3/conv3_1",
             "conv3_2": "vggish/conv3/conv3_2", "conv4_1": "vggish/conv4/conv4_1", "conv4_2": "vggish/conv4/conv4_2",
             "fc1_1": "vggish/fc1/fc1_1", "fc1_2": "vggish/fc1/fc1_2", "fc2": "vggish/fc2"}
PCA_KEYS = ("pca_eigen_vectors", "pca_means")


def detect_vggish_layout(state: StateDict) -> str:
    """'torchvggish', 'tensorflow' or 'openvidseg'; WeightsError for anything else."""
    if any(k.startswith("features.") for k in state) and any(k.startswith("embeddings.") for k in state):
        return "torchvggish"
    if any(k.startswith("vggish/") for k in state):
        return "tensorflow"
    if "conv1.weight" in state and "fc2.weight" in state:
        return "openvidseg"
    shown = ", ".join(sorted(state)[:4])
    raise WeightsError(f"these weights are not VGGish's (keys: {shown}, ...): expected the torchvggish release "
                       "(features.*, embeddings.*) or the TensorFlow variables (vggish/conv1/weights, ...)")


def _rename_strict(state: StateDict, mapping: dict[str, str], source: str) -> StateDict:
    """Rename every key by `mapping`; a key outside it is an error (a wrong file, not a key to drop)."""
    unexpected = sorted(k for k in state if k not in mapping)
    if unexpected:
        raise WeightsError(f"{source}: unexpected keys for VGGish: {', '.join(unexpected[:6])}")
    return {mapping[k]: v for k, v in state.items()}


def torchvggish_to_openvidseg(state: StateDict, source: str = "weights") -> StateDict:
    """torchvggish names -> VGGish's (`net.` prefix added by the caller); shapes are already PyTorch's."""
    mapping = {}
    for index, name in zip(TORCHVGGISH_CONVS, CONV_NAMES):
        mapping.update({f"features.{index}.weight": f"{name}.weight", f"features.{index}.bias": f"{name}.bias"})
    for index, name in zip(TORCHVGGISH_FCS, FC_NAMES):
        mapping.update({f"embeddings.{index}.weight": f"{name}.weight", f"embeddings.{index}.bias": f"{name}.bias"})
    return _rename_strict(state, mapping, source)


def tensorflow_to_openvidseg(state: StateDict, source: str = "weights") -> StateDict:
    """TensorFlow variable names and layouts -> VGGish's: conv kernels (kh, kw, in, out) -> (out, in, kh, kw),
    dense kernels (in, out) -> (out, in). Optimiser slots and the global step are not accepted."""
    mapping = {}
    for name, scope in TF_SCOPES.items():
        mapping.update({f"{scope}/weights": f"{name}.weight", f"{scope}/biases": f"{name}.bias"})
    renamed = _rename_strict(state, mapping, source)
    out = {}
    for key, value in renamed.items():
        if key.endswith(".weight"):
            value = value.permute(3, 2, 0, 1) if value.ndim == 4 else value.t()
        out[key] = value.contiguous()
    return out


def read_pca_params(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(matrix (D, D), means (D,)) from VGGish's PCA file: the AudioSet release's .npz, or the torchvggish .pth
    (a dict of the same two arrays), read without executing pickled code."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"VGGish PCA parameters not found: {path}")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                found = {k: torch.from_numpy(np.asarray(data[k], dtype=np.float32)) for k in data.files}
        except (OSError, ValueError) as err:
            raise WeightsError(f"cannot read {path} as a .npz archive: {err}") from err
    else:
        found = _read_array_dict(path)
    missing = [k for k in PCA_KEYS if k not in found]
    if missing:
        raise WeightsError(f"{path} lacks {', '.join(missing)}: not VGGish's PCA parameters")
    matrix, means = found["pca_eigen_vectors"].float(), found["pca_means"].float().reshape(-1)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != means.numel():
        raise WeightsError(f"{path}: PCA matrix {tuple(matrix.shape)} and means {tuple(means.shape)} do not fit together")
    return matrix, means


def _read_array_dict(path: Path) -> dict[str, torch.Tensor]:
    """A torch-saved dict of tensors or numpy arrays, loaded with weights_only (numpy's array rebuilders allowed)."""
    try:
        return read_state_dict(path)
    except WeightsError:
        pass
    allowed = [np.ndarray, np.dtype, np.dtypes.Float32DType, np.dtypes.Float64DType]
    allowed += [getattr(getattr(np, "_core", np.core).multiarray, "_reconstruct")]
    try:
        with torch.serialization.safe_globals(allowed):
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsError(f"cannot read {path} safely ({type(err).__name__}: {err}): convert it to .npz") from err
    if not isinstance(obj, dict):
        raise WeightsError(f"{path} does not hold a dict of arrays")
    return {str(k): torch.as_tensor(np.asarray(v)) for k, v in obj.items()}


def _check_architecture(state: StateDict, source: str) -> dict:
    """The VGGishEncoder options that fit the converted `state` (the released size or a smaller one)."""
    try:
        channels = tuple(int(state[f"{n}.weight"].shape[0]) for n in ("conv1", "conv2", "conv3_1", "conv4_1"))
        hidden, embed = int(state["fc1_1.weight"].shape[0]), int(state["fc2.weight"].shape[0])
    except KeyError as err:
        raise WeightsError(f"{source}: VGGish weights lack {err.args[0]}") from None
    return {"channels": channels, "hidden_dim": hidden, "embed_dim": embed}


def load_vggish(path: str | Path, *, pca: str | Path | None = None, final_relu: bool | None = None) -> VGGishEncoder:
    """A `VGGishEncoder` with the weights in `path` (any layout above), converted and loaded strictly.

    final_relu: whether fc2 is followed by a ReLU (default: as the layout's release, True for torchvggish).
    """
    source = str(path)
    state = {re.sub(r"^net\.", "", k): v for k, v in read_state_dict(path).items()}  # a saved VGGishEncoder
    layout = detect_vggish_layout(state)
    if layout == "torchvggish":
        state = torchvggish_to_openvidseg(state, source)
    elif layout == "tensorflow":
        state = tensorflow_to_openvidseg(state, source)
    options = _check_architecture(state, source)
    relu = (layout != "tensorflow") if final_relu is None else final_relu
    encoder = build_with_weights(lambda: VGGishEncoder(**options, final_relu=relu),
                                 {f"net.{k}": v for k, v in state.items()}, source, "VGGish",
                                 rebuild_buffers=_front_end_buffer)
    if pca is not None:
        encoder.set_pca(*read_pca_params(pca))
    encoder.name = source
    return encoder


def _front_end_buffer(module: torch.nn.Module, name: str, meta: torch.Tensor) -> torch.Tensor:
    """The log-mel front end's constant window and mel matrix (not stored in weight files)."""
    from openvidseg.models.audio.log_mel import VGGishLogMel

    return getattr(VGGishLogMel(), name)

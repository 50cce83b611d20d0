"""Shared fixtures. Everything runs on the CPU with tiny random models and no network; tests that use
the small real data in ../shared/data skip with a reason when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests run tiny models made of many small ops; on a 2-core machine a second OpenMP thread only adds
# synchronisation (measured here: up to 50-100x slower steps). Set before torch is imported, so this
# process and every subprocess a test starts (torchrun, the CLI) use one thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (small real data), or skip."""
    folder = SHARED / "data"
    if not folder.is_dir():
        pytest.skip(f"shared real data not present at {folder}")
    return folder


@pytest.fixture(scope="session")
def shared_tools() -> Path:
    """../shared/tools (make_random_clip.py, ...), or skip."""
    folder = SHARED / "tools"
    if not (folder / "make_random_clip.py").is_file():
        pytest.skip(f"shared tools not present at {folder}")
    return folder


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One intra-op thread for the whole session (see OMP_NUM_THREADS above)."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def all_cores():
    """Every core for a test of a real-size model (large ops do gain from threads)."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    yield
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_clip():
    """A tiny random-weight CLIP (4 vision layers, width 64), shared by the session: do not modify it."""
    from openvidseg.clip import load_clip

    return load_clip("random:tiny")


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory) -> Path:
    """One cache of generated worlds and pretrained world CLIPs for the session's demo runs (the semantic and the
    instance demo share the quick world CLIP: pretrained once)."""
    return tmp_path_factory.mktemp("demo_cache")

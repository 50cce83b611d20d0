"""Hugging Face Space entry: the openvidseg web app (the same as `openvidseg app`).

Run it here with `python app.py` (http://127.0.0.1:7860), or push the repository to a Gradio Space (see the
README, "Web app"). Configured by environment variables (a Space's variables): OPENVIDSEG_APP_MODELS
(comma-separated registered models; default dense_clip_vitb16), OPENVIDSEG_APP_CHECKPOINT,
OPENVIDSEG_APP_CLIP, OPENVIDSEG_APP_DEVICE, OPENVIDSEG_APP_MAX_UPLOAD_MB, OPENVIDSEG_APP_MAX_SECONDS,
OPENVIDSEG_APP_CONCURRENCY, OPENVIDSEG_APP_QUEUE_SIZE, OPENVIDSEG_APP_KEEP_MINUTES, OPENVIDSEG_APP_EXAMPLES.
The address is Gradio's: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (a Space sets them), else 127.0.0.1:7860.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import openvidseg  # noqa: F401  (installed, e.g. pip install -e ".[app]")
except ImportError:  # a Space runs the repository as it is: use its source tree
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))


def main() -> None:
    from openvidseg.app.server import launch_app
    from openvidseg.app.settings import settings_from_env

    launch_app(settings_from_env(os.environ), host=None, port=None)


if __name__ == "__main__":
    main()

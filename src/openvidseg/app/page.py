"""The Gradio page: inputs on the left (video or example, class names or a class file, model, options),
results on the right (status with a progress bar, the latest segmented frame while a job runs, then the
overlay video, a per-class table, a stacked bar chart of class shares over time, and the downloads).

The run handler is a generator: it starts a `SegmentJob` and yields a snapshot about once a second, so
long videos show results as they come. Every `OpenVidSegError` becomes a `gr.Error` with its one-line
message; any other failure is logged on the server and shown as one line too, never a traceback.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr
import pandas as pd

from openvidseg.app.job import SEGMENTING, WAITING, Snapshot
from openvidseg.app.request import prepare_request
from openvidseg.app.runtime import AppRuntime
from openvidseg.app.timeline import NO_CLASS_LABEL, clock
from openvidseg.errors import OpenVidSegError
from openvidseg.vocabulary import read_class_file

log = logging.getLogger("openvidseg.app")

TITLE = "openvidseg: open-vocabulary video segmentation"
INTRO = ("Upload a video (or pick an example), type the classes you are looking for, and press **Segment**: "
         "every pixel of every frame gets one of your classes, including classes no model was trained on.")
TABLE_HEADERS = ["class", "share of pixels", "frames", "first seen", "last seen"]
NO_CLASS_COLOR = "#9a9a9a"
UPDATE_INTERVAL_S = 1.0
CSS = """
#status { min-height: 2.5em; }
#stats * { font-family: var(--font) !important; }
.swatch { display: inline-block; width: 0.85em; height: 0.85em; border-radius: 2px; margin-right: 0.45em;
          vertical-align: -0.1em; border: 1px solid rgba(0, 0, 0, 0.25); }
"""


def hex_color(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))


def statistics_table(snapshot: Snapshot) -> pd.DataFrame:
    """Per class, largest share first: colour swatch and name, share, frames present, first/last appearance."""
    classes = sorted(snapshot.statistics["classes"], key=lambda c: -c["pixel_share"])
    rows = []
    for entry in classes:
        swatch = f'<span class="swatch" style="background:{hex_color(entry["color"])}"></span>'
        seen = entry["frames"] > 0
        rows.append([swatch + entry["name"], f"{100 * entry['pixel_share']:.1f} %",
                     f"{entry['frames']} / {snapshot.frames}", clock(entry["first_time_s"]) if seen else "-",
                     clock(entry["last_time_s"]) if seen else "-"])
    no_class = snapshot.statistics.get("no_class_share", 0.0)
    if no_class > 0:
        swatch = f'<span class="swatch" style="background:{NO_CLASS_COLOR}"></span>'
        rows.append([swatch + NO_CLASS_LABEL, f"{100 * no_class:.1f} %", "", "", ""])
    return pd.DataFrame(rows, columns=TABLE_HEADERS)


def share_chart(snapshot: Snapshot) -> dict[str, Any]:
    """The stacked bar chart of class shares per time bin, in the overlay's colours (an update of its props)."""
    colors = {name: hex_color(rgb) for name, rgb in snapshot.colors.items()}
    colors[NO_CLASS_LABEL] = NO_CLASS_COLOR
    frame = pd.DataFrame(snapshot.timeline, columns=["time", "class", "share"])
    return gr.update(value=frame, color_map=colors, sort=snapshot.time_labels)


def status_line(snapshot: Snapshot) -> str:
    if snapshot.result is not None:
        summary = snapshot.result.summary
        done = summary.get("frames", snapshot.frames)
        if snapshot.result.error:
            return f"**Stopped after {done} frames** ({snapshot.result.error}): the results cover these frames."
        speed = f" ({summary['frames_per_s']:.1f} frames/s)" if summary.get("frames_per_s") else ""
        return f"**Done:** {done} frames in {summary.get('elapsed_s', snapshot.elapsed):.1f} s{speed}."
    if snapshot.phase == WAITING:
        return "Loading the model (the first job of a model takes longest) ..."
    of = f" of {snapshot.total}" if snapshot.total else ""
    speed = f", {snapshot.frames_per_s:.1f} frames/s" if snapshot.frames_per_s else ""
    return f"Segmenting: frame {snapshot.frames}{of}{speed}"


def view(snapshot: Snapshot) -> tuple[Any, ...]:
    """The outputs (status, preview, overlay, table, chart, downloads) for one snapshot. Updates are
    `gr.update` dicts: a component made with a value would encode it at once, and again when sent."""
    result = snapshot.result
    if result is None:
        preview = gr.update(value=snapshot.preview, visible=True)
        overlay, downloads = gr.update(value=None, visible=False), None
    else:
        preview = gr.update(value=None, visible=False)
        overlay = gr.update(value=str(result.overlay), visible=True)
        downloads = [str(result.masks_zip), str(result.summary_file)]
    return status_line(snapshot), preview, overlay, statistics_table(snapshot), share_chart(snapshot), downloads


def classes_from_file(path: str | None, current: str) -> str:
    """The class names of an uploaded class file, comma-separated (the text box keeps `current` on error)."""
    if not path:
        return current
    try:
        return ", ".join(read_class_file(path))
    except OpenVidSegError as err:
        gr.Warning(str(err).replace(str(path), "the class file"))
        return current


def build_page(runtime: AppRuntime) -> gr.Blocks:
    """The page's Blocks (not launched): see server.launch_app."""
    settings = runtime.settings

    def segment(video: str | None, classes: str, model: str, background: bool, min_confidence: float, alpha: float,
                request: gr.Request, progress: gr.Progress = gr.Progress()) -> Iterator[tuple[Any, ...]]:
        try:
            job_request = prepare_request(settings, video, classes, model=model, background=background, alpha=alpha,
                                          min_confidence=min_confidence)
        except OpenVidSegError as err:
            raise gr.Error(str(err), title="Cannot segment", print_exception=False) from None
        owner = getattr(request, "session_hash", None)
        job = runtime.start(job_request, owner)
        try:
            for snapshot in job.updates(UPDATE_INTERVAL_S):
                if snapshot.result is None and snapshot.phase == SEGMENTING:
                    progress((snapshot.frames, snapshot.total), desc="Segmenting", unit="frames")
                yield view(snapshot)
        except OpenVidSegError as err:
            raise gr.Error(str(err), title="Segmentation failed", print_exception=False) from None
        except Exception as err:  # a bug or a broken environment: one line in the page, the traceback in the log
            log.exception("job failed")
            raise gr.Error(f"segmentation failed ({type(err).__name__}: {err}); the server log has the details",
                           title="Segmentation failed", print_exception=False) from None
        finally:
            runtime.finish(owner, job)

    def stop_job(request: gr.Request) -> None:
        """The Stop button: the session's job ends at its next frame and shows what it did so far."""
        runtime.stop(getattr(request, "session_hash", None))

    limits = []
    if settings.max_upload_mb is not None:
        limits.append(f"{settings.max_upload_mb:g} MB")
    if settings.max_seconds is not None:
        limits.append(f"{settings.max_seconds:g} s")
    with gr.Blocks(title=TITLE, delete_cache=(600, int(settings.keep_minutes * 60))) as page:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                video = gr.Video(label="Video", sources=["upload"], elem_id="input-video", height=260)
                classes = gr.Textbox(label="Classes", placeholder="person, dog, ball", elem_id="classes",
                                     info="class names separated by commas", max_lines=3)
                class_file = gr.File(label="... or a class file (one name per line)", file_types=[".txt"],
                                     elem_id="class-file", height=120)
                model = gr.Dropdown([c.label for c in settings.models], value=settings.models[0].label, label="Model",
                                    elem_id="model", interactive=len(settings.models) > 1)
                with gr.Accordion("Options", open=False):
                    background = gr.Checkbox(label='add a "background" class for everything else', value=False)
                    min_confidence = gr.Slider(0.0, 0.95, value=0.0, step=0.05, label="minimum confidence",
                                               info="pixels whose best class is less likely get no class (0 = off)")
                    alpha = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="overlay opacity")
                with gr.Row():
                    run = gr.Button("Segment", variant="primary", elem_id="run")
                    stop = gr.Button("Stop", variant="secondary", elem_id="stop")
                if limits:
                    gr.Markdown(f"Videos up to {' and '.join(limits)}.", elem_id="limits")
                if runtime.examples:
                    gr.Examples([[str(e.video), e.classes] for e in runtime.examples], inputs=[video, classes],
                                label="Examples (generated videos)", examples_per_page=4, elem_id="examples")
            with gr.Column(scale=3, min_width=420):
                status = gr.Markdown("Results appear here.", elem_id="status")
                preview = gr.Image(label="Latest segmented frame", visible=False, interactive=False, elem_id="preview",
                                   height=360)
                overlay = gr.Video(label="Overlay", interactive=False, elem_id="overlay", height=360, loop=True)
                table = gr.Dataframe(headers=TABLE_HEADERS, datatype=["html", "str", "str", "str", "str"],
                                     label="Classes found", interactive=False, elem_id="stats", wrap=True)
                chart = gr.BarPlot(x="time", y="share", color="class", title="Class shares over time",
                                   x_title="time (m:ss)", y_title="share of pixels (%)", elem_id="chart",
                                   y_lim=[0, 100], x_label_angle=-45, height=280)
                downloads = gr.File(label="Downloads (masks zip, summary.json)", file_count="multiple",
                                    interactive=False, elem_id="downloads")
        class_file.change(classes_from_file, [class_file, classes], classes, api_visibility="private")
        run.click(segment, [video, classes, model, background, min_confidence, alpha],
                  [status, preview, overlay, table, chart, downloads], api_name="segment",
                  concurrency_limit=settings.concurrency, show_progress_on=status)
        stop.click(stop_job, None, None, queue=False, api_visibility="private")
    return page

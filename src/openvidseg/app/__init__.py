"""The web app (`openvidseg app`, and app.py as a Hugging Face Space): upload a video or pick a generated
example, type class names, watch the segmentation come in; download the masks and the summary.

A thin layer over the segment API: each job runs `inference.outputs.write_outputs` (the files of
`openvidseg segment`) in a folder of its own. Gradio is an optional extra (`pip install
'openvidseg[app]'`), imported only by page.py and server.py.

    settings.py  what a server is started with (models offered, limits, queue)
    request.py   checking a user's input before a job starts
    job.py       one job in a thread, read as live snapshots
    timeline.py  class shares over time in bounded memory
    models.py    models loaded once and shared by jobs
    examples.py  generated example videos
    runtime.py   the server's temporary folder, models and examples
    page.py      the Gradio page
    server.py    launching it (offline, 127.0.0.1 by default)
"""

"""The app in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`, driven by
Selenium through /usr/bin/chromedriver; nothing downloads a driver or a browser) uploads a generated
video, types classes, runs, and waits for the result: the overlay video plays, the table lists the
classes, the chart and the downloads are there, and every request the page made went to the app
itself (offline). An example fills the inputs; a run without classes shows the message in the page.
The screenshot is saved in the test's temporary folder. Skips with a reason when Chromium is not
installed (.ci/run installs it)."""
from __future__ import annotations

import pytest
from app_helpers import (
    CHROMEDRIVER,
    CHROMIUM,
    chromium,
    requested_urls,
    segment_in_page,
    start_tiny_app,
    text,
    wait_for,
)
from PIL import Image
from segment_reference import scene, write_video

from openvidseg.app.request import NO_CLASSES

CLASSES = ["red wall", "blue sky", "green ball"]

pytestmark = [
    pytest.mark.skipif(not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
                       reason="Chromium is not installed (apt-get install chromium chromium-driver)"),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    pytest.importorskip("selenium", reason="the browser test needs the dev extra (selenium)")
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    server = start_tiny_app(tmp_path_factory.mktemp("app"))
    yield server
    server.close()


def test_upload_classes_run_and_see_the_results(browser, app, tmp_path):
    from selenium.webdriver.common.by import By

    video = write_video(tmp_path / "street.mp4", scene(24), rate=12)
    source = segment_in_page(browser, app.url, video, ", ".join(CLASSES))
    assert source.startswith(app.url) and source.endswith("overlay.mp4")
    width = wait_for(browser, lambda d: d.execute_script(
        "const v = document.querySelector('#overlay video'); return v.readyState >= 2 && v.videoWidth"),
        timeout=30, what="the overlay to be playable")
    assert width == 96  # the browser decoded the overlay at the video's own size
    assert text(browser, "#status").startswith("Done: 24 frames")
    table = wait_for(browser, lambda d: text(d, "#stats") if "green ball" in text(d, "#stats") else "", timeout=10,
                     what="the statistics table")
    assert all(name in table for name in CLASSES) and "share of pixels" in table
    assert browser.find_elements(By.CSS_SELECTOR, "#chart canvas, #chart svg"), "the bar chart was not drawn"
    downloads = text(browser, "#downloads").replace("\n", "")  # the list shows name and suffix apart
    assert "masks.zip" in downloads and "summary.json" in downloads
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot = tmp_path / "app.png"
    assert browser.save_screenshot(str(screenshot))
    with Image.open(screenshot) as picture:
        assert picture.size[0] >= 1000 and len(picture.getcolors(2**24)) > 100  # a rendered page, not a blank one
    outside = [url for url in requested_urls(browser) if not url.split("://")[1].startswith(app.url.split("://")[1])]
    assert not outside, f"the page fetched from outside the app: {outside[:5]}"
    print(f"screenshot: {screenshot}")  # shown with -s, to look at it


def test_an_example_fills_the_inputs_and_no_classes_shows_the_message(browser, app):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(app.url)
    examples = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#examples tbody tr"), what="the examples")
    examples[0].click()
    field = browser.find_element(By.CSS_SELECTOR, "#classes textarea, #classes input")
    wait_for(browser, lambda d: field.get_attribute("value") == app.runtime.examples[0].classes, timeout=30,
             what="the example's classes")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#input-video video"), timeout=30,
             what="the example's video")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    browser.find_element(By.CSS_SELECTOR, "#run").click()
    wait_for(browser, lambda d: NO_CLASSES in d.find_element(By.TAG_NAME, "body").text, timeout=30,
             what="the error message")
    assert "Traceback" not in browser.find_element(By.TAG_NAME, "body").text

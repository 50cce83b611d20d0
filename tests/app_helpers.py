"""Helpers for the web app's tests (and docs/make_app_screenshot.py): a free local port, the app served with
the tiny random model, and headless Chromium driven through Selenium with the system's chromedriver."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from openvidseg.app.settings import AppSettings, ModelChoice

TINY = ModelChoice("dense_clip_tiny", "dense_clip_tiny")
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")
OVERLAY_SOURCE = "const v = document.querySelector('#overlay video'); return v && v.src"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_tiny_app(parent: Path, **settings):
    """The app on 127.0.0.1:<free port> with dense_clip_tiny on the CPU, its files under `parent`."""
    from openvidseg.app.server import launch_app

    options = {"models": (TINY,), "device": "cpu", **settings}
    return launch_app(AppSettings(**options), "127.0.0.1", free_port(), block=False, parent=parent, quiet=True)


def chromium(profile: Path, width: int = 1400, height: int = 1400):
    """Headless Chromium from /usr/bin through /usr/bin/chromedriver, with a new empty profile and the
    network log on. Selenium Manager (which would download a driver or a browser) must not run: its
    entry point is replaced by one that fails."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common import selenium_manager

    def no_downloads(*args, **kwargs):
        raise AssertionError("Selenium Manager was asked for a driver or browser: nothing may be downloaded")

    selenium_manager.SeleniumManager.binary_paths = no_downloads
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    return driver


def wait_for(driver, condition, timeout: float = 120.0, what: str = "the page"):
    """Poll `condition(driver)` until it returns something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition(driver)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def text(driver, selector: str) -> str:
    """The visible text of the first element matching `selector` ('' when there is none)."""
    return driver.execute_script(f"const e = document.querySelector({selector!r}); return e ? e.innerText : ''")


def segment_in_page(driver, url: str, video: Path, classes: str, timeout: float = 120.0) -> str:
    """Open the app, upload `video`, type `classes`, press Segment, wait for the overlay; its source URL."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    upload = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#input-video input[type=file]"),
                      what="the video upload field")
    upload[0].send_keys(str(video))
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#input-video video"), what="the uploaded video")
    driver.find_element(By.CSS_SELECTOR, "#classes textarea, #classes input").send_keys(classes)
    driver.find_element(By.CSS_SELECTOR, "#run").click()
    return wait_for(driver, lambda d: d.execute_script(OVERLAY_SOURCE), timeout=timeout, what="the overlay video")


def requested_urls(driver) -> list[str]:
    """Every http(s)/ws URL the page requested so far (Chromium's network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            url = message["params"].get("request", {}).get("url") or message["params"].get("url", "")
            if url.split(":")[0] in ("http", "https", "ws", "wss"):
                urls.append(url)
    return urls

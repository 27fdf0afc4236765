"""The status page in a real browser: Debian's headless Chromium driven by Selenium through
Debian's chromium-driver, loading ``/status`` from a real server. Components with their
states in words, a public update appearing once it is published, nothing private anywhere in
the DOM, a phone-width layout that does not scroll sideways, dark mode from the system's
preference, landmarks. Screenshots at phone and desktop widths are kept in
``tests/artifacts/status-page/`` (git-ignored).

Without Chromium the test is skipped, except under ``CI=true`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from statuskit import API, StatusServer, assert_nothing_private, status_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "status-page"
PHONE, DESKTOP = (390, 844), (1280, 900)


def _binaries() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        message = "Chromium and its driver are not installed (apt-get install chromium " \
                  "chromium-driver)"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    return browser, driver


@pytest.fixture(scope="module")
def status(db_url) -> Iterator[StatusServer]:
    with status_server(db_url("sqlite")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = _binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--force-device-scale-factor=1",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    # the driver's path is given, so Selenium Manager never tries to download one
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()


def _open(chrome, status: StatusServer, size: tuple[int, int]) -> None:
    # the viewport, not the window: headless window sizes include no browser chrome
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1,
        "mobile": size[0] < 600})
    chrome.get(f"{status.live.base_url}/status")


def _shot(chrome, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    # the whole page: its full height at this width
    height = chrome.execute_script("return document.documentElement.scrollHeight")
    width = chrome.execute_script("return window.innerWidth")
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    assert chrome.save_screenshot(str(path))
    assert path.stat().st_size > 1000
    return path


def test_the_status_page_in_chromium(status, browser):
    from selenium.webdriver.common.by import By

    _open(browser, status, DESKTOP)
    assert browser.title == "Service status"
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".component .name")]
    assert names == ["Checkout", "Payments", "Storefront"]
    states = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".component .state")]
    assert states == ["Operational"] * 3  # every colour has its words
    assert not browser.find_elements(By.CSS_SELECTOR, "article.incident")
    for landmark in ("header[role=banner]", "main#main", "footer[role=contentinfo]"):
        assert browser.find_elements(By.CSS_SELECTOR, landmark), landmark
    bars = browser.find_elements(By.CSS_SELECTOR, "#component-checkout ol.bars li")
    assert len(bars) == 90
    assert bars[-1].get_attribute("textContent").endswith("Operational")

    with status.client("responder") as client:
        answer = client.post(f"{API}/incidents/{status.incident['id']}/public-update", json={
            "public_text": "Some payments fail at checkout. We are rolling back a change.",
            "components": {"checkout": "partial_outage"}})
        assert answer.status_code == 201, answer.text
    browser.refresh()
    [article] = browser.find_elements(By.CSS_SELECTOR, "article.incident")
    assert "Affecting Checkout" in article.text
    assert "Some payments fail at checkout. We are rolling back a change." in article.text
    checkout = browser.find_element(By.CSS_SELECTOR, "#component-checkout .state")
    assert checkout.text == "Partial outage"
    assert_nothing_private(browser.page_source)
    assert_nothing_private(browser.find_element(By.TAG_NAME, "body").text)
    _shot(browser, "desktop.png")

    _open(browser, status, PHONE)
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"), \
        "the page scrolls sideways on a phone"
    _shot(browser, "phone.png")

    light = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    _open(browser, status, PHONE)
    dark = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert light == "rgb(255, 255, 255)" and dark == "rgb(13, 17, 23)"
    _shot(browser, "phone-dark.png")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

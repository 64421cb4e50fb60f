"""Run the demo as a newcomer would and drive it with Debian's Chromium.

`python manage.py demo` starts web (gunicorn), the relay and the three workers
as child processes on a private SQLite database and filesystem broker, so the
pages show what really travels. Playwright drives /usr/bin/chromium (never a
downloaded browser); without it, or without playwright, the tests skip, and
fail instead under REQUIRE_SERVICES=1.
"""

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

from tests.conftest import service_missing
from tests.demo_process import demo_running

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTEFACTS = Path(settings.BASE_DIR) / "test-artefacts" / "browser"
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium():
    """Chromium through Playwright's sync API, launched once per module."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        service_missing(
            f"needs Chromium at {CHROMIUM} (apt-get install -y chromium) and "
            "playwright (pip install -r requirements.txt)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing(
            f"needs Chromium at {CHROMIUM} and playwright "
            "(pip install -r requirements.txt)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """Start `manage.py demo` on a free port; yield its base URL; stop it."""
    with demo_running(tmp_path_factory.mktemp("demo")) as demo:
        yield demo.base


@dataclass
class Watched:
    """A page with what it logged and which hosts it asked, and its screenshots."""

    page: object
    base: str
    name: str
    console_errors: list[str] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)

    def shot(self, step: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def go(self, path: str):
        return self.page.goto(self.base + path)

    def assert_clean(self) -> None:
        assert self.console_errors == []
        assert self.hosts == {urlparse(self.base).netloc}


@pytest.fixture
def open_page(chromium, demo_app, request):
    """Return a function opening a fresh browser context at a viewport size."""
    contexts = []

    def make(name: str, viewport: dict) -> Watched:
        context = chromium.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        watched = Watched(page=page, base=demo_app, name=name)
        page.on(
            "console",
            lambda message: (
                watched.console_errors.append(message.text)
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: watched.console_errors.append(str(error)))
        page.on(
            "request",
            lambda req: (
                watched.hosts.add(urlparse(req.url).netloc)
                if req.url.startswith("http")
                else None
            ),
        )
        return watched

    yield make
    for context in contexts:
        context.close()

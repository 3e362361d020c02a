"""What the browser tests do on every service's pages: open them at a desktop's width and a phone's, ask axe what is
seriously wrong, and sign in.

`watched_page` is a page in a fresh context at one of `WIDTHS` (the `sized` fixture in conftest.py gives each in
turn) that notes in `page.refused` what the Content-Security-Policy refused; `looks_right` is what every such page
must be: nothing serious for axe, no sideways scrolling, nothing refused.

`serious_violations` is axe-core's answer cut to what fails a page: each serious or critical violation, with the
first three elements it found. `sign_in_with_form` fills triage's sign-in form (every service's staff pages send
the browser there); `sign_in_through_session` signs in through triage's session API, in the browser's own cookie
jar, for the tests of another service's pages that leave the form to triage's own tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

PASSWORD = "a long enough password"
WIDTHS = {"desktop": 1280, "phone": 390}


def watched_page(browser: Browser, width: str) -> Iterator[Page]:
    """A page at WIDTHS[width] (named in `page.width_name`), UK locale and time, that notes in `page.refused`
    anything the Content-Security-Policy refused."""
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London",
                                  viewport={"width": WIDTHS[width], "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.width_name = width  # type: ignore[attr-defined]
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.refused = refused  # type: ignore[attr-defined]
    yield page
    context.close()


def looks_right(page: Page) -> None:
    """A watched page as it is now: no serious or critical axe violation, no sideways scrolling, nothing refused."""
    serious = serious_violations(page)
    assert serious == [], f"{page.url}: {serious}"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
        f"{page.url} scrolls sideways"
    assert page.refused == [], f"{page.url}: the Content-Security-Policy refused {page.refused}"  # type: ignore[attr-defined]


def serious_violations(page: Page) -> list[dict[str, Any]]:
    violations: list[dict[str, Any]] = Axe().run(page).response["violations"]
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in violations if v["impact"] in ("serious", "critical")]


def sign_in_with_form(page: Page, username: str, at: str | None = None, password: str = PASSWORD) -> None:
    """Triage's sign-in form, opened at `at` (else the one the page shows), filled in and sent."""
    if at is not None:
        page.goto(at)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_through_session(page: Page, urls: dict[str, str], username: str, path: str,
                            password: str = PASSWORD) -> None:
    """Open `path` of assessment signed out: it sends the browser to triage's sign-in; signed in through triage's
    session API, in the browser's own cookie jar, the page opens."""
    page.goto(urls["assessment"] + path)
    assert page.url.startswith(urls["triage"] + "/login?next="), page.url
    signed = page.context.request.post(urls["triage"] + "/v1/session",
                                       data={"username": username, "password": password})
    assert signed.status == 200, signed.text()
    page.goto(urls["assessment"] + path)

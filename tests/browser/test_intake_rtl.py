"""Numbers on the Arabic and Urdu pages read left to right where the browser draws them.

A phone number shown reversed ("9111 168 0808") would be dialled wrong on a safeguarding page, so
these tests read where Chromium places each group of digits, not the order of the DOM string.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from shared.migrate import upgrade
from tests.support.infra import create_database, drop_database
from tests.support.services import ServiceProcess

RTL = ["ar", "ur"]

# For each occurrence of `value` inside the elements matching `selector`: the left edge of each of its
# groups as drawn (groups are split at spaces, slashes, '@' and dots; a value without separators is
# measured character by character).
DRAWN_LEFT_EDGES = """
([selector, value]) => {
  const units = (text) => {
    const groups = [];
    const re = /[^\\s\\/@.]+/g;
    let m;
    while ((m = re.exec(text)) !== null) { groups.push([m.index, m.index + m[0].length]); }
    return groups.length > 1 ? groups : [...text].map((_, i) => [i, i + 1]);
  };
  const found = [];
  for (const root of document.querySelectorAll(selector)) {
    const nodes = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let text = "";
    while (walker.nextNode()) { nodes.push([walker.currentNode, text.length]); text += walker.currentNode.data; }
    const at = (index) => {
      let chosen = nodes[0];
      for (const entry of nodes) { if (entry[1] <= index) { chosen = entry; } }
      return [chosen[0], index - chosen[1]];
    };
    for (let start = text.indexOf(value); start >= 0; start = text.indexOf(value, start + 1)) {
      found.push(units(value).map(([from, to]) => {
        const range = document.createRange();
        range.setStart(...at(start + from));
        range.setEnd(...at(start + to - 1));
        range.setEnd(range.endContainer, range.endOffset + 1);
        return range.getBoundingClientRect().left;
      }));
    }
  }
  return found;
}
"""


@pytest.fixture(scope="module")
def intake(kafka_bootstrap: str, postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> \
        Iterator[ServiceProcess]:
    url = create_database(postgres_admin_url, "intakertl")
    upgrade("intake", url)
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": kafka_bootstrap, "VIGIL_TOPIC_PREFIX": "trtl.",
           "VIGIL_TOPIC_PARTITIONS": "1", "INTAKE_DATABASE_URL": url}
    process = ServiceProcess("intake", env, tmp_path_factory.mktemp("logs")).start()
    yield process
    process.stop()
    drop_database(postgres_admin_url, url)


def assert_reads_left_to_right(page: Page, selector: str, value: str) -> None:
    occurrences = page.evaluate(DRAWN_LEFT_EDGES, [selector, value])
    assert occurrences, f"{value!r} is not shown in {selector}"
    for edges in occurrences:
        assert edges == sorted(edges) and len(set(edges)) == len(edges), \
            f"{value!r} in {selector} is drawn out of order (left edges {edges})"


def fill_a_valid_report(page: Page) -> None:
    page.check("#role-witness")
    page.fill("#occurred_date", "2026-11-20")
    page.check("#types-graffiti")
    page.check("#strands-race")
    page.select_option("#area", "E23000001")
    page.select_option("#place_type", "street")


def send(page: Page) -> None:
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("lang", RTL)
def test_the_emergency_numbers_and_examples_on_the_form_read_left_to_right(
        page: Page, intake: ServiceProcess, lang: str) -> None:
    page.goto(f"{intake.url}/{lang}/")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert_reads_left_to_right(page, ".emergency", "999")
    assert_reads_left_to_right(page, "#occurred_date-hint", "21/11/2026")
    page.fill("#phone", "call me")
    page.fill("#email", "not-an-address")
    send(page)
    page.wait_for_selector("#error-summary")
    for where in ("#error-summary", "#phone-error"):
        assert_reads_left_to_right(page, where, "07700 900123")
    for where in ("#error-summary", "#email-error"):
        assert_reads_left_to_right(page, where, "name@example.com")


@pytest.mark.parametrize("lang", RTL)
def test_the_reference_and_the_helplines_on_the_confirmation_read_left_to_right(
        page: Page, intake: ServiceProcess, lang: str) -> None:
    page.goto(f"{intake.url}/{lang}/")
    fill_a_valid_report(page)
    send(page)
    reference = page.locator("#reference").inner_text().strip()
    token = page.locator("#follow-up-token").inner_text().strip()
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert_reads_left_to_right(page, "#reference", reference)
    assert_reads_left_to_right(page, "#follow-up-token", token[:12])
    assert_reads_left_to_right(page, ".signposts", "0808 168 9111")
    assert_reads_left_to_right(page, ".signposts", "999")
    assert_reads_left_to_right(page, ".signposts", "101")
    assert_reads_left_to_right(page, ".emergency", "999")

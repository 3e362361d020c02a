"""Single sign-on (ADR 0060) against a real OpenID Connect provider (panva's certified oidc-provider, run with
node: tests/support/oidc.py) and triage as a real process on PostgreSQL: the whole authorization code flow
with PKCE through the provider's own login and consent pages, linking by verified email, the refusals (unknown,
unverified, disabled, an account another identity holds), tampered state, replayed codes, a code issued to
another client, another issuer, an unreachable provider, and password sign-in turned off."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from infra.procs import free_port
from services.triage import staff_store
from services.triage.accounts import CommandLine
from services.triage.auth import Auth
from services.triage.sso import STATE_COOKIE
from shared.clock import SystemClock
from shared.db import Database
from shared.events.staff import StaffSsoLinkCleared, StaffSsoLinked
from shared.migrate import upgrade
from shared.staffaccess import SESSION_COOKIE
from tests.support.infra import scratch_databases
from tests.support.oidc import (
    OidcAccount,
    OidcClientRegistration,
    OidcProvider,
    running_provider,
    signed_in_at_provider,
)
from tests.support.services import ServiceProcess

PASSWORD = "a long enough password"
SECRET = "vigil-test-client-secret-0123456789"
BASE_ENV = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": "127.0.0.1:1", "VIGIL_TOPIC_PREFIX": "unused.",
            "TRIAGE_SEAL_STAFF_TEXT": "false"}
ACCOUNTS = [
    OidcAccount("dora-sub", "Dora.Inspector@police.example", True),  # links by her email, in another case
    OidcAccount("uma-sub", "uma@police.example", False),  # the provider has not verified it
    OidcAccount("stranger-sub", "stranger@police.example", True),  # no Vigil account has it
    OidcAccount("dan-sub", "dan@police.example", True),  # Dan's account gets disabled
    OidcAccount("tina-sub", "tina@police.example", True),
    OidcAccount("tina-impostor-sub", "tina@police.example", True),  # claims Tina's account once it is linked
    OidcAccount("carl-sub", "carl@police.example", True),
]


@dataclass
class World:
    triage: ServiceProcess
    provider: OidcProvider
    db: Database
    auth: Auth
    users: dict[str, str]


def triage_process(tmp_path: Path, url: str, issuer: str, **env: str) -> ServiceProcess:
    process = ServiceProcess("triage", {**BASE_ENV, "TRIAGE_DATABASE_URL": url, "TRIAGE_OIDC_ISSUER": issuer,
                                        "TRIAGE_OIDC_CLIENT_ID": "vigil", "TRIAGE_OIDC_CLIENT_SECRET": SECRET, **env},
                             tmp_path, mode="api")
    process.env["VIGIL_STAFF_TRIAGE_URL"] = process.url  # where the provider sends people back
    return process


def callback_of(process: ServiceProcess) -> str:
    return f"{process.url}/login/oidc/callback"


@pytest.fixture(scope="module")
def world(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp_path = tmp_path_factory.mktemp("sso")
    with scratch_databases(postgres_admin_url) as create:
        url = create("sso")
        upgrade("triage", url)
        db = Database(url)
        auth = Auth(db, SystemClock())
        users = {name: auth.create_user(name, name.title(), PASSWORD, roles, areas, email=email)
                 for name, roles, areas, email in [
                     ("dora", ["duty_inspector"], ["E23000001"], "dora.inspector@police.example"),
                     ("dan", ["triage_officer"], ["E23000001"], "dan@police.example"),
                     ("tina", ["triage_officer"], [], "tina@police.example"),
                     ("carl", ["triage_officer"], [], "carl@police.example"),
                     ("uma", ["triage_officer"], [], "uma@police.example"),
                     ("ada", ["admin"], [], None)]}
        port_for_triage = triage_process(tmp_path, url, "http://placeholder")
        clients = [OidcClientRegistration("vigil", SECRET, [callback_of(port_for_triage)]),
                   OidcClientRegistration("other", "another-client-secret-0123456789", [callback_of(port_for_triage)])]
        with running_provider(clients, ACCOUNTS, tmp_path) as provider:
            port_for_triage.env["TRIAGE_OIDC_ISSUER"] = provider.issuer
            triage = port_for_triage.start()
            try:
                yield World(triage, provider, db, auth, users)
            finally:
                triage.stop()
                db.dispose()


def begun(browser: httpx.Client, triage: ServiceProcess, next_url: str | None = None) -> str:
    """The provider's authorization URL triage sends this browser to."""
    start = browser.get(f"{triage.url}/login/oidc", params={"next": next_url} if next_url else {})
    assert start.status_code == 303, start.text
    assert browser.cookies.get(STATE_COOKIE), "the state cookie binds the sign-in to this browser"
    return start.headers["location"]


def through_provider(browser: httpx.Client, triage: ServiceProcess, sub: str, next_url: str | None = None) -> str:
    """The callback URL the provider sends the browser back to, for `sub`."""
    back = signed_in_at_provider(browser, begun(browser, triage, next_url), sub)
    return back.headers["location"]


def signed_in_as(browser: httpx.Client, triage: ServiceProcess, sub: str,
                 next_url: str | None = None) -> httpx.Response:
    return browser.get(through_provider(browser, triage, sub, next_url))


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_the_whole_flow_signs_in_as_the_linked_account_with_its_own_roles_and_areas(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        page = browser.get(f"{world.triage.url}/login")
        assert "Sign in with your organisation&#39;s account" in page.text and 'href="/login/oidc"' in page.text

        answer = signed_in_as(browser, world.triage, "dora-sub", next_url="/queue?priority=P1")
        assert answer.status_code == 200, answer.text
        assert 'content="0; url=/queue?priority=P1"' in answer.text, "on to the page asked for, from triage's own"
        assert browser.cookies.get(SESSION_COOKIE)
        assert not browser.cookies.get(STATE_COOKIE), "the state cookie is spent"

        queue = browser.get(f"{world.triage.url}/queue")
        assert queue.status_code == 200 and "Dora" in queue.text
        session = browser.get(f"{world.triage.url}/v1/session").json()
        assert (session["username"], session["roles"], session["areas"]) == ("dora", ["duty_inspector"],
                                                                             ["E23000001"])

    with world.db.sessions() as s:
        linked = staff_store.linked_to(s, world.provider.issuer, "dora-sub")
        record = staff_store.sign_ins(s, world.users["dora"])[0]
        history = world.auth.accounts.events.load(s, world.users["dora"])
    assert linked is not None and linked.account.user_id == world.users["dora"]
    assert (record.method, record.network) == ("sso", "127.0.0.0/24")
    linked_events = [event for event in (e.event() for e in history) if isinstance(event, StaffSsoLinked)]
    assert [(e.changed_by, e.issuer) for e in linked_events] == [("system", world.provider.issuer)]


def refusal(answer: httpx.Response, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text
    assert words in answer.text and "Ask your Vigil administrator" in answer.text
    assert 'class="govuk-heading-l"' in answer.text, "a readable page, in the service's layout"
    assert SESSION_COOKIE not in answer.cookies


@pytest.mark.parametrize(("sub", "words"), [
    ("uma-sub", "has not confirmed the email address"),
    ("stranger-sub", "not linked to a Vigil account"),
])
def test_an_unverified_email_or_an_unknown_identity_gets_no_session(world: World, sub: str, words: str) -> None:
    with httpx.Client(timeout=30) as browser:
        refusal(signed_in_as(browser, world.triage, sub), 403, words)
        assert browser.get(f"{world.triage.url}/queue", follow_redirects=False).status_code == 303
    with world.db.sessions() as s:
        assert staff_store.linked_to(s, world.provider.issuer, sub) is None


def test_a_disabled_account_is_refused_though_linked(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        assert signed_in_as(browser, world.triage, "dan-sub").status_code == 200
    world.auth.accounts.disable(CommandLine("test"), world.users["dan"], "left the force")
    with httpx.Client(timeout=30) as browser:
        refusal(signed_in_as(browser, world.triage, "dan-sub"), 403, "Your Vigil account is disabled")


def test_once_linked_only_that_identity_signs_in_to_the_account(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        assert signed_in_as(browser, world.triage, "tina-sub").status_code == 200
    with httpx.Client(timeout=30) as browser:
        refusal(signed_in_as(browser, world.triage, "tina-impostor-sub"), 403, "linked to another organisation account")
    with world.db.sessions() as s:
        assert staff_store.linked_to(s, world.provider.issuer, "tina-impostor-sub") is None


def test_an_administrator_sees_and_clears_the_link_and_the_next_sign_in_links_again(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        assert signed_in_as(browser, world.triage, "carl-sub").status_code == 200
    with httpx.Client(timeout=30) as admin:
        csrf = admin.post(f"{world.triage.url}/v1/session", json={"username": "ada", "password": PASSWORD}
                          ).json()["csrf_token"]
        page = admin.get(f"{world.triage.url}/admin/accounts/{world.users['carl']}")
        assert f'id="sso-issuer">{world.provider.issuer}<' in page.text and "Remove link" in page.text
        cleared = admin.delete(f"{world.triage.url}/v1/users/{world.users['carl']}/sso-link",
                               params={"reason": "new laptop account"}, headers={"X-CSRF-Token": csrf})
        assert cleared.status_code == 204, cleared.text
        again = admin.delete(f"{world.triage.url}/v1/users/{world.users['carl']}/sso-link",
                             headers={"X-CSRF-Token": csrf})
        assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
        assert "Not linked" in admin.get(f"{world.triage.url}/admin/accounts/{world.users['carl']}").text
    with httpx.Client(timeout=30) as carl:
        csrf = carl.post(f"{world.triage.url}/v1/session", json={"username": "carl", "password": PASSWORD}
                         ).json()["csrf_token"]
        assert carl.delete(f"{world.triage.url}/v1/users/{world.users['tina']}/sso-link",
                           headers={"X-CSRF-Token": csrf}).status_code == 403, "administrators only"
    with httpx.Client(timeout=30) as browser:
        assert signed_in_as(browser, world.triage, "carl-sub").status_code == 200
    with httpx.Client(timeout=30) as admin:  # and on the admin pages
        csrf = admin.post(f"{world.triage.url}/v1/session", json={"username": "ada", "password": PASSWORD}
                          ).json()["csrf_token"]
        here = f"{world.triage.url}/admin/accounts/{world.users['carl']}"
        assert "Remove this account's single sign-on link?" in admin.get(f"{here}/unlink").text
        done = admin.post(f"{here}/unlink", data={"csrf_token": csrf, "reason": "left the team"})
        assert done.status_code == 303 and done.headers["location"].endswith("?done=unlinked")
        page = admin.get(f"{here}?done=unlinked").text
        assert "Single sign-on link removed." in page and "left the team" in page
    with world.db.sessions() as s:
        kinds = [type(e.event()) for e in world.auth.accounts.events.load(s, world.users["carl"])]
        assert staff_store.linked_to(s, world.provider.issuer, "carl-sub") is None
    assert kinds[-4:] == [StaffSsoLinked, StaffSsoLinkCleared, StaffSsoLinked, StaffSsoLinkCleared]


def test_a_tampered_or_foreign_state_is_refused_and_signs_no_one_in(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        back = through_provider(browser, world.triage, "dora-sub")
        refusal_page = browser.get(with_query(back, state="a" * 43))
        assert refusal_page.status_code == 400 and "expired or was not started in this browser" in refusal_page.text
        assert SESSION_COOKIE not in refusal_page.cookies
    with httpx.Client(timeout=30) as another_browser:  # the callback, taken to a browser that did not begin it
        assert another_browser.get(back).status_code == 400
        assert not another_browser.cookies.get(SESSION_COOKIE)


def test_a_replayed_code_is_refused(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        back = through_provider(browser, world.triage, "dora-sub")
        assert browser.get(back).status_code == 200
        assert browser.get(back).status_code == 400, "its state is spent"
        code = parse_qs(urlsplit(back).query)["code"][0]
        fresh_state = parse_qs(urlsplit(begun(browser, world.triage)).query)["state"][0]
        replay = browser.get(with_query(back, state=fresh_state, code=code))
        assert replay.status_code == 400 and "could not be completed" in replay.text, "the provider refuses it"


def test_a_code_issued_to_another_client_or_from_another_issuer_is_refused(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        to_other = with_query(begun(browser, world.triage), client_id="other")
        back = signed_in_at_provider(browser, to_other, "dora-sub").headers["location"]
        answer = browser.get(back)
        assert answer.status_code == 400 and "could not be completed" in answer.text
        assert not browser.cookies.get(SESSION_COOKIE)
    with httpx.Client(timeout=30) as browser:
        back = through_provider(browser, world.triage, "dora-sub")
        mixed_up = browser.get(with_query(back, iss="https://login.example.invalid/another-tenant/v2.0"))
        assert mixed_up.status_code == 400 and not browser.cookies.get(SESSION_COOKIE)


def test_the_provider_saying_no_is_a_readable_page(world: World) -> None:
    with httpx.Client(timeout=30) as browser:
        state = parse_qs(urlsplit(begun(browser, world.triage)).query)["state"][0]
        answer = browser.get(f"{world.triage.url}/login/oidc/callback",
                             params={"error": "access_denied", "state": state})
        assert answer.status_code == 403 and "did not finish signing in" in answer.text


def test_a_provider_naming_another_issuer_or_not_answering_is_a_503_page_not_a_500(
        world: World, postgres_admin_url: str, tmp_path: Path) -> None:
    with scratch_databases(postgres_admin_url) as create:
        url = create("sso")
        upgrade("triage", url)
        with running_provider([], [], tmp_path, issuer="https://login.example.invalid/tenant/v2.0") as liar:
            for issuer in (liar.url, f"http://127.0.0.1:{free_port()}"):
                triage = triage_process(tmp_path, url, issuer).start()
                try:
                    answer = httpx.get(f"{triage.url}/login/oidc", timeout=30)
                    assert answer.status_code == 503 and "cannot be reached just now" in answer.text
                    assert "sign in with your Vigil password" in answer.text
                finally:
                    triage.stop()


def test_with_passwords_turned_off_only_single_sign_on_signs_in(world: World, tmp_path: Path) -> None:
    triage = triage_process(tmp_path, world.db.url, world.provider.issuer, TRIAGE_OIDC_PASSWORDS="false").start()
    try:
        page = httpx.get(f"{triage.url}/login", timeout=30)
        assert 'href="/login/oidc"' in page.text and 'name="password"' not in page.text
        form = httpx.post(f"{triage.url}/login", data={"username": "ada", "password": PASSWORD}, timeout=30)
        assert form.status_code == 403 and "password sign-in is turned off" in form.text.lower()
        assert httpx.post(f"{triage.url}/v1/session", json={"username": "ada", "password": PASSWORD},
                          timeout=30).status_code == 401
    finally:
        triage.stop()

"""Sign-in slows guessing with growing delays per username and per address, never locking the owner out, in
bounded memory; and a session stays alive for what the person does, not for what the page asks by itself.
On a moved clock, over an SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.triage import auth as auth_module
from services.triage.auth import Auth, BadCredentials, TooManyAttempts
from services.triage.main import Triage, build, create_app
from services.triage.settings import TriageSettings
from services.triage.throttle import FailureMemory, SignInThrottle, address_key
from shared.clock import MovableClock
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.unit.test_triage_pages import arrives

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PASSWORD = "a long enough password"
OFFICE, ELSEWHERE = "203.0.113.10", "198.51.100.7"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def triage(tmp_path: Path, clock: MovableClock) -> Triage:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    triage = build(VigilSettings(), TriageSettings(database_url=url), clock)
    triage.auth.create_user("dora", "Dora Inspector", PASSWORD, ["duty_inspector"])
    return triage


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords auth.py actually checked."""
    seen: list[str] = []
    real: Callable[[str | None, str], bool] = auth_module.passwords.matches

    def spy(stored: str | None, password: str) -> bool:
        seen.append(password)
        return real(stored, password)

    monkeypatch.setattr(auth_module.passwords, "matches", spy)
    return seen


def fail(auth: Auth, times: int, username: str = "dora", address: str | None = ELSEWHERE) -> None:
    for _ in range(times):
        with pytest.raises(BadCredentials):
            auth.sign_in(username, "a wrong guess!!", address)


def memory(clock: MovableClock, max_keys: int = 100) -> FailureMemory:
    return FailureMemory(clock, free=5, cap=timedelta(minutes=15), forget_after=timedelta(hours=1),
                         max_keys=max_keys)


def test_after_five_failures_each_attempt_waits_twice_as_long_up_to_fifteen_minutes(clock: MovableClock) -> None:
    failures = memory(clock)
    waits = []
    for _ in range(16):
        waits.append(failures.wait("dora"))
        clock.advance(timedelta(seconds=waits[-1]))
        failures.failed("dora")
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert waits[5:9] == [2, 4, 8, 16]
    assert max(waits) == waits[-1] == waits[-2] == 15 * 60


def test_an_attempt_inside_the_delay_is_refused_before_its_password_is_checked_and_is_not_counted(
        triage: Triage, clock: MovableClock, checked: list[str]) -> None:
    fail(triage.auth, 5)
    clock.advance(timedelta(seconds=1))
    for _ in range(3):
        with pytest.raises(TooManyAttempts) as refused:
            triage.auth.sign_in("dora", PASSWORD, ELSEWHERE)
        assert refused.value.retry_after == 1
    assert PASSWORD not in checked
    clock.advance(timedelta(seconds=1))
    assert triage.auth.sign_in("dora", PASSWORD, ELSEWHERE).staff.username == "dora", "not a lock-out"


def test_someone_guessing_elsewhere_does_not_slow_the_owner_on_their_usual_network(
        triage: Triage, clock: MovableClock) -> None:
    triage.auth.sign_in("dora", PASSWORD, OFFICE)
    for n in range(9):
        clock.advance(timedelta(seconds=triage.auth.throttle.username_wait("dora")))
        fail(triage.auth, 1, address=f"198.51.100.{n + 1}")
    with pytest.raises(TooManyAttempts) as refused:
        triage.auth.sign_in("dora", PASSWORD, "198.51.100.99")
    assert refused.value.retry_after == 32
    colleague_desk = "203.0.113.77"  # the same /24 as her earlier sign-in
    assert triage.auth.sign_in("dora", PASSWORD, colleague_desk).staff.username == "dora"


def test_the_usual_network_is_let_past_the_delay_but_its_wrong_passwords_still_count(triage: Triage) -> None:
    triage.auth.sign_in("dora", PASSWORD, OFFICE)
    fail(triage.auth, 5)
    fail(triage.auth, 1, address=OFFICE)
    assert triage.auth.throttle.usernames.wait("dora") == 4


def test_many_failures_from_one_address_slow_it_for_every_username_and_no_other_address(
        triage: Triage, clock: MovableClock) -> None:
    for n in range(20):
        fail(triage.auth, 1, username=f"guess{n}", address="192.0.2.1")
    with pytest.raises(TooManyAttempts):
        triage.auth.sign_in("dora", PASSWORD, "192.0.2.1")
    assert triage.auth.sign_in("dora", PASSWORD, "192.0.2.2").staff.username == "dora"
    clock.advance(timedelta(seconds=2))
    assert triage.auth.sign_in("dora", PASSWORD, "192.0.2.1").staff.username == "dora"


def test_signing_in_clears_the_username_but_not_the_address(clock: MovableClock) -> None:
    throttle = SignInThrottle(clock, free_per_username=5, free_per_address=5)
    for _ in range(5):
        throttle.failed("dora", ELSEWHERE)
    throttle.succeeded("dora")
    assert throttle.username_wait("dora") == 0
    assert throttle.address_wait(ELSEWHERE) == 2, "an account of one's own must not reset the address"


def test_failures_are_forgotten_an_hour_after_the_latest(clock: MovableClock) -> None:
    failures = memory(clock)
    for _ in range(7):
        failures.failed("dora")
    clock.advance(timedelta(minutes=59))
    assert failures.wait("dora") == 0, "the delay itself has long passed"
    failures.failed("dora")
    assert failures.wait("dora") == 16, "within the hour the count goes on"
    clock.advance(timedelta(hours=1))
    assert failures.wait("dora") == 0 and len(failures) == 0


def test_a_full_memory_drops_the_key_used_least_recently_and_keeps_the_one_under_attack(clock: MovableClock) -> None:
    failures = memory(clock, max_keys=3)
    for _ in range(6):
        failures.failed("dora")
    for name in ("a", "b"):
        failures.failed(name)
    clock.advance(timedelta(seconds=1))
    assert failures.wait("dora") > 0  # the attacker tries again: "dora" is the most recently used
    failures.failed("c")
    failures.failed("d")
    assert len(failures) == 3
    assert failures.wait("dora") > 0, "the key under attack is the last to go"
    assert failures.wait("a") == 0 and "a" not in failures._keys and "b" not in failures._keys


def test_a_memory_that_forgot_before_its_longest_delay_is_refused(clock: MovableClock) -> None:
    with pytest.raises(ValueError, match="longer than the longest delay"):
        FailureMemory(clock, free=5, cap=timedelta(minutes=15), forget_after=timedelta(minutes=10), max_keys=10)


def test_an_ipv6_device_counts_as_one_address_across_its_64() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("203.0.113.10") == "203.0.113.10"
    assert address_key("testclient") is None and address_key(None) is None


def test_the_refusal_says_how_long_to_wait() -> None:
    assert str(TooManyAttempts(1.2)) == "too many failed sign-ins; try again in 2 seconds"
    assert str(TooManyAttempts(900)) == "too many failed sign-ins; try again in 15 minutes"
    assert TooManyAttempts(0.1).retry_after == 1


# --- what keeps a session alive -------------------------------------------------------------------

def test_polling_alone_lets_a_session_end_after_the_idle_period(triage: Triage, clock: MovableClock) -> None:
    token = triage.auth.sign_in("dora", PASSWORD).token
    for _ in range(29):
        clock.advance(timedelta(minutes=1))
        assert triage.auth.resolve(token, activity=False) is not None
    clock.advance(timedelta(minutes=1))
    assert triage.auth.resolve(token, activity=False) is None
    assert triage.auth.resolve(token) is None, "and a real action cannot bring it back"


def test_a_real_action_keeps_the_session_alive(triage: Triage, clock: MovableClock) -> None:
    token = triage.auth.sign_in("dora", PASSWORD).token
    clock.advance(timedelta(minutes=20))
    assert triage.auth.resolve(token) is not None
    clock.advance(timedelta(minutes=20))
    assert triage.auth.resolve(token, activity=False) is not None


@pytest.fixture
def pages(triage: Triage) -> Iterator[TestClient]:
    with TestClient(create_app(triage, with_worker=False), follow_redirects=False) as client:
        yield client


POLL = {"HX-Request": "true", "X-Vigil-Poll": "1"}


def test_the_queues_refresh_and_the_viewing_heartbeat_do_not_count_as_activity(
        triage: Triage, pages: TestClient, clock: MovableClock) -> None:
    arrives(triage, "r-1")
    assert pages.post("/login", data={"username": "dora", "password": PASSWORD}).status_code == 303
    csrf = pages.get("/v1/session").json()["csrf_token"]
    for _ in range(14):
        clock.advance(timedelta(minutes=2))
        assert pages.get("/queue/rows", headers=POLL).status_code == 200
        heartbeat = pages.post("/v1/incidents/r-1/viewing", headers={"X-CSRF-Token": csrf, "X-Vigil-Poll": "1"})
        assert heartbeat.status_code == 204
    clock.advance(timedelta(minutes=2))
    assert pages.get("/queue").status_code == 303, "thirty minutes of polling alone: signed out"


def test_the_same_requests_made_by_the_person_count(pages: TestClient, clock: MovableClock) -> None:
    assert pages.post("/login", data={"username": "dora", "password": PASSWORD}).status_code == 303
    for _ in range(20):
        clock.advance(timedelta(minutes=2))
        assert pages.get("/queue/rows", headers={"HX-Request": "true"}).status_code == 200
    assert pages.get("/queue").status_code == 200


def test_the_queue_page_marks_its_own_refresh_as_a_poll(pages: TestClient) -> None:
    assert pages.post("/login", data={"username": "dora", "password": PASSWORD}).status_code == 303
    queue = pages.get("/queue").text
    assert "hx-trigger=\"every " in queue and """hx-headers='{"X-Vigil-Poll": "1"}'""" in queue


def test_the_incident_pages_heartbeat_marks_itself_as_a_poll() -> None:
    script = (Path(__file__).resolve().parents[2] / "services/triage/static/triage.js").read_text()
    assert '"X-Vigil-Poll": "1"' in script[script.index("function heartbeat"):]

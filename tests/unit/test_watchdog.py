"""The watchdog decides what to page without a network: each problem once when it has lasted, its recovery once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.notify.channels import Message
from services.watchdog.alarms import Alarms, Finding, Page, Restarts
from services.watchdog.main import Watchdog
from services.watchdog.pager import Pager, message
from services.watchdog.probes import ServiceProbe
from services.watchdog.settings import WatchdogSettings
from shared.clock import MovableClock

T0 = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
GRACE = timedelta(seconds=60)
STOPPED = Finding("notify: consumers", True, "no consumer running in notify-incidents")
RUNNING = Finding("notify: consumers", False, "every consumer group of notify has a consumer")


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_problem_is_paged_once_when_it_has_lasted_the_grace_and_its_recovery_once() -> None:
    alarms = Alarms(GRACE)
    assert alarms.observe([STOPPED], _at(0)) == []
    assert alarms.observe([STOPPED], _at(59)) == []
    opened = alarms.observe([STOPPED], _at(60))
    assert opened == [Page("notify: consumers", False, STOPPED.detail, _at(0))]
    assert [alarms.observe([STOPPED], _at(t)) for t in (75, 90, 600)] == [[], [], []]
    cleared = alarms.observe([RUNNING], _at(615))
    assert cleared == [Page("notify: consumers", True, RUNNING.detail, _at(0))]
    assert alarms.observe([RUNNING], _at(630)) == []


def test_a_check_that_comes_right_within_the_grace_is_never_paged() -> None:
    alarms = Alarms(GRACE)
    assert alarms.observe([STOPPED], _at(0)) == []
    assert alarms.observe([RUNNING], _at(30)) == []
    assert alarms.observe([STOPPED], _at(45)) == []
    assert alarms.observe([STOPPED], _at(100)) == [], "the grace starts again after a good round"
    assert alarms.observe([STOPPED], _at(105)) != []


def test_a_check_not_made_in_a_round_keeps_its_problem_open() -> None:
    alarms = Alarms(GRACE)
    alarms.observe([STOPPED], _at(0))
    assert len(alarms.observe([STOPPED], _at(60))) == 1
    assert alarms.observe([], _at(75)) == []
    assert alarms.observe([Finding("notify: not ready", False)], _at(90)) == []
    assert alarms.open == {"notify: consumers": _at(0)}


def test_each_problem_is_paged_on_its_own_and_again_if_it_returns_after_recovering() -> None:
    alarms = Alarms(timedelta(0))
    lag = Finding("notify: consumer lag", True, "notify-reports 5 behind")
    assert [p.key for p in alarms.observe([STOPPED, lag], _at(0))] == ["notify: consumers", "notify: consumer lag"]
    assert [p.recovered for p in alarms.observe([RUNNING, lag], _at(15))] == [True]
    assert [p.headline for p in alarms.observe([STOPPED], _at(30))] == ["PROBLEM notify: consumers"]


def test_a_process_started_after_the_service_was_last_seen_is_a_restart() -> None:
    restarts = Restarts(window=900)
    assert restarts.seen(started=1000, now=1010) == 0
    assert restarts.seen(started=1000, now=1025) == 0
    assert restarts.seen(started=1030, now=1040) == 1
    assert restarts.seen(started=1050, now=1055) == 2
    assert restarts.seen(started=1050, now=1070) == 2
    assert restarts.seen(started=1050, now=1060 + 900) == 0, "restarts leave the window"


def test_http_workers_answering_in_turn_are_not_restarts() -> None:
    restarts = Restarts(window=900)
    for now, started in ((1010, 1000.0), (1025, 1000.2), (1040, 1000.0), (1055, 1000.2)):
        assert restarts.seen(started, now) == 0


class Recorder:
    """A channel that records what it was given and fails while `failing` says so."""

    def __init__(self, name: str = "email", failing: Callable[[], bool] = lambda: False) -> None:
        self.name = name
        self.failing = failing
        self.sent: list[Message] = []

    def send(self, msg: Message) -> None:
        if self.failing():
            raise ConnectionRefusedError("the mail server is down")
        self.sent.append(msg)


def test_a_page_that_could_not_be_sent_goes_at_the_next_round_with_the_same_message_id() -> None:
    down = [True]
    channel = Recorder(failing=lambda: down[0])
    pager = Pager([(channel, "admin@example.org")])
    page = Page("notify: consumers", False, STOPPED.detail, _at(0))
    pager.send([page])
    assert channel.sent == [] and len(pager.pending) == 1
    down[0] = False
    pager.send([])
    pager.send([])
    assert [m.idempotency_key for m in channel.sent] == [message(page, "email", "admin@example.org").idempotency_key]
    assert channel.sent[0].subject == "Vigil watchdog: PROBLEM notify: consumers"
    assert "03:00:00 GMT on 21 November 2026" in channel.sent[0].text


def test_a_problem_and_its_recovery_are_two_messages() -> None:
    problem = message(Page("k", False, "d", _at(0)), "email", "a@example.org")
    recovery = message(Page("k", True, "d", _at(0)), "email", "a@example.org")
    assert problem.idempotency_key != recovery.idempotency_key
    assert recovery.subject == "Vigil watchdog: RECOVERED k"


METRICS = """# TYPE vigil_outbox_backlog gauge
vigil_outbox_backlog{relay="notify"} 12.0
# TYPE vigil_timers_overdue_seconds gauge
vigil_timers_overdue_seconds{timers="notify-timers"} 300.0
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1000.0
"""


def _service(ready: Callable[[], bool]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/metrics":
            return httpx.Response(200, text=METRICS)
        groups = {"consumer_groups": {"notify-incidents": ["vigil.incidents.v1"]}}
        if ready():
            return httpx.Response(200, json={"status": "ready", **groups})
        return httpx.Response(503, json={"status": 503, "checks": {"kafka": "Kafka does not answer"}, **groups})

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_a_service_probe_reads_readiness_backlog_lateness_and_the_consumer_groups() -> None:
    settings = WatchdogSettings(max_outbox_backlog=10, max_timer_lateness_seconds=600)
    probe = ServiceProbe("notify", "http://notify", settings, _service(lambda: False))
    found = {f.key: f for f in probe.findings(now=1010)}
    assert found["notify: not ready"].wrong and "Kafka does not answer" in found["notify: not ready"].detail
    assert found["notify: outbox backlog"].wrong and found["notify: outbox backlog"].detail.startswith("12 events")
    assert not found["notify: timers late"].wrong
    assert not found["notify: keeps restarting"].wrong
    assert probe.groups == {"notify-incidents": ["vigil.incidents.v1"]}


def test_a_service_that_does_not_answer_is_not_ready_and_its_other_checks_keep_their_state() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    probe = ServiceProbe("triage", "http://triage", WatchdogSettings(),
                         httpx.Client(transport=httpx.MockTransport(refuse)))
    found = probe.findings(now=1010)
    assert [(f.key, f.wrong) for f in found] == [("triage: not ready", True)]
    assert "does not answer at http://triage" in found[0].detail


class Groups:
    """The broker's view, as the test says it is."""

    def __init__(self) -> None:
        self.findings_now = [RUNNING]

    def findings(self, _groups: object) -> list[Finding]:
        return self.findings_now

    def close(self) -> None:
        pass


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


def test_a_round_pages_a_stopped_worker_once_and_its_return_once(clock: MovableClock) -> None:
    settings = WatchdogSettings(grace_seconds=30, interval_seconds=10, max_timer_lateness_seconds=600)
    channel = Recorder()
    groups = Groups()
    probe = ServiceProbe("notify", "http://notify", settings, _service(lambda: True))
    watchdog = Watchdog(settings, [probe], groups, Pager([(channel, "admin@example.org")]),  # type: ignore[arg-type]
                        clock)
    assert watchdog.round() == []
    groups.findings_now = [STOPPED]
    for _ in range(10):
        clock.advance(timedelta(seconds=10))
        watchdog.round()
    groups.findings_now = [RUNNING]
    clock.advance(timedelta(seconds=10))
    watchdog.round()
    clock.advance(timedelta(seconds=10))
    watchdog.round()
    assert [m.subject for m in channel.sent] == ["Vigil watchdog: PROBLEM notify: consumers",
                                                 "Vigil watchdog: RECOVERED notify: consumers"]

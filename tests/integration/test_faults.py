"""Faults, proven with real processes, real Kafka and PostgreSQL: one kill per service, one PostgreSQL restart and
one broker outage. The scenarios are bench/faults.py's, which repeats them; here each runs once and is judged.

A kill is SIGKILL at an event count, never a timer. The tests that stop PostgreSQL or the broker use servers of
their own (started here, stopped by process id even on failure), never the shared ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.faults import (
    OwnServers,
    Place,
    assessment_kill,
    broker_outage,
    notify_kill,
    own_servers,
    postgres_restart,
    triage_kill,
)

BROKER_GAP = 8.0  # seconds; bench/faults.py stops it for 30


@pytest.fixture
def place(kafka_bootstrap: str, new_database: Callable[[str], str], logdir: Path) -> Place:
    return Place(kafka_bootstrap, new_database, logdir)


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OwnServers, Callable[[str], str]]]:
    with own_servers(tmp_path_factory.mktemp("own-servers")) as servers:
        yield servers


def test_a_triage_worker_killed_mid_stream_loses_nothing_applies_nothing_twice_and_keeps_order(place: Place) -> None:
    result = triage_kill(place, workers=3, reports=240, kill_at=80)
    assert result["killed_at"] < result["events_fed"], "everything was decided before the kill"
    assert result["events_applied"] == result["events_fed"]
    assert result["incidents_opened_twice"] == 0
    assert (result["missing"], result["twice"], result["out_of_order"]) == (0, 0, 0), result
    assert result["records"] == result["events"]


def test_a_notify_worker_killed_mid_stream_sends_no_alert_under_a_second_key(place: Place) -> None:
    result = notify_kill(place, workers=3, alerts=60, kill_at=20)
    assert result["killed_at"] < result["alerts_due"], "every alert was out before the kill"
    assert (result["alerts_missing"], result["alerts_under_two_keys"]) == (0, 0), result
    # A send cut off by the kill may be retried under the same key (same Message-ID): one per dispatch worker.
    assert result["resent_under_the_same_key"] <= 2, result
    assert (result["missing"], result["twice"], result["out_of_order"]) == (0, 0, 0), result


def test_an_assessment_worker_killed_mid_stream_leaves_the_projection_equal_to_a_rebuild(place: Place) -> None:
    result = assessment_kill(place, workers=2, reports=300, kill_at=150)
    assert result["killed_at"] < result["events_fed"], "everything was folded before the kill"
    assert result["events_rebuilt"] == result["events_fed"]
    assert result["projection_equals_rebuild"], result
    assert (result["missing"], result["twice"], result["out_of_order"]) == (0, 0, 0), result


def test_postgres_restarted_under_load_refuses_with_503_and_retry_after_and_every_202_reaches_kafka(
        own: tuple[OwnServers, Callable[[str], str]], logdir: Path) -> None:
    servers, create = own
    result = postgres_restart(servers, servers.place(create, logdir))
    assert set(result["answers"]) <= {"202", "503"}, result
    assert result["answers_in_gap"].get("503", 0) >= 5, result
    assert result["refusals_without_retry_after"] == 0 and result["refusals_not_problem_json"] == 0, result
    assert result["slowest_seconds"] < 5, result
    assert result["stored"] == result["accepted"], "a report answered 202 is not in the database"
    assert result["relay_caught_up"], result
    assert (result["on_kafka"], result["on_kafka_twice"], result["events_twice"]) == (result["accepted"], 0, 0), result
    assert result["decisions_applied"] == result["decisions_during_gap"] and result["dead_lettered"] == 0, result


def test_the_broker_stopped_under_a_steady_stream_keeps_intake_answering_202_and_publishes_each_report_once(
        own: tuple[OwnServers, Callable[[str], str]], logdir: Path) -> None:
    servers, create = own
    result = broker_outage(servers, servers.place(create, logdir), gap=BROKER_GAP)
    assert result["answers"] == {"202": result["accepted"]}, result
    assert result["answers_in_gap"].get("202", 0) >= BROKER_GAP * result["rate"] * 0.8, result
    assert result["stored"] == result["accepted"] and result["relay_caught_up"], result
    assert (result["on_kafka"], result["on_kafka_twice"], result["events_twice"]) == (result["accepted"], 0, 0), result

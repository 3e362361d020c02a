"""Intake's matching gives the same answers however it runs: `Matcher.match` in Python (SQLite's way, one
report at a time in the group commit's transaction) and `intake_match` on PostgreSQL (a whole batch in one
call, ADR 0058), over a sequence that crosses every window and bound of services/intake/matching.py."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.intake.matching import (
    BATCH_SQL,
    BURST_GAP,
    BURST_SPAN,
    CONTACT_WINDOW,
    DUPLICATE_WINDOW,
    MAX_MATCHES,
    Match,
    Matched,
    Matcher,
    batch_arguments,
    batch_results,
)
from shared.migrate import upgrade

START = datetime(2026, 3, 1, 9, tzinfo=UTC)


def sequence() -> list[Match]:
    """Reports from a few contacts, sources and texts, at times chosen to land either side of each window:
    a flood (more than MAX_MATCHES of one text from one source, some at the same instant), a source's quiet
    spell longer than BURST_GAP, a burst longer than BURST_SPAN, repeat contacts inside and beyond
    CONTACT_WINDOW, duplicates inside and beyond DUPLICATE_WINDOW."""
    matcher = Matcher(b"k" * 32)
    rng = random.Random(7)  # fixed: the same sequence every run, so a failure can be replayed
    at, reports = START, []

    def report(gap: timedelta, contact: str | None, source: str | None, text: str | None) -> None:
        nonlocal at
        at += gap
        m = matcher.request(f"{len(reports):04d}-{rng.randrange(16**8):08x}", at, contact, source, text)
        reports.append(m)

    for i in range(MAX_MATCHES + 5):  # a flood: same source, same words, some at the same instant
        report(timedelta(seconds=0 if i % 4 == 3 else 2), None, "addr:198.51.100.7", "They shouted at us outside")
    report(BURST_GAP + timedelta(minutes=1), "a@example.org", "addr:198.51.100.7", "Quiet, then again")  # new burst
    for _ in range(30):  # one source, never quiet for BURST_GAP, for longer than BURST_SPAN
        report(BURST_GAP - timedelta(minutes=15), None, "centre:C1", rng.choice(["graffiti", "leaflet", None]))
    report(timedelta(days=1), "a@example.org", None, "They shouted at us outside")  # duplicate window passed
    report(CONTACT_WINDOW - timedelta(days=3), "a@example.org", "addr:203.0.113.9", "again")  # inside 90 days
    report(CONTACT_WINDOW + timedelta(days=1), "a@example.org", "addr:203.0.113.9", "again")  # only the last
    report(DUPLICATE_WINDOW - timedelta(minutes=1), "b@example.org", None, "again")
    for _ in range(40):
        report(timedelta(minutes=rng.choice([0, 1, 25, 300])), rng.choice(["a@example.org", "b@example.org", None]),
               rng.choice(["addr:198.51.100.7", "centre:C1", None]), rng.choice(["again", "graffiti", None]))
    assert timedelta(minutes=5) * 30 > BURST_SPAN, "the long burst outlives BURST_SPAN"
    return reports


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    return url


@pytest.fixture
def postgres_url(new_database: Callable[[str], str]) -> str:
    url = new_database("vigil_match")
    upgrade("intake", url)
    return url


def in_python(url: str, reports: list[Match]) -> list[Matched]:
    engine = sa.create_engine(url)
    matcher, answers = Matcher(b"k" * 32), []
    try:
        with Session(engine) as s:
            for m in reports:
                with s.begin():
                    answers.append(matcher.match(s, m))
    finally:
        engine.dispose()
    return answers


def in_batches(url: str, reports: list[Match]) -> list[Matched]:
    """Batches of uneven sizes, as group commits come."""
    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    answers: list[Matched] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for batch in chunks(reports, [1, 7, 3, 40, 2, 19]):
            [(answer,)] = conn.execute(BATCH_SQL, batch_arguments(batch)).fetchall()
            answers += batch_results(answer)
    return answers


def chunks(items: list[Any], sizes: list[int]) -> Iterator[list[Any]]:
    i, k = 0, 0
    while i < len(items):
        yield items[i:i + sizes[k % len(sizes)]]
        i, k = i + sizes[k % len(sizes)], k + 1


def test_a_batch_matched_in_postgresql_answers_as_python_does_report_by_report(
        sqlite_url: str, postgres_url: str) -> None:
    reports = sequence()
    expected = in_python(sqlite_url, reports)
    assert in_batches(postgres_url, reports) == expected
    # the sequence reaches what it was built to reach, so the equality above means something
    assert max(len(m.near_duplicate_of) for m in expected) == MAX_MATCHES
    assert max(len(m.earlier_reports_same_contact) for m in expected) >= 2
    bursts = [m.source_burst for m in expected if m.source_burst]
    assert len(set(bursts)) >= 4, "quiet spells and long bursts opened new bursts"
    assert any(m.source_reports_28d for m in expected), "a source's normal before its burst was counted"


def test_python_matching_on_postgresql_answers_as_on_sqlite(sqlite_url: str, postgres_url: str) -> None:
    reports = sequence()[:60]
    assert in_python(postgres_url, reports) == in_python(sqlite_url, reports)


def test_a_flood_from_one_contact_costs_each_report_the_same(postgres_url: str) -> None:
    """Each earlier-match query reads about its limit from the index, however many came before: the index
    gives the whole order (no sort of every match), so the 500th report of a flood costs what the 21st did."""
    matcher = Matcher(b"k" * 32)
    flood = [matcher.request(f"r-{i:05d}", START + timedelta(seconds=i // 3), "same@example.org", "addr:1",
                             "the same words") for i in range(500)]
    in_batches(postgres_url, flood)
    conninfo = sa.make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("ANALYZE report_matches")
        for column, value in [("contact_hash", flood[0].contact_hash), ("content_hash", flood[0].content_hash)]:
            [(plan,)] = conn.execute(
                f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT report_id FROM report_matches WHERE {column} = %s "  # noqa: S608
                "AND submitted_at >= %s AND submitted_at <= %s ORDER BY submitted_at, report_id LIMIT %s",
                (value, START - CONTACT_WINDOW, START + timedelta(hours=1), MAX_MATCHES)).fetchall()
            read = [node["Actual Rows"] for node in _nodes(plan[0]["Plan"]) if "Index" in node["Node Type"]]
            assert read and max(read) < 2 * MAX_MATCHES, (column, read, "of", len(flood))  # about its limit
            assert not any(node["Node Type"] == "Sort" for node in _nodes(plan[0]["Plan"])), plan


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)

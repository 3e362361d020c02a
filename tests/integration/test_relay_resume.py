"""A relay killed with SIGKILL mid-stream, then restarted: every event is on its topic exactly once.

The relay is intake's worker, a real process, publishing a backlog left in its outbox; it is killed
when the topic holds a set number of records (not after a time), so sends it had made but not yet
recorded as published are on the topic. A relay that resumed from its recorded position alone sent
those again (ADR 0051).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import text

from services.intake.tables import metadata
from shared.clock import SystemClock
from shared.db import Database
from shared.events.reports import ReportWithdrawn
from shared.eventstore import EventStore, NewStream
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.topics import REPORTS, TopicNames, ensure_topics
from tests.integration.test_intake_durability import intake_env
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

EVENTS = 12_000
CHECKPOINT = 2_500  # records on the topic when the relay is killed


def outbox_backlog(url: str, count: int) -> set[str]:
    """`count` events committed to intake's outbox before any relay runs; their ids."""
    db = Database(url)
    store = EventStore(metadata, "/vigil/intake", SystemClock())
    withdrawn_at = datetime.now(UTC)
    try:
        with db.transaction() as s:
            envelopes = store.start_streams(s, [
                NewStream(f"r-{n:05d}", [ReportWithdrawn(report_id=f"r-{n:05d}", withdrawn_at=withdrawn_at)])
                for n in range(count)])
        return {env.id for env in envelopes}
    finally:
        db.dispose()


class TopicCount:
    """How many records a topic holds, from its end offsets: cheap enough to watch a relay at full speed."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        self.partitions = [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or ())]

    def __call__(self) -> int:
        return sum(self.consumer.end_offsets(self.partitions).values())

    def close(self) -> None:
        self.consumer.close()


def recorded_position(url: str) -> int:
    db = Database(url)
    try:
        with db.sessions() as s:
            return int(s.execute(text("SELECT coalesce(max(position), 0) FROM relay_position")).scalar_one())
    finally:
        db.dispose()


def test_a_relay_killed_mid_stream_publishes_each_event_once_after_restart(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    url = new_database("intake")
    upgrade("intake", url)
    names = TopicNames(vigil_settings.topic_prefix)
    ensure_topics(vigil_settings.kafka_bootstrap, names, vigil_settings.topic_partitions, [REPORTS])
    ids = outbox_backlog(url, EVENTS)
    env = intake_env(vigil_settings, url, vigil_settings.kafka_bootstrap)
    on_topic = TopicCount(vigil_settings.kafka_bootstrap, names(REPORTS))
    relay = ServiceProcess("intake", env, logdir).start()
    try:
        eventually(lambda: on_topic() >= CHECKPOINT, 60, f"{CHECKPOINT} records on the topic", interval=0.005)
        relay.kill()
        at_kill, recorded = on_topic(), recorded_position(url)
        assert at_kill < EVENTS, "the relay had published everything before the kill: nothing was in flight"
        assert recorded < at_kill, "every record on the topic was recorded as published: nothing to resend"
        relay = ServiceProcess("intake", env, logdir).start()
        eventually(lambda: recorded_position(url) == EVENTS, 90, "the relay to record every event as published")
    finally:
        relay.stop()
        on_topic.close()
    records = read_topic(vigil_settings.kafka_bootstrap, names(REPORTS), expect=EVENTS, until=1.0)
    copies = Counter(headers_of(r)["ce_id"].decode() for r in records)
    assert set(copies) == ids
    twice = {event_id: n for event_id, n in copies.items() if n > 1}
    assert not twice, (f"{len(twice)} of {EVENTS} events on the topic more than once (killed at {at_kill} on the "
                       f"topic, {recorded} recorded)")

"""The topics of docs/design.md, their configs, and idempotent creation at start-up."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

REPORTS = "vigil.reports.v1"
INCIDENTS = "vigil.incidents.v1"
NOTIFICATIONS = "vigil.notifications.v1"
AREAS = "vigil.areas.v1"
PARTNER = "vigil.partner.v1"
STAFF = "vigil.staff.v1"
SITES = "vigil.sites.v1"

FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
COMPACTED = {"cleanup.policy": "compact", "retention.ms": "-1", "min.compaction.lag.ms": "0"}

CONFIGS: dict[str, dict[str, str]] = {
    REPORTS: FOREVER,
    INCIDENTS: FOREVER,
    NOTIFICATIONS: FOREVER,
    AREAS: COMPACTED,
    PARTNER: FOREVER,
    STAFF: FOREVER,
    SITES: FOREVER,
}


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class TopicNames:
    """Maps a logical topic to its physical name; the prefix isolates test runs on one broker."""

    prefix: str = ""

    def __call__(self, logical: str) -> str:
        return f"{self.prefix}{logical}"

    def logical(self, physical: str) -> str:
        return physical[len(self.prefix):] if self.prefix and physical.startswith(self.prefix) else physical

    def group(self, name: str) -> str:
        return f"{self.prefix}{name}"


def ensure_topics(bootstrap: str, names: TopicNames, partitions: int, logical: list[str] | None = None) -> None:
    """Create any missing topic (and its DLQ) with its config; existing topics are left as they are."""
    wanted = logical or list(CONFIGS)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="vigil-admin")
    try:
        existing = set(admin.list_topics())
        specs = {}
        for topic in wanted:
            for name, cfg in ((names(topic), CONFIGS[topic]), (names(dlq(topic)), FOREVER)):
                if name not in existing:
                    specs[name] = {"num_partitions": partitions, "replication_factor": 1, "configs": cfg}
        if specs:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service got there first
                admin.create_topics(specs, wait_for_metadata=True)
            log.info("created topics", extra={"topics": sorted(specs)})
    finally:
        admin.close()

"""Replaying the event topics from offset 0 (or from a snapshot) into a fresh projection.

Speed matters here (docs/design.md: at least 10,000 events/s), so the rebuild does not go through
the inbox: a plain consumer assigned to every partition reads in large batches, records are
decoded straight from their `ce_*` headers and JSON value (the same fields the live codec
reads), the fold runs in memory, and the result is written to the database once, in one
transaction. It stops at the end offsets it saw when it started, so a busy topic cannot keep
it going for ever. A snapshot records the state and the offsets it covers: a later rebuild
starts from there and reads only what came after.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
import logging
import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import select

from services.assessment import tables
from services.assessment.projection import (
    Fact,
    Fold,
    MemoryState,
    ReportFacts,
    Snapshot,
    canonical,
    merge,
    snapshot_document,
    snapshot_from_bytes,
    when,
)
from services.assessment.scoring import pictures
from services.assessment.sites.assess import assess_site
from services.assessment.store import load_snapshot, replace_projection
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.db import Database
from shared.topics import INCIDENTS, REPORTS, SITES, TopicNames

log = logging.getLogger(__name__)
TOPICS = (REPORTS, INCIDENTS, SITES)
PARALLEL_FROM = 50_000                       # below this, starting processes costs more than it saves
Offsets = dict[str, dict[int, int]]          # logical topic -> partition -> next offset to read
Progress = Callable[[int, int], None]        # (events read, events to read)


@dataclass
class RebuildResult:
    events: int
    skipped: int
    offsets: Offsets
    digest: str
    state: MemoryState = field(repr=False)
    resumed_from: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)


class _Phases:
    """Where a rebuild's time went (the benchmark reports it)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self._last, 3)
        self._last = now


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A million small acyclic objects make the cyclic collector rescan everything again and again."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def fact_from_record(record: ConsumerRecord) -> Fact | None:
    """The live codec's fields without the CloudEvents SDK's per-record cost; None for a non-event."""
    headers = dict(record.headers or [])
    kind = headers.get("ce_type")
    if kind is None:
        return None
    return Fact(kind.decode(), (record.key or b"").decode(), int(headers.get("ce_sequence") or 0),
                when(headers["ce_time"].decode()), orjson.loads(record.value) if record.value else {})


@dataclass(frozen=True)
class Part:
    topic: str        # physical name
    partition: int
    start: int
    end: int          # exclusive: the end offset when the rebuild began


def open_consumer(bootstrap: str) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         client_id="vigil-assessment-rebuild", isolation_level="read_committed",
                         max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024,
                         receive_buffer_bytes=4 * 1024 * 1024)


def fold_parts(consumer: KafkaConsumer, parts: list[Part], state: MemoryState, registry: AreaRegistry,
               batch: int, on_batch: Callable[[int], None] | None = None,
               positions: dict[tuple[str, int], int] | None = None) -> tuple[int, int]:
    """Read each part from its start to its end offset and fold it; answers (events read, events skipped).

    `positions`, when given, holds the next offset of every partition after each batch (for snapshots)."""
    tps = {TopicPartition(p.topic, p.partition): p for p in parts if p.end > p.start}
    consumer.assign(list(tps))
    for tp, part in tps.items():
        consumer.seek(tp, part.start)
    apply = Fold(registry).apply
    events = skipped = 0
    remaining = dict(tps)
    while remaining:
        got = consumer.poll(timeout_ms=1000, max_records=batch)
        for tp, records in got.items():
            end = tps[tp].end
            for record in records:
                if record.offset >= end:
                    break
                events += 1
                fact = fact_from_record(record)
                if fact is None:
                    skipped += 1
                    continue
                try:
                    apply(state, fact)
                except (KeyError, TypeError, ValueError):
                    skipped += 1  # the live worker dead-letters these; the rebuild passes over them
            if records and positions is not None:
                positions[(tp.topic, tp.partition)] = min(records[-1].offset + 1, end)
            if consumer.position(tp) >= end:
                remaining.pop(tp, None)
                consumer.pause(tp)
        if on_batch and got:
            on_batch(events)
    return events, skipped


def _share_main(bootstrap: str, registry: AreaRegistry, parts: list[Part], batch: int, progress: Any,
                results: Any) -> None:
    """A child process's share of a parallel rebuild: its partitions, folded, sent back whole."""
    gc.disable()
    consumer = open_consumer(bootstrap)
    state = MemoryState()
    try:
        def tell(n: int) -> None:
            progress.value = n

        events, skipped = fold_parts(consumer, parts, state, registry, batch, tell)
    finally:
        consumer.close()
    results.put((state, events, skipped))


class Rebuild:
    """A full replay folds partition shares in parallel processes (one per core) and merges them;
    a resume from a snapshot folds the few new events in this process."""

    def __init__(self, bootstrap: str, names: TopicNames, registry: AreaRegistry, db: Database, clock: Clock,
                 batch: int = 20_000, snapshot_every: int = 250_000, workers: int | None = None,
                 parallel_from: int = PARALLEL_FROM) -> None:
        self.bootstrap = bootstrap
        self.names = names
        self.registry = registry
        self.db = db
        self.clock = clock
        self.batch = batch
        self.snapshot_every = snapshot_every
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.parallel_from = parallel_from

    def run(self, resume: bool = True, progress: Progress | None = None, write: bool = True,
            digest: bool = True) -> RebuildResult:
        with _no_cyclic_gc():
            return self._run(resume, progress, write, digest)

    def _run(self, resume: bool, progress: Progress | None, write: bool, digest: bool) -> RebuildResult:
        clock = _Phases()
        start = self.latest_snapshot() if resume else None
        offsets: Offsets = start[2] if start else {t: {} for t in TOPICS}
        parts = self.plan(offsets)
        total = sum(p.end - p.start for p in parts)
        clock.lap("plan")
        if start is None and self.workers > 1 and total >= self.parallel_from:
            state, events, skipped = self._parallel(parts, total, progress, clock)
        else:
            state = start[1].restore() if start else MemoryState()
            state, events, skipped = self._sequential(parts, state, total, progress)
            clock.lap("read_and_fold")
        for p in parts:
            offsets.setdefault(self.names.logical(p.topic), {})[p.partition] = p.end
        snap = Snapshot.of(state)
        clock.lap("sort")
        fingerprint = hashlib.sha256(projection_bytes(snap, self.registry)).hexdigest() if digest else ""
        clock.lap("digest")
        if write:
            with self.db.engine.begin() as conn:
                replace_projection(conn, snap)
            clock.lap("write")
            if events or start is None:
                self.save_snapshot(snap, offsets, events + (start[0] if start else 0))
            clock.lap("snapshot")
        return RebuildResult(events, skipped, offsets, fingerprint, state, start[0] if start else None,
                             clock.laps)

    def plan(self, offsets: Offsets) -> list[Part]:
        consumer = open_consumer(self.bootstrap)
        try:
            tps = []
            for logical in TOPICS:
                found = consumer.partitions_for_topic(self.names(logical)) or set()
                tps += [TopicPartition(self.names(logical), p) for p in sorted(found)]
            ends = consumer.end_offsets(tps) if tps else {}
            begins = consumer.beginning_offsets(tps) if tps else {}
        finally:
            consumer.close()
        return [Part(tp.topic, tp.partition,
                     max(begins[tp], offsets.get(self.names.logical(tp.topic), {}).get(tp.partition, 0)), ends[tp])
                for tp in tps]

    def _sequential(self, parts: list[Part], state: MemoryState, total: int,
                    progress: Progress | None) -> tuple[MemoryState, int, int]:
        positions = {(p.topic, p.partition): p.start for p in parts}
        last = 0

        def checkpoint(n: int) -> None:
            nonlocal last
            if progress:
                progress(n, total)
            if n - last >= self.snapshot_every:
                offsets: Offsets = {t: {} for t in TOPICS}
                for (topic, partition), at in positions.items():
                    offsets[self.names.logical(topic)][partition] = at
                self.save_snapshot(Snapshot.of(state), offsets, n)
                last = n

        consumer = open_consumer(self.bootstrap)
        try:
            events, skipped = fold_parts(consumer, parts, state, self.registry, self.batch, checkpoint, positions)
        finally:
            consumer.close()
        return state, events, skipped

    def _parallel(self, parts: list[Part], total: int, progress: Progress | None,
                  clock: _Phases) -> tuple[MemoryState, int, int]:
        """Shares by partition number, so a report's events and its incidents' events land in the same share."""
        shares = [[p for p in parts if p.partition % self.workers == w] for w in range(self.workers)]
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        counters = [ctx.Value("q", 0) for _ in shares[1:]]
        children = [ctx.Process(target=_share_main, args=(self.bootstrap, self.registry, share, self.batch, c, results),
                                daemon=True) for share, c in zip(shares[1:], counters, strict=True)]
        for child in children:
            child.start()
        mine = MemoryState()

        def report(n: int) -> None:
            if progress:
                progress(n + sum(c.value for c in counters), total)

        consumer = open_consumer(self.bootstrap)
        try:
            events, skipped = fold_parts(consumer, shares[0], mine, self.registry, self.batch, report)
        finally:
            consumer.close()
        clock.lap("read_and_fold")
        states = [mine]
        for _ in children:
            state, n, k = results.get()
            states.append(state)
            events, skipped = events + n, skipped + k
        for child in children:
            child.join(timeout=30)
            if child.exitcode != 0:
                raise RuntimeError(f"a rebuild worker failed with exit code {child.exitcode}")
        if progress:
            progress(events, total)
        clock.lap("wait_and_transfer")
        merged = merge(states)
        clock.lap("merge")
        return merged, events, skipped

    # snapshots ---------------------------------------------------------------------------

    def save_snapshot(self, snap: Snapshot, offsets: Offsets, events: int) -> None:
        body = canonical(snapshot_document(snap))
        plain = {t: {str(p): o for p, o in sorted(parts.items())} for t, parts in sorted(offsets.items())}
        with self.db.transaction() as s:
            s.execute(tables.snapshots.insert().values(
                created_at=self.clock.now(), offsets=json.dumps(plain, sort_keys=True), events=events,
                digest=hashlib.sha256(body).hexdigest(), state=gzip.compress(body, compresslevel=1)))

    def latest_snapshot(self) -> tuple[int, Snapshot, Offsets] | None:
        with self.db.sessions() as s:
            row = s.execute(select(tables.snapshots).order_by(tables.snapshots.c.id.desc()).limit(1)).mappings().first()
        if row is None:
            return None
        body = gzip.decompress(row["state"])
        if hashlib.sha256(body).hexdigest() != row["digest"]:
            log.warning("snapshot failed its checksum; replaying from offset 0", extra={"snapshot": row["id"]})
            return None
        offsets: dict[str, Any] = json.loads(row["offsets"])
        return (int(row["events"]), snapshot_from_bytes(body),
                {t: {int(p): int(o) for p, o in parts.items()} for t, parts in offsets.items()})


def projection_document(snap: Snapshot, registry: AreaRegistry) -> dict[str, Any]:
    """The fold's facts, every area's picture and every site's risk as of the watermark: both sides of a
    rebuild compare this."""
    doc = snapshot_document(snap)
    if snap.watermark is not None:
        areas, unknown = pictures(registry, snap.reports, snap.incidents, snap.tensions, snap.watermark)
        doc["areas"] = {code: p.document() for code, p in areas.items()}
        doc["unknown_areas"] = unknown
        doc["site_risk"] = site_risks(snap, {code: p.level for code, p in areas.items()}, snap.watermark)
    return doc


def site_risks(snap: Snapshot, area_levels: dict[str, str], as_of: datetime) -> dict[str, Any]:
    """Each site's risk matrix from the snapshot's facts, as the live pages compute it from the database."""
    by_area: dict[str, list[ReportFacts]] = defaultdict(list)
    by_id = {r.report_id: r for r in snap.reports}
    for r in snap.reports:
        by_area[r.area].append(r)
    decided: dict[str, dict[str, bool]] = defaultdict(dict)
    for link in snap.links:
        decided[link.site_id][link.report_id] = link.linked
    risks = {}
    for site in snap.sites:
        mine = decided[site.site_id]
        reports = {r.report_id: r for r in by_area[site.area]}
        reports.update((i, by_id[i]) for i, linked in mine.items() if linked and i in by_id)
        level = area_levels.get(site.area, "low")
        risks[site.site_id] = assess_site(site, reports.values(), mine, level, snap.tensions, snap.outcomes,
                                          as_of).document()
    return risks


def projection_bytes(snap: Snapshot, registry: AreaRegistry) -> bytes:
    """The canonical bytes a rebuild must reproduce."""
    return canonical(projection_document(snap, registry))


def live_digest(db: Database, registry: AreaRegistry) -> str:
    with db.snapshot() as s:
        return hashlib.sha256(projection_bytes(load_snapshot(s), registry)).hexdigest()

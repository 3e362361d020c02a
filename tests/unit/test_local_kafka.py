"""The local broker's storage format: a cluster id that begins with "-" once broke a clean-clone CI run
(the storage tool read it as an option)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from infra.kafka import local


def test_cluster_ids_are_kafka_shaped_and_never_begin_with_a_dash() -> None:
    ids = [local._cluster_id() for _ in range(5000)]  # a leading "-" is 1 in 64: 5000 draws would show it
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", i) for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.skipif(not (local.LIBS.exists() and shutil.which("java")), reason="needs Java and the Kafka jars")
def test_storage_is_formatted_even_for_a_cluster_id_that_looks_like_an_option(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "_cluster_id", lambda: "-W4zO2snQA-zj5xgxSeyBw")
    local.LocalKafka(tmp_path)._configure()
    assert "cluster.id=-W4zO2snQA-zj5xgxSeyBw" in (tmp_path / "data" / "meta.properties").read_text()

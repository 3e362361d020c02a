"""The published contracts: a JSON Schema per event type and an AsyncAPI 3 document per topic.

Generated from the pydantic models; a test fails when the checked-in files drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from shared import topics
from shared.events import registry

KEY_OF = {
    topics.REPORTS: "report id",
    topics.INCIDENTS: "report id (tension events: area code)",
    topics.NOTIFICATIONS: "notification id",
    topics.AREAS: "area code",
    topics.PARTNER: "pseudonymous id",
    topics.STAFF: "staff account id",
    topics.SITES: "site id",
}


def event_schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for type_name, cls in sorted(registry().items()):
        schema = cls.model_json_schema(mode="serialization")
        schema["$id"] = f"https://vigil.invalid/schemas/{type_name}.json"
        schema["title"] = type_name
        out[type_name] = schema
    return out


def asyncapi() -> dict[str, Any]:
    by_topic: dict[str, list[str]] = {}
    for type_name, cls in sorted(registry().items()):
        by_topic.setdefault(cls.TOPIC, []).append(type_name)
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic, types in sorted(by_topic.items()):
        channel_id = topic.replace(".", "_")
        refs = {}
        for type_name in types:
            mid = type_name.replace(".", "_")
            messages[mid] = {
                "name": type_name, "contentType": "application/json",
                "payload": {"$ref": f"./schemas/{type_name}.json"},
                "bindings": {"kafka": {"key": {"type": "string", "description": KEY_OF.get(topic, "")}}},
                "traits": [{"$ref": "#/components/messageTraits/cloudevent"}],
            }
            refs[mid] = {"$ref": f"#/components/messages/{mid}"}
        channels[channel_id] = {
            "address": topic, "messages": refs,
            "bindings": {"kafka": {"topic": topic, "topicConfiguration": {
                "cleanup.policy": [topics.CONFIGS[topic]["cleanup.policy"]],
                "retention.ms": int(topics.CONFIGS[topic]["retention.ms"])}}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Vigil events", "version": "1.0.0",
                 "description": "Every event is a CloudEvent 1.0 in Kafka binary mode: the JSON data is "
                                "the record value, attributes are ce_* headers, the key is the aggregate id."},
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {
            "messages": messages,
            "messageTraits": {"cloudevent": {"headers": {"type": "object", "required": [
                "ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "content-type"],
                "properties": {h: {"type": "string"} for h in (
                    "ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject",
                    "ce_sequence", "content-type", "traceparent", "tracestate")}}}},
        },
    }


def rendered(docs: Path) -> dict[Path, str]:
    files = {docs / "schemas" / f"{t}.json": json.dumps(s, indent=2, sort_keys=True) + "\n"
             for t, s in event_schemas().items()}
    files[docs / "asyncapi.yaml"] = yaml.safe_dump(asyncapi(), sort_keys=False, allow_unicode=True)
    return files


def write_contracts(docs: Path) -> list[Path]:
    files = rendered(docs)
    (docs / "schemas").mkdir(parents=True, exist_ok=True)
    for stale in set((docs / "schemas").glob("*.json")) - set(files):
        stale.unlink()
    for path, text in files.items():
        path.write_text(text)
    return sorted(files)


def check_contracts(docs: Path) -> list[str]:
    files = rendered(docs)
    drift = [f"{p} is out of date" for p, text in files.items() if not p.exists() or p.read_text() != text]
    extra = set((docs / "schemas").glob("*.json")) - set(files) if (docs / "schemas").exists() else set()
    drift += [f"{p} has no event type" for p in sorted(extra)]
    if drift:
        drift.append("run `vigil schemas` (make schemas) and commit the result")
    return drift

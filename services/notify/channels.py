"""Delivery channels behind one small interface."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    idempotency_key: str
    channel: str
    recipient: str
    subject: str
    body: str


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


class LogChannel:
    """Records the dispatch in the log: ids only, never the recipient or the text."""

    name = "log"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)
        log.info("notification dispatched", extra={"idempotency_key": message.idempotency_key,
                                                   "channel": self.name})

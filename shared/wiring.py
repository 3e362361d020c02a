"""Kafka wiring shared by every service's composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka import KafkaConsumer, KafkaProducer

from shared.kafka import make_consumer, make_producer
from shared.settings import VigilSettings
from shared.topics import TopicNames, ensure_topics


@dataclass
class KafkaWiring:
    settings: VigilSettings
    client_id: str
    names: TopicNames = field(init=False)

    def __post_init__(self) -> None:
        self.names = TopicNames(self.settings.topic_prefix)

    def producer(self) -> KafkaProducer:
        return make_producer(self.settings.kafka_bootstrap, self.client_id)

    def consumer(self, group: str) -> KafkaConsumer:
        return make_consumer(self.settings.kafka_bootstrap, group, self.client_id)

    def ensure_topics(self) -> None:
        ensure_topics(self.settings.kafka_bootstrap, self.names, self.settings.topic_partitions)

"""Vigil's common ground floor: events, Kafka, outbox/inbox, crypto, settings, clock, telemetry.

Imports no service.
"""

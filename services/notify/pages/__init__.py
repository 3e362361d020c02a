"""Notify's staff pages: on call now and next, escalation policies, overrides, deliveries sent and given up."""

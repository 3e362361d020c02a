"""Partner webhooks: the redacted partner view, signed, to each subscription entitled to it."""

"""Vigil's four services and the `vigil` command that composes them."""

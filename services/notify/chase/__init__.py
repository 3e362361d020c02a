"""Duty Inspector paging: the chase aggregate, its store, the rota and the application service."""

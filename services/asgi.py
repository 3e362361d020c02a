"""ASGI application factories for uvicorn, one per service and mode: `services.asgi:intake_all`.

`vigil <service> api|all --workers N` hands uvicorn these import strings, so every worker process
sets itself up exactly as a single-process service does: logging, tracing, settings from the
environment, then the composition root. The benchmarks start services the same way.
"""

from __future__ import annotations

from typing import Any


def build_app(name: str, mode: str) -> Any:
    from services.cli import service_module, service_settings
    from shared.logs import configure_logging
    from shared.runtime import tune_gc
    from shared.settings import VigilSettings
    from shared.telemetry import setup_telemetry

    vigil = VigilSettings()
    configure_logging(name, vigil.log_level)
    setup_telemetry(f"vigil-{name}", vigil.otel_exporter)
    module = service_module(name)
    settings = service_settings(name)
    app = module.create_app(module.build(vigil=vigil, settings=settings), with_worker=(mode == "all"))
    tune_gc(vigil.gc_gen0_threshold)
    if settings.internal_port is not None:  # the internal routes on their own port (shared/listeners.py)
        from shared.listeners import InternalListener

        return InternalListener(app, settings.internal_port)
    return app


def __getattr__(attr: str) -> Any:
    """`intake_api`, `triage_all`, ...: a zero-argument factory for uvicorn's `factory=True`."""
    from services.cli import SERVICES

    name, _, mode = attr.rpartition("_")
    if name in SERVICES and mode in ("api", "all"):
        return lambda: build_app(name, mode)
    raise AttributeError(attr)

"""The `vigil` command: one entry point for every service and task.

    vigil up                      the whole system: local Kafka, migrations, four services, the watchdog
    vigil intake api|worker|all   one service's HTTP face, its background work, or both
    vigil migrate [SERVICE]       alembic upgrade head for one service or all
    vigil schemas [--check]       regenerate (or verify) docs/schemas and the AsyncAPI document
    vigil kafka                   run the local broker in the foreground
    vigil watchdog                page the on-call administrator when a service stops doing its work

Every launcher stops what it started, by the process (group) id it recorded, on SIGTERM as on Ctrl-C.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from infra.procs import Supervisor, port_open, stop_process, wait_until

SERVICES = ("intake", "triage", "notify", "assessment")
MODES = {"api": "HTTP only", "worker": "consumers, outbox relay and timers", "all": "HTTP and worker in one process",
         "migrate": "upgrade the database to the latest migration"}
ROOT = Path(__file__).resolve().parent.parent
VIGIL = [sys.executable, "-m", "services.cli"]
log = logging.getLogger("vigil")


def service_module(name: str) -> ModuleType:
    return importlib.import_module(f"services.{name}.main")


def service_settings(name: str) -> Any:
    module = importlib.import_module(f"services.{name}.settings")
    cls = next(v for k, v in vars(module).items() if k.endswith("Settings") and k != "BaseSettings")
    return cls()


def migrate(names: list[str]) -> None:
    from shared.migrate import upgrade

    for name in names:
        settings = service_settings(name)
        upgrade(name, settings.database_url)
        print(f"  {name}: database at head ({_redact(settings.database_url)})")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def run_service(name: str, mode: str, workers: int = 1) -> None:
    from shared.logs import configure_logging
    from shared.settings import VigilSettings

    vigil = VigilSettings()
    configure_logging(name, vigil.log_level)
    settings = service_settings(name)
    if mode == "worker":
        from shared.runtime import tune_gc
        from shared.telemetry import setup_telemetry

        setup_telemetry(f"vigil-{name}", vigil.otel_exporter)
        runner = service_module(name).build(vigil=vigil, settings=settings).runner()
        tune_gc(vigil.gc_gen0_threshold)
        runner.run_until_signalled()
        return
    # Each worker process builds the service through services.asgi, as a single process does.
    if mode == "api" or workers == 1:
        serve_http(name, mode, workers, settings)
        return
    # `all` with several HTTP workers: they serve HTTP only, and one more process does the background work
    # (relay, consumers, timers), so no HTTP worker carries it for the others (ADR 0020).
    stop_on_signals()
    background = subprocess.Popen([sys.executable, "-m", "services.cli", name, "worker"], cwd=ROOT,
                                  start_new_session=True)  # its own group: stopped by id below
    try:
        serve_http(name, "api", workers, settings)
    finally:
        stop_process(background, grace=20)


def serve_http(name: str, mode: str, workers: int, settings: Any) -> None:
    import uvicorn

    options: dict[str, Any] = {"factory": True, "workers": workers, "host": settings.host, "port": settings.port,
                               "log_config": None, "access_log": False, "timeout_graceful_shutdown": 5,
                               **proxy_options(settings)}
    app = f"services.asgi:{name}_{mode}"
    if settings.internal_port is None:
        uvicorn.run(app, **options)
        return
    # Both ports, every worker serving both; the app sends each request to its port's routes (shared/listeners.py).
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(app, **options)
    internal = uvicorn.Config(app, **{**options, "port": settings.internal_port})
    sockets = [config.bind_socket(), internal.bind_socket()]
    try:
        if workers > 1:
            Multiprocess(config, sockets=sockets).run()
        else:
            config.load_app()
            uvicorn.Server(config).run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()


def proxy_options(settings: Any) -> dict[str, Any]:
    """uvicorn believes X-Forwarded-For (and -Proto) from VIGIL_TRUSTED_PROXIES only; left to itself it
    believes them from 127.0.0.1, so any process on the host could pick its own rate-limit bucket."""
    from shared.settings import VigilSettings

    if getattr(settings, "trust_forwarded_for", False):
        raise SystemExit("INTAKE_TRUST_FORWARDED_FOR is retired: set VIGIL_TRUSTED_PROXIES to the proxies' "
                         "addresses instead (docs/security.md)")
    proxies = [str(network) for network in VigilSettings().proxy_networks()]
    if not proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": proxies}


def internal_urls(env: dict[str, str]) -> dict[str, str]:
    """Where the services reach intake's, triage's and assessment's internal APIs: the ports this machine runs
    them on, unless set (VIGIL_INTAKE_INTERNAL_URL, VIGIL_TRIAGE_INTERNAL_URL, VIGIL_ASSESSMENT_INTERNAL_URL)."""
    for name in ("intake", "triage", "assessment"):
        settings = service_settings(name)
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104  (a comparison)
        port = settings.internal_port or settings.port
        env.setdefault(f"VIGIL_{name.upper()}_INTERNAL_URL", f"http://{host}:{port}")
    return env


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both raise KeyboardInterrupt, so a launcher's `finally` stops its children either way.
    Installed explicitly: a shell's background job inherits SIGINT ignored, and Python then installs no
    KeyboardInterrupt handler of its own; SIGTERM's default would end the launcher and orphan its children."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(_signum: int, _frame: object) -> None:
    """Once: later signals are ignored while the launcher stops its children. `make run` stopped by SIGTERM
    passes the signal on to its child, so `vigil up` gets it twice, and the second interrupt, raised inside
    the `finally`, left every service running without its launcher."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def up(args: argparse.Namespace) -> int:
    """Bring the whole system up on this machine and keep it up: a service that dies is started again
    (infra.procs.Supervisor) while the others go on. Ctrl-C or SIGTERM stops everything it started."""
    from infra.kafka.local import LocalKafka
    from shared.settings import VigilSettings

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    stop_on_signals()
    vigil = VigilSettings()
    data = ROOT / vigil.data_dir
    data.mkdir(parents=True, exist_ok=True)
    broker = None
    host, _, port = vigil.kafka_bootstrap.rpartition(":")
    if args.no_kafka or port_open(int(port), host or "127.0.0.1"):
        print(f"Kafka: using the broker at {vigil.kafka_bootstrap}")
    else:
        print("Kafka: starting a local broker ...", flush=True)
        started = time.monotonic()
        broker = LocalKafka(data / "kafka", port=int(port), controller_port=int(port) + 1).start()
        print(f"Kafka: broker up at {broker.bootstrap} in {time.monotonic() - started:.1f}s")
    logs = data / "logs"
    logs.mkdir(exist_ok=True)
    supervisor = Supervisor(say=print, cwd=ROOT)
    try:
        print("Migrations:")
        migrate(list(SERVICES))
        env = internal_urls(dict(os.environ))
        for name in SERVICES:
            supervisor.start(name, [*VIGIL, name, "all"], _own(env, name), logs / f"{name}.log")
        _wait_for_ports(supervisor, 60)
        watchdog = supervisor.start("watchdog", [*VIGIL, "watchdog"], _own(env, "watchdog"), logs / "watchdog.log")
        print("\nVigil is up:")
        for child in supervisor.children[:len(SERVICES)]:
            settings = service_settings(child.name)
            print(f"  {child.name:<11} http://{settings.host}:{settings.port}/docs   (pid {child.pid})")
        print(f"  public form http://127.0.0.1:{service_settings('intake').port}/")
        print(f"  watchdog    {_watchdog_pages()}   (pid {watchdog.pid})")
        print(f"  logs        {logs}/\nA service that exits is started again. Press Ctrl-C to stop everything.")
        while True:
            supervisor.tick()
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping ...", flush=True)
        supervisor.stop(grace=20)
        if broker is not None:
            broker.stop()
        print("Stopped.")
    return 0


def _own(env: dict[str, str], name: str) -> dict[str, str]:
    """The shared environment without the secrets that are not `name`'s (docs/security.md)."""
    from shared.settings import foreign_secrets

    return {k: v for k, v in env.items() if k not in foreign_secrets(name)}


def _wait_for_ports(supervisor: Supervisor, timeout: float) -> None:
    """Until every service answers on its port, starting again any that dies meanwhile."""

    def all_open() -> bool:
        supervisor.tick()
        return all(port_open(s.port, s.host) for s in map(service_settings, SERVICES))

    wait_until(all_open, timeout, "the services to answer on their ports")


def _watchdog_pages() -> str:
    from services.watchdog.settings import WatchdogSettings

    settings = WatchdogSettings()
    to = [a for a in (settings.admin_email, settings.admin_phone) if a]
    return f"pages {' and '.join(to)}" if to else "logs problems (WATCHDOG_ADMIN_EMAIL to be paged)"


def kafka_foreground(_args: argparse.Namespace) -> int:
    from infra.kafka.local import LocalKafka
    from shared.settings import VigilSettings

    stop_on_signals()
    vigil = VigilSettings()
    port = int(vigil.kafka_bootstrap.rpartition(":")[2])
    broker = LocalKafka(ROOT / vigil.data_dir / "kafka", port=port, controller_port=port + 1)
    try:
        broker.start()  # interrupted while waiting for the broker, it stops the broker itself
        pid = broker.proc.pid if broker.proc else None
        print(f"Kafka broker at {broker.bootstrap} (pid {pid}); Ctrl-C or SIGTERM stops it.", flush=True)
        while broker.proc and broker.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


def watchdog_command(_args: argparse.Namespace) -> int:
    from services.watchdog.main import run_watchdog

    return run_watchdog()


def service_token_command(args: argparse.Namespace) -> int:
    """A fresh credential: the token goes to that service alone, its digest to every service it calls."""
    from shared.settings import new_service_token

    token, digest = new_service_token()
    name = args.service.upper()
    print(f"# give to {args.service} only:\nVIGIL_{name}_SERVICE_TOKEN={token}\n"
          f"# give to the services {args.service} calls (not a secret):\nVIGIL_{name}_SERVICE_TOKEN_SHA256={digest}")
    return 0


def schemas(args: argparse.Namespace) -> int:
    from shared.contracts import check_contracts, write_contracts

    if args.check:
        drift = check_contracts(ROOT / "docs")
        for line in drift:
            print(line, file=sys.stderr)
        return 1 if drift else 0
    for path in write_contracts(ROOT / "docs"):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vigil", description="Vigil: hate-crime reporting and response.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up_p = sub.add_parser("up", help="start the whole system locally")
    up_p.add_argument("--no-kafka", action="store_true", help="use VIGIL_KAFKA_BOOTSTRAP, start no broker")
    up_p.set_defaults(func=up)
    services = {}
    for name in SERVICES:
        sp = sub.add_parser(name, help=f"run the {name} service, or one of its tasks")
        modes = sp.add_subparsers(dest="mode", required=True, metavar="MODE")
        for mode, text in MODES.items():
            mp = modes.add_parser(mode, help=text)
            mp.set_defaults(func=functools.partial(_service_command, name))
            if mode in ("api", "all"):
                mp.add_argument("--workers", type=_positive, default=1,
                                help="HTTP worker processes (default 1; PostgreSQL for more than one). With "
                                     "'all' and more than one, one more process does the background work")
        services[name] = modes
    mig = sub.add_parser("migrate", help="upgrade service databases to the latest migration")
    mig.add_argument("service", nargs="?", choices=SERVICES)
    mig.set_defaults(func=_migrate_command)
    sch = sub.add_parser("schemas", help="write docs/schemas/*.json and docs/asyncapi.yaml")
    sch.add_argument("--check", action="store_true", help="fail if the checked-in documents have drifted")
    sch.set_defaults(func=schemas)
    kf = sub.add_parser("kafka", help="run the local single-node broker in the foreground")
    kf.set_defaults(func=kafka_foreground)
    wd = sub.add_parser("watchdog", help="check every service; page the on-call administrator directly")
    wd.set_defaults(func=watchdog_command)
    tok = sub.add_parser("service-token", help="make a new credential for a service, and the digest the others know")
    tok.add_argument("service", choices=SERVICES)
    tok.set_defaults(func=service_token_command)
    for name, modes in services.items():
        _register_service_commands(name, sub, modes)
    return p


def _register_service_commands(name: str, commands: Any, modes: Any) -> None:
    """A service adds its tasks in services/<name>/cli.py: `register(commands, modes)` may add
    modes of its own (`vigil assessment rebuild`) or top-level commands (`vigil intake-key`)."""
    try:
        module = importlib.import_module(f"services.{name}.cli")
    except ModuleNotFoundError as e:
        if e.name != f"services.{name}.cli":
            raise
        return
    module.register(commands, modes)


def _migrate_command(args: argparse.Namespace) -> int:
    migrate([args.service] if args.service else list(SERVICES))
    return 0


def _service_command(name: str, args: argparse.Namespace) -> int:
    if args.mode == "migrate":
        migrate([name])
    else:
        run_service(name, args.mode, getattr(args, "workers", 1))
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())

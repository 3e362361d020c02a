"""A throwaway PostgreSQL server from the system's own binaries, for tests.

initdb in a temporary directory, a spare port on 127.0.0.1; stopped by process id. Run as
the `postgres` user when we are root, since the server refuses root.

For tests the server does not wait for the disk (fsync, synchronous_commit and full_page_writes
off): a test proves behaviour, and a crash of the machine loses only scratch data. `durable=True`
keeps PostgreSQL's own defaults, so that a commit is on disk before it returns: the benchmarks use
it, since a 202 from intake promises a durable report (ADR 0048).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from infra.procs import free_port, port_open, stop_process, wait_until


class PostgresSetupError(RuntimeError):
    pass


def find_bindir() -> Path:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if candidates:
        return Path(candidates[-1]).parent
    raise PostgresSetupError("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")


NOT_WAITING_FOR_THE_DISK = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


class LocalPostgres:
    def __init__(self, data_dir: Path, port: int | None = None, durable: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None
        self.user = "vigil"
        self._log_start = 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def _as_server_user(self, cmd: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return cmd
        try:
            pwd.getpwnam("postgres")
        except KeyError as e:
            raise PostgresSetupError("running as root needs a 'postgres' system user") from e
        return ["runuser", "-u", "postgres", "--", *cmd]

    def start(self, timeout: float = 60.0) -> LocalPostgres:
        bindir = find_bindir()
        pgdata = self.data_dir / "pgdata"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        if not (pgdata / "PG_VERSION").exists():
            result = subprocess.run(
                self._as_server_user([str(bindir / "initdb"), "-D", str(pgdata), "-U", self.user,
                                      "--auth=trust", "-E", "UTF8", "--no-sync"]),
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise PostgresSetupError(f"initdb failed: {result.stderr.strip()[-1500:]}")
        log_path = self.data_dir / "postgres.log"
        self._log_start = log_path.stat().st_size if log_path.exists() else 0  # a restart appends
        log = open(log_path, "ab")  # noqa: SIM115  (the server owns it)
        cmd = self._as_server_user([
            str(bindir / "postgres"), "-D", str(pgdata), "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.data_dir}",
            "-c", "max_connections=300",
            *([] if self.durable else NOT_WAITING_FOR_THE_DISK),
        ])
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(self._ready, timeout, f"PostgreSQL on port {self.port}")
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise PostgresSetupError(f"postgres exited early; see {self.data_dir / 'postgres.log'}")
        with open(self.data_dir / "postgres.log", "rb") as f:
            f.seek(self._log_start)
            return b"ready to accept connections" in f.read() and port_open(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, sig=signal.SIGINT)  # fast shutdown
            self.proc = None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

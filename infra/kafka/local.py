"""A single-node KRaft Kafka broker run from the jars in infra/kafka/libs.

Used by `vigil up` and by the test suite when no broker address is given.
The jars come from Maven Central through infra/kafka/pom.xml (`ensure_jars`).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from string import Template

from infra.procs import free_port, port_open, stop_process, wait_until

HERE = Path(__file__).resolve().parent
LIBS = HERE / "libs"


class KafkaSetupError(RuntimeError):
    pass


def ensure_jars(quiet: bool = True) -> Path:
    if LIBS.is_dir() and any(LIBS.glob("kafka_2.13-*.jar")):
        return LIBS
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise KafkaSetupError(
                f"'{tool}' was not found: the local Kafka broker needs Java 17+ and Maven "
                "(Debian: apt-get install openjdk-17-jre-headless maven)."
            )
    print("Fetching the Kafka broker's jars with Maven (first run only) ...", file=sys.stderr, flush=True)
    cmd = ["mvn", "-B", "-f", str(HERE / "pom.xml"), "dependency:copy-dependencies"]
    if quiet:
        cmd.insert(1, "-q")
    result = subprocess.run(cmd, capture_output=quiet, text=True)
    if result.returncode != 0:
        detail = (result.stdout or "")[-2000:] if quiet else ""
        raise KafkaSetupError(f"fetching the Kafka jars with Maven failed:\n{detail}")
    return LIBS


def _cluster_id() -> str:
    """A random cluster id as Kafka makes them (base64url of 16 bytes), never starting with "-": Kafka's own
    Uuid.randomUuid() draws again in that case, since a command line would read it as an option."""
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return cluster_id


class LocalKafka:
    """One broker process in `data_dir`; stop() stops exactly the process start() made."""

    def __init__(self, data_dir: Path, port: int | None = None, controller_port: int | None = None,
                 heap: str = "-Xms256m -Xmx512m") -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.heap = heap
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, *args: str) -> list[str]:
        return ["java", "-cp", str(LIBS / "*"), *args]

    def _configure(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_dirs = self.data_dir / "data"
        props = Template((HERE / "server.properties.template").read_text()).substitute(
            port=self.port, controller_port=self.controller_port, log_dirs=log_dirs
        )
        path = self.data_dir / "server.properties"
        path.write_text(props)
        if not (log_dirs / "meta.properties").exists():
            formatted = subprocess.run(
                self._java("kafka.tools.StorageTool", "format", "--standalone",
                           f"--cluster-id={_cluster_id()}", "-c", str(path)),
                capture_output=True, text=True,
            )
            if formatted.returncode != 0:
                raise KafkaSetupError(f"formatting the broker's storage failed:\n{formatted.stderr[-2000:]}")
        return path

    def start(self, timeout: float = 90.0) -> LocalKafka:
        ensure_jars()
        if port_open(self.port):
            raise KafkaSetupError(f"port {self.port} is already in use; is another broker running?")
        props = self._configure()
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        log = logs / "server.log"
        self._log_start = log.stat().st_size if log.exists() else 0  # a restart appends: read only what is new
        out = open(logs / "stdout.log", "ab")  # noqa: SIM115  (the broker owns it)
        cmd = ["java", *self.heap.split(), f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}",
               f"-Dkafka.logs.dir={logs}", "-cp", str(LIBS / "*"), "kafka.Kafka", str(props)]
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(self._ready, timeout, f"the Kafka broker on {self.bootstrap}")
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise KafkaSetupError(f"the broker exited early; see {self.data_dir / 'logs'}")
        log = self.data_dir / "logs" / "server.log"
        if not log.exists():
            return False
        with open(log, "rb") as f:
            f.seek(self._log_start)
            return b"Kafka Server started" in f.read()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

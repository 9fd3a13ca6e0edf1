"""The local stack without Docker: one Apache Kafka broker (KRaft) and one PostgreSQL server,
with two dev servers beside them, a mail sink and a fake SMS gateway (`amiable_cli.sinks`).

All run as plain processes under a state folder (default `<repo>/.amiable`, or
`AMIABLE_STATE_DIR`), on their own ports, and keep running after the calling process exits:

    <state>/stack.lock                  serializes up()/down() of concurrent callers
    <state>/m2/                         Maven's local repository (the Kafka jars, once)
    <state>/kafka/lib/                  the broker's classpath (Maven, deploy/local/kafka/pom.xml)
    <state>/kafka/server.properties     rendered from deploy/local/kafka/server.properties
    <state>/kafka/cluster.id            the KRaft cluster id, generated once
    <state>/kafka/data/                 log.dirs (KRaft metadata and topic data)
    <state>/kafka/logs/                 server.log, controller.log, ..., kafka.out, maven.log
    <state>/kafka/kafka.pid
    <state>/postgres/data/              the cluster (initdb), includes amiable.conf
    <state>/postgres/logs/postgresql.log
    <state>/postgres/run/               the unix socket
    <state>/mail/, <state>/sms/         the mail sink's and the SMS fake's (amiable_cli.sinks)

This module is plain Python (no CLI framework): the `amiable stack` command and the pytest set-up
call `up()`, `down()`, `status()` and `is_up()`.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from amiable_events.topics import CLAIM_EVENTS_TOPIC, dlq_topic, ensure_topics

__all__ = [
    "DB_PASSWORD",
    "DB_USER",
    "StackConfig",
    "StackError",
    "StackStatus",
    "Tools",
    "databases",
    "down",
    "ensure_prerequisites",
    "is_up",
    "service_names",
    "status",
    "up",
]

DB_USER = "amiable"
DB_PASSWORD = "amiable"

KAFKA_START_TIMEOUT_S = 90.0
KAFKA_STOP_TIMEOUT_S = 60.0
POSTGRES_TIMEOUT_S = 60
KAFKA_JVM_OPTS = (
    "-Xms256m",
    "-Xmx768m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)
MIN_JAVA = 17
LOG_TAIL_LINES = 30

# Debian packages that bring each prerequisite.
_APT_PACKAGES = {"java": "default-jdk-headless", "mvn": "maven", "postgres": "postgresql"}
_WHAT = {
    "java": "a JDK 17+ (java)",
    "mvn": "Maven (mvn)",
    "postgres": "the PostgreSQL server binaries (initdb, pg_ctl, postgres)",
}

Log = Callable[[str], Any]
T = TypeVar("T")


class StackError(RuntimeError):
    """The local stack cannot be provisioned, started or stopped; the message says why."""


# --------------------------------------------------------------------------------------------
# what the declared services need: a database and a dead-letter topic each


def service_names() -> list[str]:
    """The declared services (``amiable.services`` entry points), in port order."""
    from amiable_events.service import declared

    return list(declared())


def databases() -> list[str]:
    """Every database the stack creates: one per declared service, then the keys' database."""
    from amiable_events.service import KEYS_DATABASE, declared

    return [service.database for service in declared().values()] + [KEYS_DATABASE]


# --------------------------------------------------------------------------------------------
# configuration and status


@functools.cache
def repo_root() -> Path:
    """The repository holding `deploy/local` (found from this file, else the working folder)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "deploy" / "local").is_dir():
            return parent
    cwd = Path.cwd().resolve()
    for parent in (cwd, *cwd.parents):
        if (parent / "deploy" / "local").is_dir():
            return parent
    raise StackError("cannot find the repository's deploy/local folder from " + str(here))


def deploy_dir() -> Path:
    return repo_root() / "deploy" / "local"


@dataclass(frozen=True)
class StackConfig:
    """Where the local stack lives and which ports it uses.

    From the environment: `AMIABLE_STATE_DIR` (default `<repo>/.amiable`),
    `AMIABLE_STACK_KAFKA_PORT` (19092; the KRaft controller takes the next port),
    `AMIABLE_STACK_POSTGRES_PORT` (15432), `AMIABLE_STACK_SMTP_PORT` (11025, the mail sink) and
    `AMIABLE_STACK_SMS_PORT` (11080, the fake SMS gateway).
    """

    state_dir: Path
    kafka_port: int = 19092
    postgres_port: int = 15432
    smtp_port: int = 11025
    sms_port: int = 11080

    @classmethod
    def from_env(cls) -> StackConfig:
        raw = os.environ.get("AMIABLE_STATE_DIR")
        state = Path(raw).expanduser() if raw else repo_root() / ".amiable"
        return cls(
            state_dir=state.resolve(),
            kafka_port=int(os.environ.get("AMIABLE_STACK_KAFKA_PORT", "19092")),
            postgres_port=int(os.environ.get("AMIABLE_STACK_POSTGRES_PORT", "15432")),
            smtp_port=int(os.environ.get("AMIABLE_STACK_SMTP_PORT", "11025")),
            sms_port=int(os.environ.get("AMIABLE_STACK_SMS_PORT", "11080")),
        )

    @property
    def controller_port(self) -> int:
        return self.kafka_port + 1

    @property
    def kafka_bootstrap(self) -> str:
        return f"localhost:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        """The server URL, without a database: services append `/amiable_<service>`."""
        return f"postgresql://{DB_USER}:{DB_PASSWORD}@localhost:{self.postgres_port}"

    def database_url_for(self, database: str) -> str:
        return f"{self.database_url}/{database}"

    @property
    def smtp_host(self) -> str:
        return "127.0.0.1"

    @property
    def sms_gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.sms_port}"

    # layout of the state folder
    @property
    def lock_file(self) -> Path:
        return self.state_dir / "stack.lock"

    @property
    def maven_repo(self) -> Path:
        return self.state_dir / "m2"

    @property
    def kafka_dir(self) -> Path:
        return self.state_dir / "kafka"

    @property
    def kafka_lib(self) -> Path:
        return self.kafka_dir / "lib"

    @property
    def kafka_data(self) -> Path:
        return self.kafka_dir / "data"

    @property
    def kafka_logs(self) -> Path:
        return self.kafka_dir / "logs"

    @property
    def kafka_properties(self) -> Path:
        return self.kafka_dir / "server.properties"

    @property
    def kafka_pid_file(self) -> Path:
        return self.kafka_dir / "kafka.pid"

    @property
    def postgres_dir(self) -> Path:
        return self.state_dir / "postgres"

    @property
    def postgres_data(self) -> Path:
        return self.postgres_dir / "data"

    @property
    def postgres_logs(self) -> Path:
        return self.postgres_dir / "logs"

    @property
    def postgres_log_file(self) -> Path:
        return self.postgres_logs / "postgresql.log"

    @property
    def postgres_socket_dir(self) -> Path:
        return self.postgres_dir / "run"

    @property
    def mail_dir(self) -> Path:
        return self.state_dir / "mail"

    @property
    def sms_dir(self) -> Path:
        return self.state_dir / "sms"


@dataclass(frozen=True)
class StackStatus:
    kafka_running: bool
    postgres_running: bool
    kafka_pid: int | None
    postgres_pid: int | None
    bootstrap: str
    database_url: str
    state_dir: Path
    smtp_pid: int | None = None
    sms_pid: int | None = None
    smtp_address: str = ""
    sms_gateway_url: str = ""

    @property
    def running(self) -> bool:
        """Kafka and PostgreSQL run: what the services need."""
        return self.kafka_running and self.postgres_running

    @property
    def sinks_running(self) -> bool:
        """The mail sink and the SMS fake run: what sending needs."""
        return self.smtp_pid is not None and self.sms_pid is not None


# --------------------------------------------------------------------------------------------
# prerequisites


@dataclass(frozen=True)
class Tools:
    java: str
    mvn: str
    pg_bin: Path  # folder with initdb, pg_ctl, postgres (and usually psql, pg_isready)
    pg_major: int


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def _find_java() -> str | None:
    candidates = []
    if java_home := os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(java_home) / "bin" / "java"))
    if found := shutil.which("java"):
        candidates.append(found)
    for java in candidates:
        if os.access(java, os.X_OK) and (_java_major(java) or 0) >= MIN_JAVA:
            return java
    return None


def _pg_bin_dirs() -> list[tuple[int, Path]]:
    """Folders holding initdb, pg_ctl and postgres, newest major version first."""
    dirs: list[Path] = []
    if found := shutil.which("initdb"):
        dirs.append(Path(found).resolve().parent)
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    result: dict[Path, int] = {}
    for folder in dirs:
        if folder in result or not all(
            os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")
        ):
            continue
        try:
            out = subprocess.run(
                [str(folder / "postgres"), "--version"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if match := re.search(r"\(PostgreSQL\) (\d+)", out):
            result[folder] = int(match.group(1))
    return sorted(((major, folder) for folder, major in result.items()), reverse=True)


def _missing_tools() -> tuple[list[str], dict[str, Any]]:
    found: dict[str, Any] = {
        "java": _find_java(),
        "mvn": shutil.which("mvn"),
        "postgres": _pg_bin_dirs() or None,
    }
    return [name for name, value in found.items() if not value], found


_apt_updated = False


def _apt_install(packages: list[str], log: Log) -> None:
    global _apt_updated
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    commands = []
    if not _apt_updated:
        commands.append(["apt-get", "update"])
    commands.append(["apt-get", "install", "-y", "--no-install-recommends", *packages])
    for command in commands:
        log("stack: " + " ".join(command))
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-LOG_TAIL_LINES:])
            raise StackError(f"`{' '.join(command)}` failed:\n{tail}")
        if command[1] == "update":
            _apt_updated = True


@functools.cache
def _cached_tools() -> Tools | None:
    missing, found = _missing_tools()
    if missing:
        return None
    major, folder = found["postgres"][0]
    return Tools(java=found["java"], mvn=found["mvn"], pg_bin=folder, pg_major=major)


def ensure_prerequisites(*, log: Log = print) -> Tools:
    """Find java (17+), mvn and the PostgreSQL server binaries; install them when root.

    As root with apt-get, missing ones are installed from the Debian packages
    (default-jdk-headless, maven, postgresql). Otherwise a `StackError` names what to install.
    """
    if tools := _cached_tools():
        return tools
    _cached_tools.cache_clear()
    missing, _ = _missing_tools()
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _apt_install([_APT_PACKAGES[name] for name in missing], log)
        missing, _ = _missing_tools()
    if missing:
        what = [_WHAT[name] for name in missing]
        listed = what[0] if len(what) == 1 else ", ".join(what[:-1]) + " and " + what[-1]
        packages = " ".join(_APT_PACKAGES[name] for name in missing)
        raise StackError(
            f"The local stack needs {listed}: install {'it' if len(what) == 1 else 'them'} "
            "(on Debian or Ubuntu: "
            f"`sudo apt-get install {packages}`) and run it again."
        )
    tools = _cached_tools()
    assert tools is not None
    return tools


# --------------------------------------------------------------------------------------------
# small process and file helpers


def _proc_state(pid: int) -> str | None:
    """The state letter of a process (R, S, Z, ...), or None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return stat.rsplit(")", 1)[-1].split()[0]


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _with_log(message: str, *logs: Path) -> str:
    for path in logs:
        if tail := _tail(path):
            message += f"\n--- last lines of {path} ---\n{tail}"
    return message


def _port_open(port: int, host: str = "localhost") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _terminate(pid: int, timeout_s: float) -> None:
    """SIGTERM, wait up to timeout_s, then SIGKILL."""
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)
    if _alive(pid):
        raise StackError(f"process {pid} survived SIGKILL")


def _render(template: Path, dest: Path, values: dict[str, Any]) -> None:
    text = string.Template(template.read_text()).substitute(values)
    if not dest.exists() or dest.read_text() != text:
        dest.write_text(text)


# The launcher runs as its own short-lived process: the server it starts is orphaned at once,
# so it never becomes a zombie child of a long-lived caller (pytest), and it sits in its own
# session, out of reach of the caller's Ctrl-C.
_LAUNCHER = """\
import subprocess, sys
log, cwd, *command = sys.argv[1:]
with open(log, "ab") as out:
    process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
print(process.pid)
"""


def _spawn_detached(command: list[str], *, log_file: Path, cwd: Path) -> int:
    result = subprocess.run(
        [sys.executable, "-I", "-c", _LAUNCHER, str(log_file), str(cwd), *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"cannot start {command[0]}: {result.stderr.strip()}")
    return int(result.stdout.strip())


def _run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from sync code, also when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Silence library loggers while polling a server that is still starting."""
    saved = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _locked(config: StackConfig) -> Iterator[None]:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    with config.lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# Kafka


def _kafka_pid(config: StackConfig, *, clean: bool = False) -> int | None:
    """The pid of our running broker; a stale pid file is removed when `clean`."""
    pid = _read_pid(config.kafka_pid_file)
    if pid is None:
        if clean:
            config.kafka_pid_file.unlink(missing_ok=True)
        return None
    cmdline = _cmdline(pid)
    if _alive(pid) and "kafka.Kafka" in cmdline and str(config.kafka_properties) in cmdline:
        return pid
    if clean:
        config.kafka_pid_file.unlink(missing_ok=True)
    return None


def _log4j_opts(config: StackConfig) -> list[str]:
    return [
        f"-Dlog4j2.configurationFile={deploy_dir() / 'kafka' / 'log4j2.xml'}",
        f"-Dkafka.logs.dir={config.kafka_logs}",
    ]


def _ensure_kafka_lib(config: StackConfig, tools: Tools, log: Log) -> None:
    pom = deploy_dir() / "kafka" / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    marker = config.kafka_lib / ".pom.sha256"
    if marker.exists() and marker.read_text().strip() == digest:
        return
    log("stack: resolving the Kafka jars with Maven (the first time downloads about 45 MB)")
    staging = config.kafka_dir / "lib.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    maven_log = config.kafka_logs / "maven.log"
    command = [
        tools.mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        f"-Dmaven.repo.local={config.maven_repo}",
        "-DincludeScope=runtime",
    ]
    with maven_log.open("wb") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0 or not any(staging.glob("kafka_*.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        raise StackError(_with_log("Maven could not resolve the Kafka jars", maven_log))
    shutil.rmtree(config.kafka_lib, ignore_errors=True)
    staging.rename(config.kafka_lib)
    marker.write_text(digest + "\n")


def _cluster_id(config: StackConfig) -> str:
    path = config.kafka_dir / "cluster.id"
    if path.exists():
        return path.read_text().strip()
    # Kafka's Uuid.randomUuid(): 16 random bytes, url-safe base64 without padding, no leading "-".
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            break
    path.write_text(cluster_id + "\n")
    return cluster_id


def _prepare_kafka(config: StackConfig, tools: Tools, log: Log) -> None:
    for folder in (config.kafka_dir, config.kafka_data, config.kafka_logs):
        folder.mkdir(parents=True, exist_ok=True)
    _ensure_kafka_lib(config, tools, log)
    _render(
        deploy_dir() / "kafka" / "server.properties",
        config.kafka_properties,
        {
            "kafka_port": config.kafka_port,
            "controller_port": config.controller_port,
            "data_dir": config.kafka_data,
        },
    )
    if (config.kafka_data / "meta.properties").exists():
        return
    log("stack: formatting the Kafka storage (KRaft, standalone controller)")
    format_log = config.kafka_logs / "format.log"
    command = [
        tools.java,
        *_log4j_opts(config),
        "-cp",
        f"{config.kafka_lib}/*",
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "-t",
        _cluster_id(config),
        "-c",
        str(config.kafka_properties),
    ]
    with format_log.open("wb") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise StackError(_with_log("formatting the Kafka storage failed", format_log))


def _launch_kafka(config: StackConfig, tools: Tools) -> int:
    for port in (config.kafka_port, config.controller_port):
        if _port_open(port):
            raise StackError(
                f"port {port} is in use by another process, not by this stack's Kafka; "
                "stop it or set AMIABLE_STACK_KAFKA_PORT"
            )
    command = [
        tools.java,
        *KAFKA_JVM_OPTS,
        *_log4j_opts(config),
        f"-Damiable.stack.dir={config.state_dir}",
        "-cp",
        f"{config.kafka_lib}/*",
        "kafka.Kafka",
        str(config.kafka_properties),
    ]
    pid = _spawn_detached(command, log_file=config.kafka_logs / "kafka.out", cwd=config.kafka_dir)
    config.kafka_pid_file.write_text(f"{pid}\n")
    return pid


async def _kafka_answers(bootstrap: str, timeout_s: float = 5.0) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="amiable-stack",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        async with asyncio.timeout(timeout_s):
            await admin.start()
            cluster = await admin.describe_cluster()
            return bool(cluster.get("brokers"))
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def _wait_for_kafka(config: StackConfig, pid: int) -> None:
    logs = (config.kafka_logs / "server.log", config.kafka_logs / "kafka.out")
    deadline = time.monotonic() + KAFKA_START_TIMEOUT_S
    with _quiet("aiokafka"):
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise StackError(_with_log("Kafka exited while starting", *logs))
            if _port_open(config.kafka_port) and _run_sync(
                lambda: _kafka_answers(config.kafka_bootstrap)
            ):
                return
            time.sleep(0.25)
    raise StackError(_with_log(f"Kafka did not answer within {KAFKA_START_TIMEOUT_S:.0f} s", *logs))


def _stop_kafka(config: StackConfig, log: Log) -> None:
    pid = _kafka_pid(config, clean=True)
    if pid is not None:
        log(f"stack: stopping Kafka (pid {pid})")
        _terminate(pid, KAFKA_STOP_TIMEOUT_S)
    config.kafka_pid_file.unlink(missing_ok=True)


def _ensure_topics(config: StackConfig) -> None:
    try:
        _run_sync(lambda: ensure_topics(config.kafka_bootstrap, service_names()))
    except Exception as error:
        raise StackError(f"cannot create the Kafka topics: {error}") from error


# --------------------------------------------------------------------------------------------
# PostgreSQL


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse root: run them as the `postgres` system user then."""
    return ["runuser", "-u", "postgres", "--", *command] if _is_root() else command


def _postgres_pid(config: StackConfig) -> int | None:
    pid = _read_pid(config.postgres_data / "postmaster.pid")
    if pid is None or not _alive(pid):
        return None
    cmdline = _cmdline(pid)
    if cmdline and Path(cmdline[0]).name in ("postgres", "postmaster"):
        return pid
    return None


def _ensure_postgres_user(log: Log) -> None:
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        log("stack: creating the `postgres` system user")
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "postgres"],
            check=True,
            capture_output=True,
        )


def _prepare_postgres(config: StackConfig, tools: Tools, log: Log) -> None:
    socket_path = config.postgres_socket_dir / f".s.PGSQL.{config.postgres_port}"
    if len(str(socket_path)) > 100:
        raise StackError(
            f"the state folder path is too long for a unix socket ({socket_path}); "
            "set AMIABLE_STATE_DIR to a shorter path"
        )
    folders = (
        config.postgres_dir,
        config.postgres_data,
        config.postgres_logs,
        config.postgres_socket_dir,
    )
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    config.postgres_data.chmod(0o700)
    if _is_root():
        _ensure_postgres_user(log)
        for folder in folders:
            shutil.chown(folder, "postgres", "postgres")
        probe = subprocess.run(_as_postgres(["test", "-w", str(config.postgres_dir)]), check=False)
        if probe.returncode != 0:
            raise StackError(
                f"the `postgres` user cannot reach {config.postgres_dir}: make every parent "
                "folder traversable (chmod o+x) or set AMIABLE_STATE_DIR elsewhere"
            )
    pg_version = config.postgres_data / "PG_VERSION"
    if not pg_version.exists():
        log(f"stack: initializing PostgreSQL {tools.pg_major} in {config.postgres_data}")
        initdb_log = config.postgres_logs / "initdb.log"
        command = _as_postgres(
            [
                str(tools.pg_bin / "initdb"),
                "-D",
                str(config.postgres_data),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )
        with initdb_log.open("wb") as out:
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise StackError(_with_log("initdb failed", initdb_log))
        with (config.postgres_data / "postgresql.conf").open("a") as conf:
            conf.write("\n# amiable local stack\ninclude 'amiable.conf'\n")
    conf_file = config.postgres_data / "amiable.conf"
    _render(
        deploy_dir() / "postgres" / "amiable.conf",
        conf_file,
        {"port": config.postgres_port, "socket_dir": config.postgres_socket_dir},
    )
    if _is_root():
        shutil.chown(conf_file, "postgres", "postgres")


def _postgres_tools_for_data(config: StackConfig, tools: Tools) -> Tools:
    """The binaries matching the cluster's major version (PG_VERSION), if it exists."""
    try:
        data_major = int((config.postgres_data / "PG_VERSION").read_text().strip())
    except (OSError, ValueError):
        return tools
    if data_major == tools.pg_major:
        return tools
    for major, folder in _pg_bin_dirs():
        if major == data_major:
            return Tools(tools.java, tools.mvn, folder, major)
    raise StackError(
        f"{config.postgres_data} holds a PostgreSQL {data_major} cluster but only PostgreSQL "
        f"{tools.pg_major} is installed; reset the stack by deleting {config.state_dir}"
    )


def _start_postgres(config: StackConfig, tools: Tools) -> None:
    # A killed postmaster that nobody reaped yet (a zombie) still passes PostgreSQL's own
    # kill(pid, 0) check on its lock files, and it would refuse to start: clear the lock files
    # of a dead postmaster (PostgreSQL still guards its shared memory against live orphans).
    lock_files = [
        config.postgres_data / "postmaster.pid",
        *config.postgres_socket_dir.glob(".s.PGSQL.*.lock"),
    ]
    for lock_file in lock_files:
        pid = _read_pid(lock_file)
        if pid is not None and not _alive(pid):
            lock_file.unlink(missing_ok=True)
    if _port_open(config.postgres_port):
        raise StackError(
            f"port {config.postgres_port} is in use by another process, not by this stack's "
            "PostgreSQL; stop it or set AMIABLE_STACK_POSTGRES_PORT"
        )
    command = _as_postgres(
        [
            str(tools.pg_bin / "pg_ctl"),
            "-D",
            str(config.postgres_data),
            "-l",
            str(config.postgres_log_file),
            "-w",
            "-t",
            str(POSTGRES_TIMEOUT_S),
            "-s",
            "start",
        ]
    )
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        start_new_session=True,
        timeout=POSTGRES_TIMEOUT_S + 30,
        check=False,
    )
    if result.returncode != 0:
        _stop_postgres_with(config, tools, "immediate")
        raise StackError(
            _with_log(
                f"PostgreSQL did not start: {(result.stdout + result.stderr).strip()}",
                config.postgres_log_file,
            )
        )


def _stop_postgres_with(config: StackConfig, tools: Tools | None, mode: str) -> None:
    pid = _postgres_pid(config)
    if pid is None:
        return
    pg_ctl = None
    if tools is not None:
        pg_ctl = tools.pg_bin / "pg_ctl"
    else:
        cmdline = _cmdline(pid)
        candidate = Path(cmdline[0]).parent / "pg_ctl" if cmdline else None
        if candidate is not None and candidate.is_absolute() and candidate.exists():
            pg_ctl = candidate
    if pg_ctl is not None:
        command = [str(pg_ctl), "-D", str(config.postgres_data), "-m", mode, "-w", "-t", "60"]
        subprocess.run(
            _as_postgres([*command, "-s", "stop"]), capture_output=True, timeout=90, check=False
        )
    if _alive(pid):  # pg_ctl missing or failed: signals do the same (SIGINT = fast shutdown)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT if mode == "fast" else signal.SIGQUIT)
        deadline = time.monotonic() + 60
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            _terminate(pid, 0)


async def _ensure_databases(config: StackConfig) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host="localhost",
        port=config.postgres_port,
        user="postgres",
        database="postgres",
        timeout=10,
    )
    try:
        role = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", DB_USER)
        if role is None:
            with contextlib.suppress(asyncpg.DuplicateObjectError):
                await conn.execute(f"CREATE ROLE {DB_USER} LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'")
        else:
            await conn.execute(f"ALTER ROLE {DB_USER} LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'")
        rows = await conn.fetch("SELECT datname FROM pg_database")
        existing = {row["datname"] for row in rows}
        for database in databases():
            if database not in existing:
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                    await conn.execute(f'CREATE DATABASE "{database}" OWNER {DB_USER}')
    finally:
        await conn.close()


def _postgres_databases(config: StackConfig) -> None:
    try:
        _run_sync(lambda: _ensure_databases(config))
    except Exception as error:
        raise StackError(
            _with_log(f"cannot create the databases: {error}", config.postgres_log_file)
        ) from error


# --------------------------------------------------------------------------------------------
# public API


def status(config: StackConfig | None = None) -> StackStatus:
    """What runs now; never starts or changes anything."""
    # imported here, as in up() and down(): sinks builds on this module's process helpers
    from amiable_cli import sinks

    config = config or StackConfig.from_env()
    kafka_pid = _kafka_pid(config)
    postgres_pid = _postgres_pid(config)
    return StackStatus(
        kafka_running=kafka_pid is not None,
        postgres_running=postgres_pid is not None,
        kafka_pid=kafka_pid,
        postgres_pid=postgres_pid,
        bootstrap=config.kafka_bootstrap,
        database_url=config.database_url,
        state_dir=config.state_dir,
        smtp_pid=sinks.pid(sinks.mail_sink(config)),
        sms_pid=sinks.pid(sinks.sms_fake(config)),
        smtp_address=f"{config.smtp_host}:{config.smtp_port}",
        sms_gateway_url=config.sms_gateway_url,
    )


def up(config: StackConfig | None = None, *, log: Log = print) -> StackStatus:
    """Provision and start Kafka and PostgreSQL, then make the topics and databases; start the
    mail sink and the SMS fake.

    Idempotent: what already runs is left alone. On failure, whatever this call started is
    stopped again and a `StackError` carries the last lines of the failing log.
    """
    from amiable_cli import sinks

    config = config or StackConfig.from_env()
    with _locked(config):
        kafka_pid = _kafka_pid(config, clean=True)
        postgres_pid = _postgres_pid(config)
        started_kafka: int | None = None
        started_postgres = False
        tools: Tools | None = None
        try:
            if kafka_pid is None or postgres_pid is None:
                tools = ensure_prerequisites(log=log)
            # Provision everything first (Maven, format, initdb): nothing runs yet if it fails.
            if kafka_pid is None:
                assert tools is not None
                _prepare_kafka(config, tools, log)
            if postgres_pid is None:
                assert tools is not None
                _prepare_postgres(config, tools, log)
                tools = _postgres_tools_for_data(config, tools)
            # Kafka boots in the background (JVM) while PostgreSQL starts.
            if kafka_pid is None:
                assert tools is not None
                started_kafka = _launch_kafka(config, tools)
                log(f"stack: starting Kafka on {config.kafka_bootstrap} (pid {started_kafka})")
            if postgres_pid is None:
                assert tools is not None
                started_postgres = True
                _start_postgres(config, tools)
                log(f"stack: PostgreSQL started on localhost:{config.postgres_port}")
            _postgres_databases(config)
            if started_kafka is not None:
                _wait_for_kafka(config, started_kafka)
                log("stack: Kafka is up")
            _ensure_topics(config)
            sinks.start(config, log)
        except BaseException:
            if started_kafka is not None:
                with contextlib.suppress(Exception):
                    _terminate(started_kafka, KAFKA_STOP_TIMEOUT_S)
                config.kafka_pid_file.unlink(missing_ok=True)
            if started_postgres:
                with contextlib.suppress(Exception):
                    _stop_postgres_with(config, tools, "fast")
            raise
        return status(config)


def down(config: StackConfig | None = None, *, log: Log = print) -> None:
    """Stop Kafka (SIGTERM, up to 60 s, then SIGKILL), PostgreSQL (fast shutdown), the mail
    sink and the SMS fake.

    A no-op when nothing runs. Data stays in the state folder.
    """
    from amiable_cli import sinks

    config = config or StackConfig.from_env()
    if not config.state_dir.exists():
        return
    with _locked(config):
        sinks.stop(config, log)
        _stop_kafka(config, log)
        pid = _postgres_pid(config)
        if pid is not None:
            log(f"stack: stopping PostgreSQL (pid {pid})")
            _stop_postgres_with(config, _cached_tools(), "fast")


async def _healthy(config: StackConfig) -> bool:
    import asyncpg
    from aiokafka.admin import AIOKafkaAdminClient

    async def kafka_ok() -> bool:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=config.kafka_bootstrap,
            client_id="amiable-stack",
            request_timeout_ms=5000,
        )
        try:
            await admin.start()
            topics = set(await admin.list_topics())
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        wanted = {CLAIM_EVENTS_TOPIC, *(dlq_topic(service) for service in service_names())}
        return wanted <= topics

    async def postgres_ok() -> bool:
        try:
            conn = await asyncpg.connect(
                config.database_url_for(databases()[0]), timeout=5, command_timeout=5
            )
        except Exception:
            return False
        try:
            return await conn.fetchval("SELECT 1") == 1
        except Exception:
            return False
        finally:
            await conn.close()

    async with asyncio.timeout(15):
        results = await asyncio.gather(kafka_ok(), postgres_ok())
    return all(results)


def is_up(config: StackConfig | None = None) -> bool:
    """Both servers run and answer: Kafka has the topics, PostgreSQL accepts `amiable`."""
    config = config or StackConfig.from_env()
    current = status(config)
    if not current.running:
        return False
    with _quiet("aiokafka"):
        try:
            return _run_sync(lambda: _healthy(config))
        except Exception:
            return False

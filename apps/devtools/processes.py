"""Processes that tests and benchmark commands start and own: web servers, Celery workers,
a private Redis and a private PostgreSQL cluster.

Each one binds to loopback on a free port, is waited for until it answers, and is stopped
(with its children) when the context ends, so a failed test leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, *, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.returncode} before port {port} opened"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f}s")


@dataclass
class OwnedProcess:
    """A child process in its own process group, stopped with everything it started."""

    args: list[str]
    env: Mapping[str, str]
    log_path: Path
    popen: subprocess.Popen | None = field(default=None, init=False)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.args,
            env=dict(self.env),
            cwd=BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def signal(self, signum: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signum)

    def stop(self, *, timeout: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def project_env(**overrides: str) -> dict[str, str]:
    """This process's environment with settings overridden for a child process."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.setdefault("DJANGO_SETTINGS_MODULE", "hscjit.settings")
    env.update(overrides)
    return env


def load_run_env(**overrides: str) -> dict[str, str]:
    """The environment of a server that benchmarks and load runs start: every client comes
    from 127.0.0.1, so per-address limits are off; the echo floor is served; logs are quiet."""
    return project_env(
        BENCH_ECHO="1",
        LOG_LEVEL="WARNING",
        CHAT_ADDRESS_SESSIONS_PER_MINUTE="0",
        CHAT_ADDRESS_CONNECTIONS_PER_MINUTE="0",
        CHAT_ADDRESS_OPEN_SOCKETS="0",
        **overrides,
    )


# What daphne itself can bound, set the same way everywhere it runs (the Dockerfile, compose,
# Kubernetes and the processes tests start; deploy/tests checks they agree). Autobahn closes a
# bigger message with 1009 itself (an application may not send that code); the handshake and
# an unanswered ping are timed out; an app that does not end within 20 s of a disconnect is
# cancelled (the consumer's cleanup runs then too). Daphne has no request-header timeout:
# the proxy in front must have one (deploy/README.md).
DAPHNE_OPTIONS = (
    "--websocket-max-message-size", "65536",
    "--websocket-max-frame-size", "65536",
    "--websocket_connect_timeout", "10",
    "--ping-interval", "20",
    "--ping-timeout", "30",
    "--http-timeout", "120",
    "--application-close-timeout", "20",
)  # fmt: skip


@contextmanager
def web_server(env: Mapping[str, str], *, workdir: Path, port: int | None = None) -> Iterator[int]:
    """A daphne process serving the project; yields its port."""
    port = port or free_port()
    proc = OwnedProcess(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            *DAPHNE_OPTIONS,
            "hscjit.asgi:application",
        ],
        env,
        workdir / f"daphne-{port}.log",
    )
    proc.start()
    try:
        wait_for_port(port, process=proc.popen)
        yield port
    except BaseException:
        sys.stderr.write(proc.log_tail())
        raise
    finally:
        proc.stop()


@contextmanager
def celery_worker(
    env: Mapping[str, str], *, workdir: Path, name: str = "worker"
) -> Iterator[OwnedProcess]:
    """A Celery worker (solo pool, so a kill takes the task with it)."""
    proc = OwnedProcess(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "hscjit",
            "worker",
            "-P",
            "solo",
            "-l",
            "info",
            "-n",
            f"{name}-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        env,
        workdir / f"celery-{name}.log",
    )
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@dataclass
class RedisServer:
    """A private redis-server on a free port, restartable with its data kept in memory only."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: OwnedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.proc = OwnedProcess(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            os.environ,
            self.workdir / f"redis-{self.port}.log",
        )
        self.proc.start()
        wait_for_port(self.port, process=self.proc.popen)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries (initdb) are not installed")
    return found[-1].parent


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster in a temporary folder, with trust auth on loopback."""

    workdir: Path
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.datadir = self.workdir / "pgdata"
        self.bin = _postgres_bin()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(arg) for arg in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        self._run(
            self.bin / "initdb", "-D", self.datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )

    def start(self) -> None:
        self._run(
            self.bin / "pg_ctl",
            "-D",
            self.datadir,
            "-l",
            self.workdir / "pg.log",
            "-w",
            "start",
            "-o",
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off",
        )

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._run(self.bin / "pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "stop")


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

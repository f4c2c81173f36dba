"""Server settings, and how they travel to worker processes through the environment."""

from __future__ import annotations

import os

import msgspec

from cocvm.gateway.authentication import DEFAULT_MAX_CLOCK_SKEW_SECONDS, AuthMode
from cocvm.gateway.rate_limit import DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_REQUESTS_PER_SECOND
from cocvm.images.params import Profile
from cocvm.store.database import PoolSettings

SETTINGS_ENVIRONMENT_VARIABLE = "COCVM_SERVER_SETTINGS"
DEFAULT_REGIONS = ("cn-north-1", "cn-east-1", "cn-east-2", "cn-south-1", "cn-hongkong-11")


class ServerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The settings of one `cocvm serve`, which every worker process reads alike."""

    database_url: str
    profile: Profile = Profile.COC_VM
    regions: tuple[str, ...] = DEFAULT_REGIONS
    log_level: str = "INFO"
    auth_mode: AuthMode = AuthMode.STRICT
    max_clock_skew_seconds: int = DEFAULT_MAX_CLOCK_SKEW_SECONDS
    # None: COCVM_SERVER_KEY, then COCVM_SERVER_KEY_FILE, then the default key file.
    server_key_file: str | None = None
    # Shared state of several servers: rate limit counters and seen nonces. None: in-process.
    redis_url: str | None = None
    # Requests one access key may send; 0 turns a window off.
    rate_limit_per_second: int = DEFAULT_REQUESTS_PER_SECOND
    rate_limit_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE
    pool: PoolSettings = PoolSettings()
    # The longest request line accepted, in bytes; JD Cloud's gateway returns 414 past 8 KiB.
    max_request_line_bytes: int = 8192

    def to_environment(self) -> None:
        """Store the settings in this process's environment for workers it starts."""
        os.environ[SETTINGS_ENVIRONMENT_VARIABLE] = msgspec.json.encode(self).decode()

    @classmethod
    def from_environment(cls) -> ServerSettings:
        """Read the settings that `to_environment` stored."""
        text = os.environ.get(SETTINGS_ENVIRONMENT_VARIABLE)
        if not text:
            raise RuntimeError(
                f"{SETTINGS_ENVIRONMENT_VARIABLE} is not set; start the server with `cocvm serve`"
            )
        return msgspec.json.decode(text, type=cls)

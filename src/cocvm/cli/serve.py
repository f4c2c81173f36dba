"""`cocvm serve`: prepare the catalog and run the API server under uvicorn."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile

import click
import uvicorn
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from cocvm.cli.i18n import _
from cocvm.cli.options import database_option, server_key_file_option
from cocvm.gateway.access_log import configure_logging
from cocvm.gateway.authentication import DEFAULT_MAX_CLOCK_SKEW_SECONDS, AuthMode
from cocvm.gateway.http_protocol import JdCloudHttpToolsProtocol
from cocvm.gateway.rate_limit import DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_REQUESTS_PER_SECOND
from cocvm.gateway.settings import DEFAULT_REGIONS, ServerSettings
from cocvm.images.catalog_file import default_records, import_records
from cocvm.images.params import Profile
from cocvm.store.database import (
    PoolSettings,
    SchemaBehindError,
    create_catalog_engine,
    describe_database_error,
    ensure_schema,
)
from cocvm.store.keys import verify_server_key
from cocvm.store.secret_box import ServerKeyError, load_secret_box
from cocvm.store.writer import count_images

logger = logging.getLogger("cocvm.serve")


def _parse_regions(
    _context: click.Context, _parameter: click.Parameter, value: str
) -> tuple[str, ...]:
    regions = tuple(region.strip() for region in value.split(",") if region.strip())
    if not regions:
        raise click.BadParameter(
            _(
                "Invalid region list: {value!r}. Give region ids separated by commas, "
                "e.g. cn-north-1,cn-east-2."
            ).format(value=value)
        )
    return regions


@click.command(help=_("Run the describeImages API server."))
@click.option("--host", default="127.0.0.1", show_default=True, help=_("Address to listen on."))
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help=_("TCP port to listen on."),
)
@database_option
@click.option(
    "--profile",
    type=click.Choice([profile.value for profile in Profile]),
    default=Profile.COC_VM.value,
    show_default=True,
    help=_("API profile: coc-vm (the COC VM API) or vm (JD Cloud's main VM API, a superset)."),
)
@click.option(
    "--regions",
    default=",".join(DEFAULT_REGIONS),
    show_default=True,
    callback=_parse_regions,
    help=_("Regions to serve, comma-separated."),
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help=_("Number of worker processes."),
)
@click.option(
    "--auth",
    "auth_mode",
    type=click.Choice([mode.value for mode in AuthMode]),
    default=AuthMode.STRICT.value,
    show_default=True,
    help=_(
        "How callers are checked: strict (valid signatures by enabled keys), emulator (any "
        "well-formed signature; the pin is the key's pin, else the access key id) or off "
        "(no check, anonymous callers; for benchmarks only)."
    ),
)
@click.option(
    "--max-clock-skew",
    "max_clock_skew_seconds",
    default=DEFAULT_MAX_CLOCK_SKEW_SECONDS,
    show_default=True,
    type=click.IntRange(1, 7 * 24 * 3600),
    help=_(
        "Largest accepted difference between x-jdcloud-date and the server's clock, in seconds."
    ),
)
@server_key_file_option
@click.option(
    "--redis",
    "redis_url",
    default=None,
    envvar="COCVM_REDIS",
    show_envvar=True,
    help=_(
        "Redis URL (redis://HOST:PORT/DB) for rate limit counters and seen nonces shared by "
        "several servers. Default: kept in this process."
    ),
)
@click.option(
    "--rate-limit-per-second",
    default=DEFAULT_REQUESTS_PER_SECOND,
    show_default=True,
    type=click.IntRange(0),
    help=_("Requests per second one access key may send; 0 turns this limit off."),
)
@click.option(
    "--rate-limit-per-minute",
    default=DEFAULT_REQUESTS_PER_MINUTE,
    show_default=True,
    type=click.IntRange(0),
    help=_("Requests per minute one access key may send; 0 turns this limit off."),
)
@click.option(
    "--pool-size",
    default=PoolSettings().size,
    show_default=True,
    type=click.IntRange(1, 1000),
    help=_("PostgreSQL connections each worker keeps open (plus up to 5 more under load)."),
)
@click.option(
    "--pool-timeout",
    default=PoolSettings().timeout_seconds,
    show_default=True,
    type=click.FloatRange(0.1, 60),
    help=_("Seconds a request waits for a PostgreSQL connection before failing with 500 UNKNOWN."),
)
@click.option(
    "--statement-timeout",
    default=PoolSettings().statement_timeout_seconds,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help=_("Seconds one PostgreSQL query may run before the request fails with 500 UNKNOWN."),
)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help=_("Log level: DEBUG, INFO, WARNING or ERROR."),
)
def serve(
    host: str,
    port: int,
    database_url: str,
    profile: str,
    regions: tuple[str, ...],
    workers: int,
    auth_mode: str,
    max_clock_skew_seconds: int,
    server_key_file: str | None,
    redis_url: str | None,
    rate_limit_per_second: int,
    rate_limit_per_minute: int,
    pool_size: int,
    pool_timeout: float,
    statement_timeout: float,
    log_level: str,
) -> None:
    configure_logging(log_level)
    settings = ServerSettings(
        database_url=database_url,
        profile=Profile(profile),
        regions=regions,
        log_level=log_level,
        auth_mode=AuthMode(auth_mode),
        max_clock_skew_seconds=max_clock_skew_seconds,
        server_key_file=server_key_file,
        redis_url=redis_url,
        rate_limit_per_second=rate_limit_per_second,
        rate_limit_per_minute=rate_limit_per_minute,
        pool=PoolSettings(
            size=pool_size,
            timeout_seconds=pool_timeout,
            statement_timeout_seconds=statement_timeout,
        ),
    )
    _prepare_catalog(settings)
    _log_auth_mode(settings.auth_mode)
    if workers > 1 and redis_url is None:
        logger.warning(
            "Each of the %d workers keeps its own rate limit counters and seen nonces, so a key "
            "may send up to %d times its limits and a signed request may be replayed once per "
            "worker. Pass --redis to share them.",
            workers,
            workers,
        )
    settings.to_environment()
    if workers > 1:
        _prepare_multiprocess_metrics()

    logger.info(
        "Serving describeImages",
        extra={
            "fields": {
                "profile": profile,
                "address": f"http://{host}:{port}",
                "regions": list(regions),
                "workers": workers,
                "redis": "configured" if redis_url else "none (in-process limits and nonces)",
            }
        },
    )
    uvicorn.run(
        "cocvm.gateway.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=JdCloudHttpToolsProtocol,
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
    )


def _prepare_multiprocess_metrics() -> None:
    """Give the workers a fresh folder in which prometheus_client adds up their metrics."""
    folder = tempfile.mkdtemp(prefix="cocvm-metrics-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def _log_auth_mode(mode: AuthMode) -> None:
    if mode is AuthMode.STRICT:
        logger.info("Authentication: strict (every request needs a valid signature)")
    elif mode is AuthMode.EMULATOR:
        logger.warning(
            "AUTHENTICATION IS IN EMULATOR MODE: secrets, clocks and nonces are NOT checked. "
            "Any well-formed signed request is accepted. Use this only to test client code."
        )
    else:
        logger.warning(
            "AUTHENTICATION IS OFF: requests are not checked and every caller is anonymous. "
            "Use this only for benchmarks or on a trusted network."
        )


def _prepare_catalog(settings: ServerSettings) -> None:
    """Create the schema of a new database, check the server key, and fill an empty catalog."""
    try:
        engine = create_catalog_engine(settings.database_url)
    except SQLAlchemyError as error:
        raise click.ClickException(describe_database_error(error)) from error
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    logger.info("Catalog database", extra={"fields": {"database": database}})
    try:
        ensure_schema(engine)
        if settings.auth_mode is AuthMode.STRICT:
            # The key file is created here, once, rather than by several workers racing at
            # start-up. A key that cannot decrypt the stored secrets would fail every request,
            # so the server stops now instead.
            verify_server_key(engine, load_secret_box(settings.server_key_file, create=True))
        if count_images(engine) == 0:
            records = default_records(settings.regions)
            logger.info(
                "The catalog is empty: loading the default catalog",
                extra={"fields": {"images": len(records)}},
            )
            import_records(engine, records)
    except (SchemaBehindError, ServerKeyError) as error:
        raise click.ClickException(str(error)) from error
    except SQLAlchemyError as error:
        raise click.ClickException(describe_database_error(error)) from error
    finally:
        engine.dispose()

"""`xinyong serve`: one or several server processes, their logs and metrics, and the scheduler.

With `--workers N` uvicorn starts N processes that share the listening socket; each builds its
own app from the settings (`create_app` as a factory), and all state is in the store. This
process supervises them, and runs beside them what must run once per server: the metrics port
(`XINYONG_METRICS_PORT`), which reads every worker's counts from the shared directory of
prometheus-client's multiprocess mode, and the scheduler (`--schedule`).

uvicorn's own proxy handling is off: it would believe any X-Forwarded-For from 127.0.0.1. The
app believes it only from the proxies `XINYONG_TRUSTED_PROXIES` names (`api.app`).
"""

from __future__ import annotations

import logging
import logging.config
import os
import shutil
import tempfile
from pathlib import Path

from xinyong.ops.logs import log_config
from xinyong.services.context import AppContext
from xinyong.settings import Settings

log = logging.getLogger("xinyong.serve")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# glibc gives each thread that allocates while the others hold their arenas one of its own, up to
# eight per core, and keeps what each has held. A server's threads come and go (the pool that
# runs plain routes, the readers, the committer), and its resident memory grew with them while
# Python's objects and SQLite's memory stayed flat (figures: docs/operations.md, the soak).
MALLOC_ARENA_ENV = "MALLOC_ARENA_MAX"
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def cap_malloc_arenas() -> None:
    """Cap glibc's malloc arenas for this process (where it runs on glibc and the operator has
    not set MALLOC_ARENA_MAX, which glibc read when it started) and for the workers it starts,
    which inherit the variable."""
    if MALLOC_ARENA_ENV in os.environ:
        return
    os.environ[MALLOC_ARENA_ENV] = str(MALLOC_ARENAS)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc: its allocator is not this one
        log.debug("no glibc: malloc arenas left as they are")


def _metrics_dir() -> tuple[Path, bool]:
    """The directory where every worker counts (made afresh, unless the operator names one,
    which is emptied: counts of an earlier server must not add to this one's)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink()
        return path, False
    path = Path(tempfile.mkdtemp(prefix="xinyong-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path, True


def serve(settings: Settings, *, host: str, port: int, workers: int, schedule: bool) -> None:
    """Serve until interrupted. Refuses to start, with the reason, on a store that is not
    migrated, without a signing key, or with settings that do not hold."""
    from xinyong.api.ratelimit import trusted_proxies

    cap_malloc_arenas()  # first, before this process starts threads

    trusted_proxies(settings)
    ctx = AppContext(settings)
    ctx.migrated_engine()
    ctx.signing_key  # noqa: B018 - refuse to start without it, here rather than in every worker
    if schedule:
        from xinyong.services.schedule import jobs

        jobs(ctx)  # the schedule's settings are checked before anything starts
    metrics_dir, made = _metrics_dir()  # before prometheus_client is imported by anything here
    logging.config.dictConfig(log_config(settings.log_level))
    import uvicorn

    from xinyong.api.metrics import start_metrics_server
    from xinyong.services.schedule import Scheduler

    scheduler = Scheduler(ctx) if schedule else None
    metrics_server = start_metrics_server(host, settings.metrics_port, ctx.engine) if settings.metrics_port else None
    if scheduler is not None:
        scheduler.start()
    try:
        uvicorn.run(
            "xinyong.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            log_config=log_config(settings.log_level),
        )
    finally:
        if scheduler is not None:
            scheduler.stop()
        if metrics_server is not None:
            metrics_server.shutdown()
        ctx.engine.dispose()
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)

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

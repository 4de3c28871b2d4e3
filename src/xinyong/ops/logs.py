"""JSON log lines for servers and jobs: one line per request (`api.logs`) and one per job (`job`).

Each carries the id of its request or job, and every line logged while that request or job
runs carries the same id (`REQUEST_ID`, added by `ContextFilter`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("xinyong_request_id", default=None)


class ContextFilter(logging.Filter):
    """Gives every record the id of the request (or job) it was logged in, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def formatter() -> logging.Formatter:
    """JSON lines: UTC timestamp, level, logger, message, process id, and the record's extras."""
    from pythonjsonlogger.core import RESERVED_ATTRS
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "{levelname}{name}{message}{process}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger", "process": "pid"},
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's copy of the message for terminals
        timestamp=True,
    )


def log_config(level: str = "info") -> dict[str, Any]:
    """The `logging.config.dictConfig` of a server (uvicorn applies it in every worker process)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "xinyong.ops.logs.ContextFilter"}},
        "formatters": {"json": {"()": "xinyong.ops.logs.formatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # Off: it writes the path with its query string. xinyong.access replaces it.
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            "alembic": {"level": "WARNING"},  # one line per schema check of every worker and job
        },
    }


jobs = logging.getLogger("xinyong.jobs")


@contextmanager
def job(name: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Log one line when the job `name` ends: its id, outcome, duration, and what the body put
    in the dictionary it is given (counts, never personal data). A failure is logged and raised."""
    jid = f"job-{name}-{uuid.uuid4().hex[:12]}"
    token = REQUEST_ID.set(jid)
    started = time.perf_counter()
    result: dict[str, Any] = {}
    outcome = "failed"
    try:
        yield result
        outcome = "ok"
    except BaseException as exc:
        result.setdefault("error", type(exc).__name__)
        raise
    finally:
        extra = {"job": name, "request_id": jid, "outcome": outcome, **fields, **result}
        extra["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        (jobs.info if outcome == "ok" else jobs.error)("job", extra=extra)
        REQUEST_ID.reset(token)

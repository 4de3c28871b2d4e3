"""The channels a notice is handed to: `log` (the notice is stored in the outbox; the log says so)
or an operator's `module:callable` taking the notice row as a mapping (`XINYONG_NOTICE_DELIVERY`).
The outbox (`services.notices`) and its delivery with retries (`services.delivery`) both name them."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from xinyong.domain.errors import ConfigurationError

log = logging.getLogger("xinyong.notices")

Delivery = Callable[[Mapping[str, Any]], None]


def log_delivery(notice: Mapping[str, Any]) -> None:
    """The default channel: the notice is already stored in the outbox; say so in the log."""
    log.info(
        "notice %s to %s (subject %s): %s", notice["id"], notice["recipient"], notice["subject_id"], notice["title"]
    )


def delivery_from(name: str) -> tuple[str, Delivery]:
    if name == "log":
        return "log", log_delivery
    module, _, attr = name.partition(":")
    if not attr:
        raise ConfigurationError(f"notice delivery '{name}': give 'log' or 'module:callable'")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"notice delivery '{name}' cannot be loaded: {exc}") from None
    return name, fn

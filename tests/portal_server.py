"""The real app (API and portal) served by uvicorn on a free loopback port, for tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conftest import TEST_KEY_HEX
from xinyong.api.app import create_app
from xinyong.settings import Settings


@contextmanager
def serving(db_url: str, folder: Path, **settings: Any) -> Iterator[tuple[str, Any]]:
    """(base URL, app) of a server over the store at `db_url`, stopped when the block ends."""
    import uvicorn

    config = Settings(
        database_url=db_url,
        data_dir=folder / "data",
        identifier_key=TEST_KEY_HEX,
        signing_key_file=folder / "signing.key",
        **{"public_rate_per_minute": 100_000, **settings},
    )
    config.create_signing_key_file()
    app = create_app(config)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # startup, not the clock under test
        if not thread.is_alive():
            raise RuntimeError("the server stopped during startup")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)

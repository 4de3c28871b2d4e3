"""Fixtures of the attacks by consumers, subjects and the public: the served app (`api`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from operators import KEY_HEX, Api
from sqlalchemy import Engine

from servers import in_thread
from xinyong.domain.catalog import Catalog
from xinyong.settings import Settings


@pytest.fixture
def api(engine: Engine, catalog: Catalog, tmp_path: Path, db_url: str) -> Iterator[Api]:
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        identifier_key=KEY_HEX,
        signing_key_file=tmp_path / "signing.key",
        public_rate_per_minute=1000,
    )
    settings.create_signing_key_file()
    with in_thread(settings) as url:
        yield Api(url, engine, catalog)

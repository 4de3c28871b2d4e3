"""What every command needs: settings, catalog, engine. Built once per process, on demand."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog, load_catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.settings import Settings
from xinyong.store.db import make_engine, require_current


@dataclass
class AppContext:
    settings: Settings

    @cached_property
    def catalog(self) -> Catalog:
        return load_catalog(self.settings.catalog_dir)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.url)

    def migrated_engine(self) -> Engine:
        require_current(self.engine)
        return self.engine

    @cached_property
    def vault(self) -> IdentifierVault:
        return self.settings.vault()

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        return self.settings.signing_key()

"""The policy catalog: every source, record type, list, measure, context and ruleset, as data."""

from xinyong.domain.catalog.loader import Catalog, CatalogError, default_catalog_dir, load_catalog
from xinyong.domain.catalog.problems import CatalogProblem

__all__ = ["Catalog", "CatalogError", "CatalogProblem", "default_catalog_dir", "load_catalog"]

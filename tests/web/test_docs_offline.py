"""/docs and /redoc in Debian's Chromium with every host but the server blocked: each loads its
scripts and styles from the server itself (fastapi-offline ships them) and renders every operation."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route

from xinyong.api.authz import MATRIX

from .conftest import Portal


@pytest.mark.parametrize(("path", "operation"), [("/docs", ".opblock"), ("/redoc", "[data-section-id^='operation/']")])
def test_the_docs_render_with_every_other_host_blocked(
    browser: Browser, portal: Portal, path: str, operation: str
) -> None:
    here = urlsplit(portal.url).netloc
    blocked: list[str] = []

    def only_here(route: Route) -> None:
        if urlsplit(route.request.url).netloc == here:
            route.continue_()
        else:
            blocked.append(f"{route.request.resource_type} {route.request.url}")
            route.abort()

    context = browser.new_context()
    try:
        context.route("**/*", only_here)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(portal.url + path)
        page.wait_for_selector(operation)
        page.wait_for_load_state("networkidle")
        shown = page.locator(operation).count()
    finally:
        context.close()
    # ReDoc's "powered by" footer links its maker's logo: an image, blocked and not missed. Nothing
    # the page needs to work (a script, a style, a font, data) is asked of another host.
    assert [b for b in blocked if not b.startswith("image ")] == [], "the page needs another host"
    assert shown == len(MATRIX), f"every operation is rendered ({shown} of {len(MATRIX)})"

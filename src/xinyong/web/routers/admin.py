"""Administrators: dashboards (each plot drawn on the server beside its data table), the catalog
browser, and the what-if of a new ruleset."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path
from fastapi.responses import HTMLResponse, Response

from xinyong.domain.errors import XinyongError
from xinyong.web import services as portal
from xinyong.web.pages import Viewer, guard, labeller, render, translator
from xinyong.web.plots import PLOTS, plot
from xinyong.web.security import HEADERS, SVG_CSP

router = APIRouter(include_in_schema=False)


@router.get("/admin", name="web_dashboards", response_class=HTMLResponse)
def dashboards(viewer: Annotated[Viewer, Depends(guard("web_dashboards"))]) -> HTMLResponse:
    return render(viewer, "dashboards.html", d=portal.dashboards(viewer.ctx, viewer.principal), plots=PLOTS)


@router.get("/admin/plots/{name}.svg", name="web_plot")
def plot_svg(
    viewer: Annotated[Viewer, Depends(guard("web_plot"))],
    name: Annotated[str, Path(max_length=20)],
) -> Response:
    if name not in PLOTS:
        raise HTTPException(404, f"no plot '{name}': one of {', '.join(PLOTS)}")
    rows = portal.dashboards(viewer.ctx, viewer.principal)[name]
    c = portal.catalog(viewer.ctx)
    label = labeller(viewer.lang)
    names = {k: label(v) for section in (c.lists, c.sources, c.contexts) for k, v in section.items()}
    svg = plot(name, rows, translator(viewer.lang).gettext, names)
    headers = {**HEADERS, "Content-Security-Policy": SVG_CSP, "Cache-Control": "no-store", "Vary": "Cookie"}
    return Response(svg, media_type="image/svg+xml", headers=headers)


@router.get("/admin/catalog", name="web_catalog", response_class=HTMLResponse)
def catalog(viewer: Annotated[Viewer, Depends(guard("web_catalog"))]) -> HTMLResponse:
    return render(viewer, "catalog.html", catalog=portal.catalog(viewer.ctx))


def _whatif_page(
    viewer: Viewer, status: int = 200, result: object = None, error: str | None = None, **form: str
) -> HTMLResponse:
    c = portal.catalog(viewer.ctx)
    refs = [f"{r.id}@{r.version}" for r in c.rulesets.values()]
    first = refs[0] if refs else ""
    fields = {"old": first, "new": first, "rulesets": "", "as_of": "", **form}
    return render(viewer, "whatif.html", status, refs=refs, form=fields, result=result, error=error)


@router.get("/admin/whatif", name="web_whatif", response_class=HTMLResponse)
def whatif_form(viewer: Annotated[Viewer, Depends(guard("web_whatif"))]) -> HTMLResponse:
    return _whatif_page(viewer)


@router.post("/admin/whatif", name="web_run_whatif", response_class=HTMLResponse)
def whatif(
    viewer: Annotated[Viewer, Depends(guard("web_run_whatif"))],
    old: Annotated[str, Form(max_length=100)] = "",
    new: Annotated[str, Form(max_length=100)] = "",
    rulesets: Annotated[str, Form(max_length=200_000)] = "",
    as_of: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    viewer.require_csrf(csrf)
    form: dict[str, Any] = {"old": old, "new": new, "rulesets": rulesets, "as_of": as_of}
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError:
        return _whatif_page(viewer, 422, **form, error=f"as_of: '{as_of}' is not a date (YYYY-MM-DD)")
    try:
        result = portal.whatif(viewer.ctx, viewer.principal, old, new, rulesets, day)
    except XinyongError as exc:
        return _whatif_page(viewer, exc.status, **form, error=str(exc))
    return _whatif_page(viewer, **form, result=result)

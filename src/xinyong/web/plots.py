"""The dashboards' plots: SVG drawn on the server with pygal, each with a title and a description.

pygal is pure Python and draws SVG alone (no browser, no native library), which keeps the
install light. Its output is post-processed as XML: its script element is dropped (the plots are
served as images under a policy that runs nothing) and a `<desc>` follows its `<title>`, so a
screen reader has a sentence for the plot; the full data is in the table beside it.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import Any

from xinyong.web.words import COMPLIANCE, KINDS, SCORE_STATUS

SVG = "http://www.w3.org/2000/svg"
PLOTS = ("grades", "lists", "sources", "deadlines", "checks")
Gettext = Callable[[str], str]


def _pygal() -> Any:
    """pygal, imported once; without the import hook it leaves behind.

    pygal puts a finder on `sys.meta_path` for its `pygal.maps` plugins, written for the import
    system before Python 3.4: it has no `find_spec`, so every later failed import anywhere in
    the process warns (ImportWarning), which the test suite turns into errors. The maps are not
    used here, so the finder is taken out again."""
    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]
    return pygal


def _chart(kind: str, title: str) -> Any:
    pygal = _pygal()
    from pygal.style import Style

    style = Style(
        background="white",
        plot_background="white",
        foreground="#1a1a1a",
        foreground_strong="#1a1a1a",
        foreground_subtle="#555555",
        font_family="'Noto Sans CJK SC', 'Noto Sans', sans-serif",
        colors=("#1f4e79", "#b03a2e", "#1e7145", "#7d3c98", "#9a6700", "#117a8b", "#6c3483", "#444444"),
    )
    make = {"bar": pygal.Bar, "stacked": pygal.StackedBar, "line": pygal.Line}[kind]
    return make(
        js=[],
        disable_xml_declaration=True,
        title=title,
        width=720,
        height=360,
        style=style,
        x_label_rotation=30,
        legend_at_bottom=True,
        print_values=False,
        show_minor_x_labels=True,
    )


def _finish(svg: str, desc: str) -> str:
    ET.register_namespace("", SVG)
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    for parent in root.iter():
        for child in list(parent):
            if child.tag in (f"{{{SVG}}}script", "script"):
                parent.remove(child)
    title = root.find(f"{{{SVG}}}title")
    d = ET.Element(f"{{{SVG}}}desc")
    d.text = desc
    root.insert(list(root).index(title) + 1 if title is not None else 0, d)
    root.set("role", "img")
    return ET.tostring(root, encoding="unicode")


def _series(rows: Sequence[dict[str, Any]], x: str, series: str, value: str) -> tuple[list[str], dict[str, list[int]]]:
    xs = sorted({str(r[x]) for r in rows})
    names = sorted({str(r[series]) for r in rows})
    values = {n: [0] * len(xs) for n in names}
    for r in rows:
        values[str(r[series])][xs.index(str(r[x]))] += int(r[value])
    return xs, values


def plot(name: str, rows: Sequence[dict[str, Any]], _: Gettext, names: dict[str, str] | None = None) -> str:
    """The SVG of one dashboard from its rows (the same rows as its data table); `names` are the
    viewer's names of the catalog ids (lists, sources, contexts) that label its series."""
    names = names or {}
    if name == "grades":
        chart = _chart("stacked", _("Subjects by grade and kind"))
        xs, values = _series(rows, "grade", "subject_kind", "subjects")
        xs = [_(SCORE_STATUS[x]) if x in SCORE_STATUS else x for x in xs]
        desc = _("Number of subjects at each grade of their latest score, stacked by subject kind.")
        labels = {k: _(KINDS.get(k, k)) for k in values}
    elif name == "lists":
        chart = _chart("line", _("Entries in force at each month's end"))
        xs, values = _series(rows, "month", "list", "entries")
        desc = _("Entries in force on the last day of each month, one line per list.")
        labels = {k: names.get(k, k) for k in values}
    elif name == "sources":
        chart = _chart("stacked", _("Record versions stored per month, by source"))
        xs, values = _series(rows, "month", "source", "records")
        rejected = [sum(int(r["rejects"]) for r in rows if r["month"] == m) for m in xs]
        desc = _("Record versions stored each month, stacked by source department; rejected rows in the table.")
        labels = {k: names.get(k, k) for k in values}
        if any(rejected):
            values[_("rejected rows")] = rejected
            labels[_("rejected rows")] = _("rejected rows")
    elif name == "deadlines":
        chart = _chart("stacked", _("Deadline compliance"))
        cats = ("decided_in_time", "decided_late", "open_in_time", "open_overdue")
        xs = [_(COMPLIANCE[str(r["kind"])]) for r in rows]
        values = {c: [int(r[c]) for r in rows] for c in cats}
        desc = _("Objections and repair requests: decided in time or late, open in time or overdue.")
        labels = {c: _(COMPLIANCE[c]) for c in cats}
    elif name == "checks":
        chart = _chart("stacked", _("Checks per context per day"))
        xs, values = _series(rows, "day", "context", "checks")
        desc = _("Checks made by consuming departments each day of the last 30, stacked by context.")
        labels = {k: names.get(k, k) for k in values}
    else:
        raise KeyError(name)
    chart.x_labels = xs
    for key, vals in values.items():
        chart.add(labels[key], vals)
    if not rows:
        chart.no_data_text = _("No data yet")
    return _finish(chart.render(is_unicode=True), desc)

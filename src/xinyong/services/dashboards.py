"""The administrator's dashboards: aggregates of the store, read-only, each a table of rows.

Each function returns the rows a plot and its data table show, the same rows for both, so that
the table beside a plot is the plot's data and nothing else.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from xinyong.domain.lists import TERMINAL, State
from xinyong.store.periods import day_of, month_of
from xinyong.store.tables import (
    batches,
    checks,
    list_entries,
    list_transitions,
    objection_decisions,
    objections,
    records,
    rejects,
    repair_decisions,
    repairs,
    scores,
)


def grades_by_kind(engine: Engine) -> list[dict[str, Any]]:
    """Subjects by kind and grade of their latest score (status where not graded)."""
    latest = select(func.max(scores.c.id).label("id")).group_by(scores.c.subject_id).subquery()
    grade = func.coalesce(scores.c.grade, scores.c.status)
    q = (
        select(scores.c.subject_kind, grade.label("grade"), func.count().label("subjects"))
        .join(latest, latest.c.id == scores.c.id)
        .group_by(scores.c.subject_kind, grade)
        .order_by(scores.c.subject_kind, grade)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def month_ends(today: date, months: int) -> list[date]:
    """The last day of each of the `months` months up to today's (today itself for the current one)."""
    ends: list[date] = [today]
    first = today.replace(day=1)
    for _ in range(months - 1):
        ends.append(first - timedelta(days=1))
        first = ends[-1].replace(day=1)
    return sorted(ends)


def list_sizes(engine: Engine, today: date, months: int = 12) -> list[dict[str, Any]]:
    """Entries in force on each month's last day, per list, from the appended transitions."""
    q = (
        select(
            list_transitions.c.entry_id,
            list_entries.c.list_id,
            list_transitions.c.to_state,
            list_transitions.c.at,
            list_transitions.c.listed_on,
            list_transitions.c.ends_on,
        )
        .join(list_entries, list_entries.c.id == list_transitions.c.entry_id)
        .order_by(list_transitions.c.entry_id, list_transitions.c.seq)
    )
    spans: list[tuple[str, date, date]] = []  # list, first day in force, first day no longer
    current: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        for r in conn.execute(q):
            e = current.setdefault(r.entry_id, {"list": r.list_id, "from": None, "until": None})
            if r.to_state == State.LISTED.value and r.listed_on is not None:
                e["from"] = e["from"] or r.listed_on
            if r.ends_on is not None:
                e["until"] = r.ends_on
            if State(r.to_state) in TERMINAL and e["from"] is not None:
                ended = r.at.astimezone(UTC).date()
                e["until"] = min(e["until"], ended) if e["until"] else ended
    for e in current.values():
        if e["from"] is not None:
            spans.append((e["list"], e["from"], e["until"] or date.max))
    rows = []
    for end in month_ends(today, months):
        sizes: Counter[str] = Counter(lst for lst, start, until in spans if start <= end < until)
        for lst in sorted({s[0] for s in spans}):
            rows.append({"month": end.isoformat()[:7], "list": lst, "entries": sizes[lst]})
    return rows


def records_and_rejects(engine: Engine, since: date) -> list[dict[str, Any]]:
    """Record versions stored and rows rejected, per source department and month."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    with engine.connect() as conn:
        dialect = conn.dialect.name
        month = month_of(dialect, records.c.recorded_at)
        stored = (
            select(records.c.source_id, month.label("month"), func.count().label("n"))
            .where(records.c.recorded_at >= datetime.combine(since, datetime.min.time(), UTC))
            .group_by(records.c.source_id, month)
        )
        bmonth = month_of(dialect, batches.c.started_at)
        refused = (
            select(batches.c.source_id, bmonth.label("month"), func.count().label("n"))
            .select_from(rejects)
            .join(batches, batches.c.id == rejects.c.batch_id)
            .where(batches.c.started_at >= datetime.combine(since, datetime.min.time(), UTC))
            .group_by(batches.c.source_id, bmonth)
        )
        for key, q in (("records", stored), ("rejects", refused)):
            for r in conn.execute(q):
                row = out.setdefault(
                    (r.source_id, r.month), {"source": r.source_id, "month": r.month, "records": 0, "rejects": 0}
                )
                row[key] = int(r.n)
    return [out[k] for k in sorted(out, key=lambda k: (k[1], k[0]))]


def deadline_compliance(engine: Engine, today: date) -> list[dict[str, Any]]:
    """Objections and repair requests: decided within their deadline or late, open in time or overdue."""
    rows = []
    for kind, due, decided, table, join in (
        ("objections", objections.c.due_on, objection_decisions.c.at, objections, objection_decisions),
        ("repairs", repairs.c.due_on, repair_decisions.c.at, repairs, repair_decisions),
    ):
        counts: Counter[str] = Counter()
        key = join.c.objection_id if join is objection_decisions else join.c.repair_id
        q = select(due, decided).select_from(table.outerjoin(join, key == table.c.id))
        with engine.connect() as conn:
            for due_on, at in conn.execute(q):
                if at is None:
                    counts["open_overdue" if due_on < today else "open_in_time"] += 1
                else:
                    counts["decided_late" if at.astimezone(UTC).date() > due_on else "decided_in_time"] += 1
        rows.append(
            {
                "kind": kind,
                **{k: counts[k] for k in ("decided_in_time", "decided_late", "open_in_time", "open_overdue")},
            }
        )
    return rows


def checks_per_context(engine: Engine, today: date, days: int = 30) -> list[dict[str, Any]]:
    """Checks made per context and day, over the last `days` days."""
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), UTC)
    with engine.connect() as conn:
        day = day_of(conn.dialect.name, checks.c.created_at)
        q = (
            select(day.label("day"), checks.c.context, func.count().label("checks"))
            .where(checks.c.created_at >= since)
            .group_by(day, checks.c.context)
            .order_by(day, checks.c.context)
        )
        return [{"day": r.day, "context": r.context, "checks": int(r.checks)} for r in conn.execute(q)]


def dashboards(engine: Engine, today: date) -> dict[str, list[dict[str, Any]]]:
    """Every dashboard's rows."""
    return {
        "grades": grades_by_kind(engine),
        "lists": list_sizes(engine, today),
        "sources": records_and_rejects(engine, month_ends(today, 12)[0].replace(day=1)),
        "deadlines": deadline_compliance(engine, today),
        "checks": checks_per_context(engine, today),
    }

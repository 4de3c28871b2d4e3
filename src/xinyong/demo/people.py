"""The platform's people in the demo's history: reviewers, residents, companies and consumers.

Each acts as the API and the portal let them, through the same service functions, at a moment the
history holds the clock at; every choice comes from one seeded generator, and candidates are read
in a fixed order, so the same seed and city give the same history. Reasons and grounds are written
as a person would write them: the demo shows what a reviewer's queue and a resident's file look
like after two years, not placeholders.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import XinyongError
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import lists as list_service
from xinyong.services.checks import run_check
from xinyong.services.keys import create_key
from xinyong.services.list_views import entries
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objection_views import objection_rows
from xinyong.services.objections import appeal, file_objection
from xinyong.services.owner_answers import answer_forwarded
from xinyong.services.repairs import decide_repair, file_repair, repair_rows
from xinyong.store.unit_of_work import AuditNote

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REVIEWERS = ("reviewer:desk-1", "reviewer:desk-2", "reviewer:desk-3")
APPEALS_REVIEWER = "reviewer:appeals-desk"
APPROVE_SHARE, UPHOLD_SHARE, GRANT_SHARE = 0.85, 0.4, 0.7
ALL = 1_000_000  # every row a queue holds (the services page at 200 by default)
# Proposals a month's reviewers decide, oldest first: a real desk has a capacity, and the first
# run over a store proposes every record that already qualifies (tens of thousands in the demo
# city), which stay in the queue as they would.
CAPACITY = 120
SAMPLE = 2000  # the published entries people are drawn from (the oldest), for a month's acts
APPROVALS = (
    "The decision is final and the record meets the list's entry criteria.",
    "Ground verified against the department's decision document; criteria met.",
    "The obligation is still unperformed at the date of review; listing is proportionate.",
)
REJECTIONS = (
    "The decision is under administrative reconsideration; listing would be premature.",
    "The amount involved is below the threshold the list's criteria set.",
    "The department confirmed the obligation was performed before the proposal was made.",
)
GROUNDS = (
    "The fine was paid in full before the decision date; the receipt is with the department.",
    "This decision concerns a different company with a similar name; we never traded in that district.",
    "The judgment was overturned on appeal last month and the court has been asked to update it.",
    "The arrears were settled by instalments agreed with the bureau; nothing is outstanding.",
)
UPHELD = (
    "The department confirmed the error; the record is revoked and the file corrected.",
    "Evidence checked against the source: the objection is well founded.",
)
DISMISSED = (
    "The department's file shows the obligation still unperformed; the record stands.",
    "The evidence submitted does not concern this decision; the record is accurate.",
)
OWNER_ANSWERS = (
    "The execution file shows no payment: the judgment remains unperformed and the listing stands.",
    "The settlement the company cites was never performed; the court's decision stands.",
)
APPEAL_GROUNDS = "The first review did not consider the court's receipt for the final payment, attached again."
REMOVALS = "Follow-up inspection found the problems corrected; close supervision is no longer needed."
EVIDENCE = ("payment receipt {n}", "bank transfer slip {n}", None)
REFUSALS = "The receipt shows only part of the amount paid; the obligation is not yet met."
GRANTS = "Obligation met and credit commitment filed; the minimum period has been served."
# Consumers: one department per group of contexts, as the catalog's purposes are written.
CONSUMERS = {
    "procurement-centre": ["procurement.tender"],
    "permits-office": ["permits.approval", "inspection.planning"],
    "finance-bureau": ["finance.subsidy", "honours.nomination"],
    "customs-house": ["customs.clearance"],
    "tax-service-hall": ["tax.services"],
    "public-services": [
        "healthcare.services", "education.enrolment", "social.assistance", "utilities.connection",
        "emergency.services", "justice.legal_aid",
    ],
}  # fmt: skip


@dataclass
class Directory:
    """Who the departments and consumers know by identifier: the city's population and, for each
    record, the identifier of its subject (as a consumer knows its applicant)."""

    orgs: list[str]
    persons: list[str]
    of_record: dict[tuple[str, str], str]

    @classmethod
    def read(cls, city: Path) -> Directory:
        truth = city / "ground_truth"
        orgs: list[str] = []
        persons: list[str] = []
        with (truth / "population.csv").open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                (orgs if row["kind"] == "organisation" else persons).append(row["identifier"])
        with (truth / "truth.csv").open(encoding="utf-8", newline="") as f:
            of_record = {(r["source"], r["source_ref"]): r["true_identifier"] for r in csv.DictReader(f)}
        return cls(orgs, persons, of_record)


@dataclass
class People:
    engine: Engine
    catalog: Catalog
    vault: IdentifierVault
    signing_key: Ed25519PrivateKey
    rng: random.Random
    directory: Directory
    counts: Counter[str] = field(default_factory=Counter)
    keep_open: datetime | None = None  # the objection filed at this moment is never decided (overdue today)
    kept: set[int] = field(default_factory=set)
    appealed: bool = False

    def _try(self, what: str, act: Any, *args: Any, **kwargs: Any) -> Any:
        """Do one act; a refusal (the entry moved meanwhile, a condition unmet) is counted, not raised."""
        try:
            result = act(*args, **kwargs)
        except XinyongError:
            self.counts[f"refused_{what}"] += 1
            return None
        self.counts[what] += 1
        return result

    def issue_keys(self, now: datetime) -> None:
        """The consumers' keys, issued when the history begins."""
        for name, contexts in CONSUMERS.items():
            create_key(
                self.engine, self.catalog, role="consumer", name=name, scopes={"contexts": contexts}, now=now,
                actor="admin:platform-office",
            )  # fmt: skip

    def review_proposals(self, now: datetime) -> None:
        """Reviewers decide the oldest proposals, as many as they can in a month: most approved,
        some rejected, each with its reason."""
        for e in entries(self.engine, state="proposed", day=now.date(), limit=CAPACITY):
            approve_it = self.rng.random() < APPROVE_SHARE
            reason = self.rng.choice(APPROVALS if approve_it else REJECTIONS)
            actor = self.rng.choice(REVIEWERS)
            self._try(
                "proposals_approved" if approve_it else "proposals_rejected",
                list_service.decide, self.engine, self.catalog, int(e["id"]), approve_it=approve_it, actor=actor,
                reason=reason, now=now, audit=AuditNote(actor, f"entry_{'approve' if approve_it else 'reject'}",
                                                        "due process", f"entry:{e['id']}"),
            )  # fmt: skip

    def object(self, now: datetime, entries_each: int = 3, records_each: int = 2, owned_each: int = 1) -> None:
        """Residents and companies object: to entries in their notice period, to the records behind
        published ones of lists no department owns, and to a published entry of a list a department
        owns (forwarded to that department, which answers it: `decide_objections`)."""
        day = now.date()
        notified = entries(self.engine, state="notified", day=day, limit=SAMPLE)
        published = entries(self.engine, state="listed", day=day, limit=SAMPLE)
        listed = [e for e in published if self.catalog.lists[e["list_id"]].owner is None]
        owned = [e for e in published if self.catalog.lists[e["list_id"]].owner is not None]
        targets = [(e, f"entry:{e['id']}") for e in self._some(notified, entries_each)]
        targets += [(e, f"record:{e['source_id']}/{e['source_ref']}") for e in self._some(listed, records_each)]
        targets += [(e, f"entry:{e['id']}") for e in self._some(owned, owned_each)]
        for e, target in targets:
            actor = f"subject:{e['subject_id']}"
            filed = self._try(
                "objections_filed", file_objection, self.engine, self.catalog, subject_id=int(e["subject_id"]),
                target=target, grounds=self.rng.choice(GROUNDS), actor=actor, now=now,
                audit=AuditNote(actor, "file_objection"),
            )  # fmt: skip
            if filed is not None and now == self.keep_open and not self.kept:
                self.kept.add(int(filed["id"]))

    def decide_objections(self, now: datetime, waited: timedelta = timedelta(days=3)) -> None:
        """Reviewers decide the objections filed before `now - waited`, within their deadline; the
        department an objection was forwarded to answers it (its record stands, with reasons)."""
        for o in objection_rows(self.engine, state="open", limit=ALL):
            filed = o["filed_at"] if o["filed_at"].tzinfo else o["filed_at"].replace(tzinfo=UTC)
            if int(o["id"]) in self.kept or filed > now - waited:
                continue
            if o["forwarded_to"] is not None:
                owner = str(o["forwarded_to"])
                self._try(
                    "objections_owner_maintained", answer_forwarded, self.engine, self.catalog, int(o["id"]),
                    source=owner, answer="record_stands", reasons=self.rng.choice(OWNER_ANSWERS), reference=None,
                    now=now, audit=AuditNote(f"source:{owner}", "objection_record_stands", "due process",
                                             f"objection:{o['id']}"),
                )  # fmt: skip
                continue
            actor = APPEALS_REVIEWER if o["appeal_of"] is not None else self.rng.choice(REVIEWERS)
            uphold = self.rng.random() < UPHOLD_SHARE
            revoke = uphold and o["target_kind"] == "record"
            self._try(
                "objections_upheld" if uphold else "objections_dismissed",
                decide_objection, self.engine, self.catalog, int(o["id"]), uphold=uphold, actor=actor,
                reason=self.rng.choice(UPHELD if uphold else DISMISSED), now=now, revoke=revoke,
                audit=AuditNote(actor, f"objection_{'uphold' if uphold else 'dismiss'}", "due process",
                                f"objection:{o['id']}"),
            )  # fmt: skip

    def appeal_one(self, now: datetime) -> None:
        """The first resident whose objection was dismissed and may still appeal does so (once)."""
        if self.appealed:
            return
        for o in objection_rows(self.engine, state="decided", limit=ALL):
            if o["outcome"] == "dismissed" and o["appeal_until"] is not None and o["appeal_until"] >= now.date():
                actor = f"subject:{o['subject_id']}"
                if self._try(
                    "appeals_filed", appeal, self.engine, self.catalog, int(o["id"]), grounds=APPEAL_GROUNDS,
                    actor=actor, now=now, audit=AuditNote(actor, "file_objection"),
                ) is not None:  # fmt: skip
                    self.appealed = True
                    return

    def request_repairs(self, now: datetime, each: int = 3) -> None:
        """Companies on a list that allows credit repair ask for it, most with evidence."""
        day = now.date()
        candidates = [
            e
            for e in entries(self.engine, state="listed", day=day, limit=SAMPLE)
            if self.catalog.lists[e["list_id"]].repairable
        ]
        for e in self._some(candidates, each):
            actor = f"subject:{e['subject_id']}"
            evidence = self.rng.choice(EVIDENCE)
            self._try(
                "repairs_filed", file_repair, self.engine, self.catalog, subject_id=int(e["subject_id"]),
                record=f"{e['source_id']}/{e['source_ref']}",
                evidence_ref=evidence.format(n=self.rng.randint(1000, 9999)) if evidence else None,
                commitment=self.rng.random() < 0.9, actor=actor, now=now, audit=AuditNote(actor, "file_repair"),
            )  # fmt: skip

    def decide_repairs(self, now: datetime) -> None:
        """Reviewers grant the requests that meet every condition (most of them) and refuse the rest,
        naming what is unmet."""
        for r in repair_rows(self.engine, state="open", limit=ALL):
            actor = self.rng.choice(REVIEWERS)
            rid = int(r["id"])
            if self.rng.random() < GRANT_SHARE and r["evidence_ref"] and r["commitment"]:
                granted = self._try(
                    "repairs_granted", decide_repair, self.engine, self.catalog, rid, approve=True, actor=actor,
                    reason=GRANTS, now=now, audit=AuditNote(actor, "repair_approve", "due process", f"repair:{rid}"),
                )  # fmt: skip
                if granted is not None:
                    continue
            self._try(
                "repairs_refused", decide_repair, self.engine, self.catalog, rid, approve=False, actor=actor,
                reason=REFUSALS, now=now, unmet=["obligation_not_met"],
                audit=AuditNote(actor, "repair_refuse", "due process", f"repair:{rid}"),
            )  # fmt: skip

    def remove_one(self, now: datetime) -> None:
        """A reviewer ends one close-supervision entry after a follow-up inspection."""
        watched = [e for e in entries(self.engine, state="listed", day=now.date(), limit=SAMPLE)
                   if self.catalog.lists[e["list_id"]].owner is None]  # fmt: skip
        for e in self._some(watched, 1):
            actor = self.rng.choice(REVIEWERS)
            self._try(
                "entries_removed", list_service.remove, self.engine, self.catalog, int(e["id"]), actor=actor,
                reason=REMOVALS, now=now, audit=AuditNote(actor, "entry_remove", "due process", f"entry:{e['id']}"),
            )  # fmt: skip

    def check(self, now: datetime, each: int = 2) -> None:
        """Consumers check before they act, in every context: listed subjects, and applicants drawn
        from the city."""
        day = now.date()
        listed = [
            e for e in entries(self.engine, state="listed", day=day, limit=SAMPLE)
            if (e["source_id"], e["source_ref"]) in self.directory.of_record
        ]  # fmt: skip
        for name, contexts in CONSUMERS.items():
            for context in contexts:
                purposes = self.catalog.contexts[context].purposes
                who = [self.directory.of_record[e["source_id"], e["source_ref"]] for e in self._some(listed, each)]
                pool = self.directory.orgs if context not in ("healthcare.services", "education.enrolment") else (
                    self.directory.persons)  # fmt: skip
                who += self._some(pool, each)
                for identifier in who:
                    answer = self._try(
                        "checks", run_check, self.engine, self.catalog, self.vault, self.signing_key,
                        identifier=identifier, context=context, purpose=self.rng.choice(purposes).code,
                        consumer=f"consumer:{name}", now=now,
                    )  # fmt: skip
                    if answer is not None:
                        decision = answer["decision"]
                        self.counts[f"checks_{decision['outcome']}"] += 1
                        self.counts["checks_fast_tracked"] += any(
                            m["effect"] == "fast_track" for m in decision["applied"]
                        )

    def _some(self, items: list[Any], n: int) -> list[Any]:
        return self.rng.sample(items, min(n, len(items)))

"""Notices to subjects and sources: what happened, why, what the recipient can do and by when.

Every event of due process that concerns a subject writes one (FCRA s.615 is the model of an
adverse-action notice: name the source, say who decided, give the right to dispute). The text is
built here, from the facts of the event, so that every channel delivers the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from xinyong.domain.catalog.models import LegalBasis


class NoticeKind(StrEnum):
    LISTING_PROPOSED = "listing_proposed"
    LISTED = "listed"
    LISTING_EXTENDED = "listing_extended"
    LISTING_WITHDRAWN = "listing_withdrawn"
    REMOVED = "removed"
    EXPIRED = "expired"
    REPAIRED = "repaired"
    OBJECTION_RECEIVED = "objection_received"
    OBJECTION_UPHELD = "objection_upheld"
    OBJECTION_DISMISSED = "objection_dismissed"
    OBJECTION_FORWARDED = "objection_forwarded"  # to the source that owns the list of the entry objected to
    OBJECTION_CLOSED = "objection_closed"  # a forwarded objection whose entry ended before the owner decided
    OBJECTION_MAINTAINED = "objection_maintained"  # a forwarded objection whose owner answered: its record stands
    RECORD_CORRECTED = "record_corrected"  # to the source department of a corrected record
    REPAIR_RECEIVED = "repair_received"
    REPAIR_APPROVED = "repair_approved"
    REPAIR_REFUSED = "repair_refused"
    LINK_CONFIRMED = "link_confirmed"  # a record without a valid identifier linked by a reviewer
    LINK_UNDONE = "link_undone"
    SUBJECTS_MERGED = "subjects_merged"  # a reviewed merge: two subject rows are one person or organisation
    SUBJECTS_SPLIT = "subjects_split"


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    title: str
    what: str
    why: str
    can_do: str
    respond_by: date | None = None

    @property
    def body(self) -> str:
        by = f" By {self.respond_by.isoformat()}." if self.respond_by else ""
        return f"What happened: {self.what}\nWhy: {self.why}\nWhat you can do: {self.can_do}{by}"


def basis_text(basis: LegalBasis) -> str:
    parts = [basis.instrument]
    if basis.document:
        parts.append(basis.document)
    if basis.article:
        parts.append(basis.article)
    return ", ".join(parts)


def record_text(record_type_name: str, source_name: str, document_no: str | None, decided_on: date) -> str:
    doc = f" (decision {document_no})" if document_no else ""
    return f"{record_type_name} decided by {source_name} on {decided_on.isoformat()}{doc}"


# The Chinese (zh-CN) text of each kind of notice, delivered before the English one: a resident
# reads what happened and what they can do in the platform's first language. The facts the
# services write into a notice (names of records and lists, reasons) follow in the English part
# as written; the decision's own words are never paraphrased.
ZH: dict[NoticeKind, tuple[str, str, str]] = {
    NoticeKind.LISTING_PROPOSED: (
        "拟列入信用名单告知",
        "您被提议列入信用名单；公示前您有权陈述和申辩。",
        "在答复期限内提出异议；异议核查期间不予公示。",
    ),
    NoticeKind.LISTED: (
        "列入信用名单决定告知",
        "您已被列入信用名单，依据该名单的措施自列入之日起适用。",
        "对列入决定提出异议；符合条件的，可以申请信用修复。",
    ),
    NoticeKind.LISTING_EXTENDED: (
        "信用名单期限延长告知",
        "您在信用名单上的期限经新的决定予以延长。",
        "在异议期限内对延长决定提出异议，平台将在期限内作出决定。",
    ),
    NoticeKind.LISTING_WITHDRAWN: (
        "撤回拟列入名单告知",
        "拟将您列入信用名单的提议已在公示前撤回。",
        "无需办理任何事项。",
    ),
    NoticeKind.REMOVED: (
        "移出信用名单告知",
        "您已被移出信用名单，依据该名单的措施不再适用。",
        "无需办理任何事项。",
    ),
    NoticeKind.EXPIRED: (
        "信用名单期满告知",
        "您在信用名单上的期限已届满，依据该名单的措施不再适用。",
        "无需办理任何事项。",
    ),
    NoticeKind.REPAIRED: (
        "信用修复后移出名单告知",
        "经信用修复，您已被移出信用名单，依据该名单的措施不再适用。",
        "无需办理任何事项。",
    ),
    NoticeKind.OBJECTION_RECEIVED: (
        "异议受理告知",
        "您的异议已受理，相关信息在核查期间标注为“异议中”。",
        "平台将在规定期限内作出决定并说明理由。",
    ),
    NoticeKind.OBJECTION_UPHELD: (
        "异议成立告知",
        "您的异议成立，相关信息已更正或撤销，信用评价已重新计算。",
        "无需办理任何事项。",
    ),
    NoticeKind.OBJECTION_DISMISSED: (
        "异议不成立告知",
        "您的异议经核查不成立，理由见下文。",
        "在申诉期限内申请复核一次，由另一名审核人员决定。",
    ),
    NoticeKind.RECORD_CORRECTED: (
        "信用记录更正通知",
        "贵单位报送的一条记录经异议核查已更正或撤销。",
        "请在规定期限内同步更正本单位的业务系统。",
    ),
    NoticeKind.REPAIR_RECEIVED: (
        "信用修复申请受理告知",
        "您的信用修复申请已受理；信用修复不收取任何费用。",
        "如下文所列条件尚未满足，请补充材料；决定将附理由告知。",
    ),
    NoticeKind.REPAIR_APPROVED: (
        "准予信用修复决定告知",
        "您的信用修复申请已准予，相关记录不再计入信用评价和名单。",
        "无需办理任何事项；依据该记录的名单条目已终止，信用评价已重新计算。",
    ),
    NoticeKind.REPAIR_REFUSED: (
        "不予信用修复决定告知",
        "您的信用修复申请未获准予，未满足的条件见下文。",
        "条件满足后可再次申请，也可以对该决定提出异议。",
    ),
    NoticeKind.LINK_CONFIRMED: (
        "信用记录关联告知",
        "一条未载明有效证件号码的记录经人工核对后关联至您的信用档案。",
        "如该记录不属于您，可以提出异议。",
    ),
    NoticeKind.LINK_UNDONE: (
        "撤销信用记录关联告知",
        "此前关联至您信用档案的一条记录已撤销关联。",
        "无需办理任何事项。",
    ),
    NoticeKind.OBJECTION_FORWARDED: (
        "异议转交名单认定机关告知",
        "您对一项名单列入提出的异议已转交认定该名单的部门，由其作出决定。",
        "等待认定部门的决定；该部门更正或撤销其记录后，名单列入随之终止。",
    ),
    NoticeKind.OBJECTION_CLOSED: (
        "异议终结告知",
        "您的异议所涉名单列入在认定部门作出决定前已经终止，异议随之终结。",
        "无需办理任何事项；依据该名单列入的措施不再适用。对相关记录仍有异议的，可以重新提出。",
    ),
    NoticeKind.OBJECTION_MAINTAINED: (
        "异议答复告知（原决定维持）",
        "认定该名单的部门审查了您的异议，答复其记录正确、决定维持，理由见下文。平台无权变更该部门的决定，对此答复不设平台复核。",
        "可以依照下文所列规定向作出决定的部门本身申请纠正或复议；出现新的事实的，可以重新提出异议。",
    ),
    NoticeKind.SUBJECTS_MERGED: (
        "信用主体合并告知",
        "经复核，平台将两个信用主体认定为同一主体，相关记录已归入一个信用档案。",
        "如某条归入的记录与您无关，可对该记录的关联提出异议。",
    ),
    NoticeKind.SUBJECTS_SPLIT: (
        "信用主体拆分告知",
        "经复核，部分记录已在两个信用主体之间调整归属。",
        "如某条记录的归属有误，可对该记录的关联提出异议。",
    ),
}


def zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def bilingual(notice: Notice) -> tuple[str, str]:
    """The title and body a notice is delivered with: Chinese (zh-CN) first, then the English."""
    title, what, can_do = ZH[notice.kind]
    by = f"（请于{zh_date(notice.respond_by)}前办理）" if notice.respond_by else ""
    body = f"发生了什么：{what}\n您可以：{can_do}{by}\n详细说明见下文英文部分。\n\n{notice.body}"
    return f"{title} | {notice.title}", body

"""What a check may be for: a purpose code of its context, matched exactly, and the keys that may ask.

Purposes are codes the catalog defines per context (`Catalog.purposes_of`); the department's own
reference (a tender number, a file number) travels beside the code as free text, which holds no
identifier. A consumer key names the contexts it may check in, and optionally the purpose codes
it may check for; an unscoped consumer key is refused at creation, and one issued before that
rule is refused at use with how to re-issue it.
"""

from __future__ import annotations

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import Forbidden, InvalidInput
from xinyong.domain.free_text import no_identifier, plain_free_text
from xinyong.domain.normalise import shown
from xinyong.services.keys import Principal

REFERENCE_MAX = 200


class OutOfScope(Forbidden):
    """The key may not check in this context or for this purpose."""


def purpose_of(catalog: Catalog, context: str, purpose: str, reference: str | None) -> tuple[str, str | None]:
    """(code, reference) of a check, each checked: the code one of the context's, exactly."""
    no_identifier(purpose, "purpose")  # before the refusal below, which quotes the purpose
    codes = catalog.purpose_codes(context)
    if purpose not in codes:
        raise InvalidInput(
            f"purpose '{shown(purpose, 60)}' is not a purpose code of context '{context}'; "
            f"one of: {', '.join(sorted(codes))} "
            "(put your own reference in the reference field)"
        )
    if reference is None or not reference.strip():
        return purpose, None
    reference = reference.strip()
    if len(reference) > REFERENCE_MAX:
        raise InvalidInput(f"reference: at most {REFERENCE_MAX} characters (got {len(reference)})")
    return purpose, plain_free_text(reference, "reference")


def reissue_hint(name: str) -> str:
    return (
        f"issue a new one with `xinyong keys create --role consumer --name {name} --scope contexts=CONTEXT` "
        "(one --scope per context, and purposes=CODE to narrow it) and revoke this one"
    )


def key_allows(key: Principal, context: str, purpose: str) -> None:
    """Refuse a check the consumer key may not ask: outside its contexts or its purpose codes."""
    contexts, purposes = key.scopes.get("contexts"), key.scopes.get("purposes")
    if not contexts:
        raise OutOfScope(f"this consumer key names no contexts, and may check nowhere: {reissue_hint(key.name)}")
    if context not in contexts:
        raise OutOfScope(f"this key may check only in: {', '.join(contexts)}")
    if purposes and purpose not in purposes:
        raise OutOfScope(f"this key may check only for the purposes: {', '.join(purposes)}")

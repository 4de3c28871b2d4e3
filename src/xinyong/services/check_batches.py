"""A tender screens many subjects in one call: each subject decided and signed exactly as a single
check (`checks.decide_check`), then stored with its audit event by the same group committer.

One subject that cannot be checked (an identifier no scheme reads) does not sink the others: its
place in the answer says what went wrong, by index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import InvalidInput, Unauthorized, XinyongError
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services.checks import Decided, decide_check
from xinyong.services.keys import Principal

BATCH_MAX = 100


@dataclass(frozen=True)
class Refused:
    """An item that was not checked: the status a single check would have answered, and why."""

    status: int
    detail: str


def decide_batch(
    engine: Engine,
    catalog: Catalog,
    vault: IdentifierVault,
    signing_key: Ed25519PrivateKey,
    *,
    subjects: Sequence[str],
    context: str,
    purpose: str,
    consumer: str,
    reference: str | None = None,
    as_of: date | None = None,
    key: Principal | None = None,
) -> list[Decided | Refused]:
    """Decide every subject of a batch (reads only); store the `Decided` ones as single checks.

    Raises:
        InvalidInput: more than BATCH_MAX subjects, or a context or purpose no item could use.
        Unauthorized: the key no longer stands (checked in the first item's read).
    """
    if len(subjects) > BATCH_MAX:
        raise InvalidInput(f"subjects: a batch checks at most {BATCH_MAX} subjects; got {len(subjects)}: split it")
    # What every item shares is checked once: an error there is the whole batch's, not an item's.
    if context not in catalog.contexts:
        raise InvalidInput(f"context '{context}' is not in the catalog; one of: {', '.join(sorted(catalog.contexts))}")
    codes = [p.code for p in catalog.purposes_of(context)]
    if purpose not in codes:
        raise InvalidInput(f"purpose '{purpose[:64]}' is not a purpose of {context}; one of: {', '.join(codes)}")
    out: list[Decided | Refused] = []
    for i, subject in enumerate(subjects):
        try:
            out.append(
                decide_check(
                    engine,
                    catalog,
                    vault,
                    signing_key,
                    identifier=subject,
                    context=context,
                    purpose=purpose,
                    reference=reference,
                    consumer=consumer,
                    as_of=as_of,
                    key=key,
                )
            )
        except Unauthorized:
            raise
        except XinyongError as exc:
            out.append(Refused(exc.status, f"subjects[{i}]: {exc}"))
    return out

"""Consumer keys under attack: a key checks only in its contexts, for their purpose codes.

An unscoped consumer key could check anyone anywhere; a purpose matched by prefix lets
`tenderloin` pass for `tender`. Every consumer key names its contexts (refused at creation
otherwise; one issued before the rule is refused at use, with how to re-issue it), and a purpose
is a code of the context, matched exactly, with the department's own reference beside it.
"""

from __future__ import annotations

import pytest
from operators import TENDER, Api, api_fixture  # noqa: F401 - the api fixture
from sqlalchemy import insert

from builders import make_uscc
from xinyong.domain.errors import InvalidInput
from xinyong.services.keys import _hash, create_key
from xinyong.store.tables import api_keys

CODES = "bidder_screening, contract_award, deposit_decision"


def _ask(api: Api, key: str, purpose: str, context: str = "procurement.tender", **more: str) -> tuple[int, str]:
    r = api.call(
        "POST", "/v1/checks", key, json={"subject": make_uscc(2), "context": context, "purpose": purpose, **more}
    )
    return r.status_code, r.json().get("detail", "")


def test_an_unscoped_consumer_key_is_refused_at_creation(api: Api) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_key(api.engine, api.catalog, role="consumer", name="anywhere")
    assert str(refused.value).startswith(
        "a consumer key names the contexts it may check in: --scope contexts=CONTEXT, one per context (one of: "
    )
    with pytest.raises(InvalidInput, match="purpose 'tender' is not a purpose code of the key's contexts"):
        create_key(api.engine, api.catalog, role="consumer", name="t", scopes={**TENDER, "purposes": ["tender"]})


def test_an_unscoped_key_issued_before_the_rule_is_refused_at_use(api: Api) -> None:
    with api.engine.begin() as conn:  # as an older release issued it
        conn.execute(insert(api_keys).values(id="00000000000000aa", secret_hash=_hash("old"), role="consumer",
                                             name="legacy", scopes={}, created_at=api.now()))  # fmt: skip
    status, detail = _ask(api, "xy_00000000000000aa_old", "bidder_screening")
    assert (status, detail) == (
        403,
        "this consumer key names no contexts, and may check nowhere: issue a new one with `xinyong keys create "
        "--role consumer --name legacy --scope contexts=CONTEXT` (one --scope per context, and purposes=CODE to "
        "narrow it) and revoke this one",
    )


def test_purposes_are_codes_matched_exactly(api: Api) -> None:
    key = api.key("consumer", "finance-bureau", scopes={**TENDER, "purposes": ["bidder_screening"]})
    wide = api.key("consumer", "tax-bureau", scopes=TENDER)
    for sneaky in ("tenderloin", "bidder_screening_x", "bidder", "Bidder_Screening", " bidder_screening", "tender 1"):
        status, detail = _ask(api, wide, sneaky)
        assert (status, detail) == (
            422,
            f"purpose '{sneaky}' is not a purpose code of context 'procurement.tender'; one of: {CODES} "
            "(put your own reference in the reference field)",
        )
    # quoted back with its control characters escaped: an error printed in a terminal rewrites nothing
    for sneaky, quoted in (("bidder\x1b[2J", "bidder\\x1b[2J"), ("bidder\u202e", "bidder\\u202e")):
        status, detail = _ask(api, wide, sneaky)
        assert (status, detail) == (
            422,
            f"purpose '{quoted}' is not a purpose code of context 'procurement.tender'; one of: {CODES} "
            "(put your own reference in the reference field)",
        )
    assert _ask(api, key, "contract_award") == (403, "this key may check only for the purposes: bidder_screening")
    assert _ask(api, key, "bidder_screening", context="finance.subsidy") == (
        403,
        "this key may check only in: procurement.tender",
    )
    r = api.call("POST", "/v1/checks", key, json={
        "subject": make_uscc(2), "context": "procurement.tender", "purpose": "bidder_screening",
        "reference": "tender 2026-17"})  # fmt: skip
    assert r.status_code == 200 and (r.json()["purpose"], r.json()["reference"]) == (
        "bidder_screening",
        "tender 2026-17",
    )

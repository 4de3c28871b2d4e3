"""Due-process floors that no catalog may loosen (principle 5).

The shipped policy holds the defaults of DESIGN.md's reference parameters; these constants are the
limits beyond which a configuration stops being due process at all. A catalog may always be
stricter (a longer notice, a shorter term, a faster removal); the loader refuses one that is looser,
naming the floor it breaks. Each constant says where its number comes from.
"""

from __future__ import annotations

from typing import Final

REVIEWER_REQUIRED: Final = True
"""A list that can lead to a sanction is published only after a person reviewed the proposal.

Principle 5 ("notice before listing") and the reference parameters: the defaulter list of the
Supreme People's Court and the US debarment procedure (FAR 9.406-3) both have an official decide;
no automatic listing may deny anyone anything.
"""

NOTICE_DAYS_MIN: Final = 10
"""Days between notice and publication on a list that can lead to a sanction or closer supervision.

The reference default is 30 days to respond (US FAR 9.406-3); 10 days is the appeal period the
shipped procedure already grants after a dismissed objection, and the shortest period in which a
subject can gather and file evidence. A notice of 0 days publishes the entry the day it is proposed.
"""

TERM_MONTHS_MAX: Final = 36
"""Longest term, in months, of one listing before any reasoned extension.

NDRC's credit repair rules cap the publication of serious adverse information at 36 months (the
`serious` range of the reference parameters); the national lists split out of the old merged black
list (tax, market regulation, wage arrears) each publish for three years at most.
"""

REMOVAL_PATHS_MIN: Final = 1
"""Every adverse list names at least one way off it before its term ends.

Principle 5: "an entry lives only while its ground does". A list with no removal path and no
repair keeps a subject listed after the obligation is met or the decision is revoked.
"""

REMOVAL_WORKING_DAYS_MAX: Final = 5
"""Most working days between learning that an entry's ground fell away and the entry ending.

The reference default is 3 working days after the obligation is met (Supreme People's Court
defaulter list); 5 leaves room for a weekend-adjacent holiday and never more.
"""

OBJECTION_DECISION_WORKING_DAYS_MAX: Final = 30
"""Most working days in which an objection must be decided.

The reference parameters: a decision within 15 days, configurable up to 30 (FCRA s.611's 30 days;
PRC court practice). A deadline of 45 working days leaves a disputed record unresolved for two
months.
"""

FREE_LETTERS_MAX: Final = 6
"""Most letters a string attribute's `pattern` may leave free, summed over the whole pattern.

Principle 8: closed record schemas, no free-text "behaviour". A pattern is tight when every
repetition is bounded, it matches no arbitrary character, and at most this many characters come
from a letter class (a Chinese case number such as (2024)浙0106执恢123号 needs five: the court's
abbreviation, and the case kind). Literal text in the pattern is fixed, so it does not count.
"""

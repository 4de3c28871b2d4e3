"""Signed credit reports and open-data publication.

A credit report (专用信用报告) states, per source department and area, what the platform holds
about one subject in a period, or that it holds nothing, and for which stretch of time each
department has actually reported: it never says "no record" for a department or a time it
received nothing from. It is signed twice: the JSON with the platform's Ed25519 key, like a
check's certificate, and the PDF with a PAdES signature that PDF readers show. Open data is
what the law makes public, as CSV, JSON Lines and FollowTheMoney entities, with a signed
manifest and a changes feed.
"""

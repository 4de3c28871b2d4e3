"""Rate limits under attack: the certificate, replay, verification and key routes are limited
per client too, on a real server, so none of them is a way to harvest or probe without bound."""

from __future__ import annotations

from pathlib import Path

from operators import KEY_HEX

from servers import in_thread
from xinyong.settings import Settings


def test_every_route_a_stranger_can_reach_with_a_check_id_or_a_certificate_is_limited(
    db_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        identifier_key=KEY_HEX,
        signing_key_file=tmp_path / "signing.key",
        public_rate_per_minute=3,
        trusted_proxies="127.0.0.0/8, ::1",  # so that each route below is asked by a client of its own
    )
    settings.create_signing_key_file()
    import httpx

    check_id = "0" * 32
    routes = [
        ("GET", f"/v1/checks/{check_id}/certificate"),
        ("GET", f"/v1/checks/{check_id}/replay"),
        ("POST", "/v1/certificates/verify"),
        ("GET", "/v1/keys"),
    ]
    with in_thread(settings) as url:
        for client, (method, path) in enumerate(routes, start=1):
            headers = {"x-forwarded-for": f"198.51.100.{client}"}
            statuses = [
                httpx.request(method, url + path, content=b"{}", headers=headers, timeout=30).status_code
                for _ in range(4)
            ]
            assert 429 not in statuses[:3] and statuses[3] == 429, (path, statuses)
            refused = httpx.request(method, url + path, content=b"{}", headers=headers, timeout=30)
            assert refused.headers["content-type"] == "application/problem+json"
            assert "at most 3 requests a minute" in refused.json()["detail"]

"""A department's notification gateway, served for real on loopback, for the delivery tests.

It verifies every request's Standard Webhooks signature with the shared secret, answers the
first `fail_first` requests of each `webhook-id` with `fail_status` (or a redirect), then accepts,
and remembers every request it answered and every notice it accepted.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Gateway:
    def __init__(self, secret: str, *, fail_first: int = 0, fail_status: int = 500, redirect_to: str | None = None):
        self.verifier = Webhook(secret)
        self.fail_first, self.fail_status, self.redirect_to = fail_first, fail_status, redirect_to
        self.lock = threading.Lock()
        self.answered: list[tuple[str, int]] = []  # (webhook-id, status answered), in order
        self.accepted: dict[str, dict[str, Any]] = {}  # webhook-id -> the notice, once accepted
        self.accepted_times: Counter[str] = Counter()  # a receiver drops repeats; the tests count them
        self.bad_signatures = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                gateway.handle(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = dict(request.headers.items())
        try:
            payload = self.verifier.verify(body, headers)
        except WebhookVerificationError:
            with self.lock:
                self.bad_signatures += 1
            self._answer(request, 401)
            return
        msg_id = headers.get("webhook-id") or headers.get("Webhook-Id") or ""
        with self.lock:
            tried = sum(1 for m, _ in self.answered if m == msg_id)
            status = (307 if self.redirect_to else self.fail_status) if tried < self.fail_first else 200
            self.answered.append((msg_id, status))
            if status == 200:
                self.accepted_times[msg_id] += 1
                self.accepted.setdefault(msg_id, payload)
        self._answer(request, status)

    def _answer(self, request: BaseHTTPRequestHandler, status: int) -> None:
        request.send_response(status)
        if status == 307 and self.redirect_to:
            request.send_header("location", self.redirect_to)
        request.send_header("content-length", "0")
        request.end_headers()

    def requests_per_notice(self) -> Counter[str]:
        with self.lock:
            return Counter(m for m, _ in self.answered)

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def notice_ids(gateway: Gateway) -> set[int]:
    return {int(p["data"]["id"]) for p in gateway.accepted.values()}

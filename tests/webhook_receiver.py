"""A real webhook receiver on loopback for the tests: it verifies every signature with the
`standardwebhooks` library, refuses the first attempts of each event with 500, and counts
what it took by `webhook-id`."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

# A made-up signing secret, long and distinctive so a leak is easy to grep for.
TEST_SECRET = "whsec_dGVzdC1zaWduaW5nLXNlY3JldC1mb3Itb3V0cmVhY2gtMDAx"


class Receiver:
    """`refuse_first`: how many attempts of each event are answered 500 before one is taken."""

    def __init__(self, secret: str = TEST_SECRET, refuse_first: int = 0):
        self.webhook = Webhook(secret)
        self.refuse_first = refuse_first
        self.lock = threading.Lock()
        self.attempts: Counter[str] = Counter()  # webhook-id -> requests seen
        self.taken: Counter[str] = Counter()  # webhook-id -> requests answered 2xx
        self.bodies: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.handle(self, body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            payload = self.webhook.verify(body, headers)
        except Exception:
            with self.lock:
                self.bad_signatures += 1
            self._answer(request, 401)
            return
        message_id = headers["webhook-id"]
        with self.lock:
            self.attempts[message_id] += 1
            refuse = self.attempts[message_id] <= self.refuse_first
            if not refuse:
                self.taken[message_id] += 1
                self.bodies[message_id] = payload
        self._answer(request, 500 if refuse else 204)

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int) -> None:
        text = json.dumps({"refused": status >= 300}).encode() if status != 204 else b""
        request.send_response(status)
        request.send_header("content-length", str(len(text)))
        request.end_headers()
        request.wfile.write(text)

    def types(self) -> Counter[str]:
        """How many distinct events of each type were taken."""
        with self.lock:
            return Counter(body["type"] for body in self.bodies.values())

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

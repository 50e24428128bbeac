"""The sandbox's HTTP server: the provider paths (five for sending, OutX's Fetch Profile, four
for reading) plus a control API under `/_sandbox/`.

Unless a fault rule says otherwise, the provider paths answer only as the providers' docs do
(see `linkup`, `linkup_reads`, `connectsafely`, `connectsafely_reads` and `outx`); every
undocumented answer is a named fault (see `faults`), switched on through the control API:

GET    /_sandbox/health                    {"ok": true}
GET    /_sandbox/messages                  every delivered message; an OutX one has the status
                                           its task gives it: pending, sent or failed
GET    /_sandbox/requests                  every send request (and OutX profile fetch: an
                                           action paced like a send), with the gap since the last
GET    /_sandbox/fetches                   every OutX profile fetch {sender, profile_slug,
                                           task_id, at}
GET    /_sandbox/reads                     every read request {provider, path, sender, at, gap_s},
                                           the gap since the sender's previous read (sends apart);
                                           a path that carries an id is named by its template
GET    /_sandbox/violations                send requests closer than `min_gap_s` ("kind": "send")
                                           and reads closer than `read_min_gap_s` ("kind": "read")
GET|PUT /_sandbox/config                   {"min_gap_s": …, "outx_complete_after_s": …,
                                            "read_min_gap_s": …}
GET|POST|DELETE /_sandbox/faults           list, add (one rule or a list), clear
GET    /_sandbox/conversations             every conversation (LinkUp and ConnectSafely; OutX
                                           has no read endpoint), with its messages oldest first
POST   /_sandbox/replies                   the recipient answers: {"sender": …, "recipient": …,
                                           "text": …, "at_ms": optional}; 404 if the two have no
                                           conversation
POST   /_sandbox/reset                     forget everything, back to the starting config

A reply's `sender` is the sandbox's name for the account (`control.sender_of`); its `recipient`
is the person as any send named them, in any spelling (profile URL, public id, member id, URN).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from worker.dev.sandbox import connectsafely, connectsafely_reads, linkup, linkup_reads, outx
from worker.dev.sandbox.dialect import Answer, Call, Dialect
from worker.dev.sandbox.faults import parse_fault
from worker.dev.sandbox.state import Config, SandboxState

Route = Callable[[SandboxState, Call], Answer]

# The sandbox's side of the provider registry (`worker.providers.REGISTRY`), by the same names:
# how each sandboxed provider words its errors and rate limits.
DIALECTS: dict[str, Dialect] = {
    "linkup": linkup.DIALECT,
    "connectsafely": connectsafely.DIALECT,
    "outx": outx.DIALECT,
}

PROVIDER_ROUTES: dict[tuple[str, str], Route] = {
    ("POST", linkup.SEND_PATH): linkup.send_message,
    ("POST", connectsafely.MESSAGING_PATH): connectsafely.send_message,
    ("POST", connectsafely.CONVERSATIONS_PATH): connectsafely.send_message,
    ("POST", outx.SEND_PATH): outx.send_message,
    ("GET", outx.STATUS_PATH): outx.get_task_status,
    ("POST", outx.FETCH_PATH): outx.fetch_profile,
    ("POST", linkup_reads.CONVERSATION_PATH): linkup_reads.get_conversation,
    ("POST", linkup_reads.INBOX_PATH): linkup_reads.get_inbox,
    ("GET", connectsafely_reads.RECENT_MESSAGES_PATH): connectsafely_reads.recent_messages,
}
# Paths that carry an id, matched by pattern.
PATTERN_ROUTES: list[tuple[str, re.Pattern[str], Route]] = [
    ("GET", connectsafely_reads.MESSAGES_ROUTE, connectsafely_reads.conversation_messages),
]


def _health(state: SandboxState, call: Call) -> Answer:
    return Answer(200, {"ok": True})


def _messages(state: SandboxState, call: Call) -> Answer:
    return Answer(200, {"messages": state.message_list()})


def _requests(state: SandboxState, call: Call) -> Answer:
    with state.lock:
        return Answer(200, {"requests": list(state.requests)})


def _fetches(state: SandboxState, call: Call) -> Answer:
    with state.lock:
        return Answer(200, {"fetches": list(state.fetches)})


def _reads(state: SandboxState, call: Call) -> Answer:
    with state.lock:
        return Answer(200, {"reads": list(state.reads)})


def _violations(state: SandboxState, call: Call) -> Answer:
    with state.lock:
        return Answer(200, {"violations": list(state.violations)})


def _get_config(state: SandboxState, call: Call) -> Answer:
    return Answer(200, asdict(state.config))


def _put_config(state: SandboxState, call: Call) -> Answer:
    known = {f.name for f in fields(Config)}
    if not isinstance(call.body, dict) or set(call.body) - known:
        return Answer(400, {"error": f"config takes only {', '.join(sorted(known))}"})
    values = {**asdict(state.config), **call.body}
    if not all(isinstance(v, int | float) and v >= 0 for v in values.values()):
        return Answer(400, {"error": "config values are numbers of seconds, 0 or more"})
    state.config = Config(**{k: float(v) for k, v in values.items()})
    return Answer(200, asdict(state.config))


def _list_faults(state: SandboxState, call: Call) -> Answer:
    with state.lock:
        return Answer(200, {"faults": [asdict(f) for f in state.faults]})


def _add_faults(state: SandboxState, call: Call) -> Answer:
    documents = call.body if isinstance(call.body, list) else [call.body]
    try:
        new = [parse_fault(d) for d in documents]
    except (ValueError, TypeError) as exc:
        return Answer(400, {"error": str(exc)})
    with state.lock:
        state.faults.extend(new)
    return Answer(201, {"added": len(new)})


def _clear_faults(state: SandboxState, call: Call) -> Answer:
    with state.lock:
        state.faults.clear()
    return Answer(200, {"faults": []})


def _conversations(state: SandboxState, call: Call) -> Answer:
    return Answer(200, {"conversations": state.conversations.views()})


def _reply(state: SandboxState, call: Call) -> Answer:
    body = call.body if isinstance(call.body, dict) else {}
    names = ("sender", "recipient", "text")
    if not all(isinstance(body.get(n), str) and body[n] for n in names):
        return Answer(400, {"error": "a reply takes sender, recipient and text, each a string"})
    at_ms = body.get("at_ms")
    if at_ms is not None and (isinstance(at_ms, bool) or not isinstance(at_ms, int)):
        return Answer(400, {"error": "at_ms is a whole number of ms since the epoch"})
    added = state.conversations.record_reply(body["sender"], body["recipient"], body["text"], at_ms)
    if added is None:
        error = f"{body['sender']} has no conversation with {body['recipient']}"
        return Answer(404, {"error": error})
    conversation, entry = added
    return Answer(
        201,
        {
            "conversation": conversation.view(),
            "message": {"urn": entry.urn, "text": entry.text, "at_ms": entry.at_ms},
        },
    )


def _reset(state: SandboxState, call: Call) -> Answer:
    state.reset()
    return Answer(200, {"ok": True})


CONTROL_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/_sandbox/health"): _health,
    ("GET", "/_sandbox/messages"): _messages,
    ("GET", "/_sandbox/requests"): _requests,
    ("GET", "/_sandbox/reads"): _reads,
    ("GET", "/_sandbox/fetches"): _fetches,
    ("GET", "/_sandbox/violations"): _violations,
    ("GET", "/_sandbox/config"): _get_config,
    ("PUT", "/_sandbox/config"): _put_config,
    ("GET", "/_sandbox/faults"): _list_faults,
    ("POST", "/_sandbox/faults"): _add_faults,
    ("DELETE", "/_sandbox/faults"): _clear_faults,
    ("GET", "/_sandbox/conversations"): _conversations,
    ("POST", "/_sandbox/replies"): _reply,
    ("POST", "/_sandbox/reset"): _reset,
}
ROUTES = {**PROVIDER_ROUTES, **CONTROL_ROUTES}


def _route(method: str, path: str) -> Route | None:
    route = ROUTES.get((method, path))
    if route is not None:
        return route
    return next(
        (r for m, pattern, r in PATTERN_ROUTES if m == method and pattern.match(path)), None
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    state: SandboxState


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers do
    # Answer at once rather than wait for Nagle's algorithm to fill a packet: without it a
    # small JSON answer sits ~40 ms on loopback, and the sandbox, not outreach, sets the pace.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_GET

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        call = Call(
            method=self.command,
            path=url.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            query=dict(parse_qsl(url.query)),
            body=body,
        )
        answer = self._answer(call)
        if answer.drop:
            self.close_connection = True
            return
        if answer.delay_s:
            time.sleep(answer.delay_s)
        self._write(answer)

    def _answer(self, call: Call) -> Answer:
        route = _route(call.method, call.path)
        if route is None:
            if any(_route(method, call.path) for method in ("GET", "POST", "PUT", "DELETE")):
                return Answer(405, {"error": f"{call.method} not allowed on {call.path}"})
            return Answer(404, {"error": f"no such path: {call.path}"})
        try:
            return route(self.server.state, call)
        except Exception as exc:  # a sandbox bug must show as an answer, not a hung client
            return Answer(500, {"error": f"sandbox failure: {type(exc).__name__}: {exc}"})

    def _write(self, answer: Answer) -> None:
        if answer.raw is not None:
            payload = answer.raw.encode()
        else:
            payload = json.dumps(answer.body).encode()
        # A fault rule's own Content-Type header wins over the answer's.
        own_type = any(name.lower() == "content-type" for name in answer.headers)
        try:
            self.send_response(answer.status)
            if not own_type:
                self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a slow-answer fault did its job)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the control API is the sandbox's record, not a request log on stderr."""


class Sandbox:
    """A running sandbox server; `start()` serves from a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, config: Config | None = None):
        self._server = _Server((host, port), _Handler)
        start_config = config or Config()
        self._server.state = SandboxState(
            config=Config(**asdict(start_config)), initial_config=start_config
        )
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> SandboxState:
        return self._server.state

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Sandbox:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

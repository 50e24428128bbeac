"""A client for the sandbox's control API, for tests, the demo and rehearsals."""

from __future__ import annotations

from typing import Any

import httpx

from worker.accounts import Account
from worker.dev.sandbox.state import fingerprint


def sender_of(account: Account) -> str:
    """The name the sandbox records for `account`'s sends (never the key itself)."""
    if account.provider == "linkup" and account.login_token is not None:
        return fingerprint(account.login_token.reveal())
    if account.provider == "connectsafely" and account.account_id is not None:
        return account.account_id
    return fingerprint(account.api_key.reveal())


class SandboxClient:
    def __init__(self, base_url: str, client: httpx.Client | None = None):
        self._http = client or httpx.Client(base_url=base_url, timeout=10)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, f"/_sandbox/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "health")["ok"])
        except httpx.HTTPError:
            return False

    def messages(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "messages")["messages"]
        return result

    def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "requests")["requests"]
        return result

    def profile_fetches(self) -> list[dict[str, Any]]:
        """Every OutX Fetch Profile request that made a task {sender, profile_slug, task_id, at}."""
        result: list[dict[str, Any]] = self._call("GET", "fetches")["fetches"]
        return result

    def reads(self) -> list[dict[str, Any]]:
        """Every read request {provider, path, sender, at, gap_s}, gaps between reads alone."""
        result: list[dict[str, Any]] = self._call("GET", "reads")["reads"]
        return result

    def conversations(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "conversations")["conversations"]
        return result

    def reply(
        self, sender: str, recipient: str, text: str, at_ms: int | None = None
    ) -> dict[str, Any]:
        """`recipient` (as a send named them, any spelling) answers `sender` (as `sender_of`
        names the account); the reply and its conversation. HTTPStatusError 404 when the two
        have no conversation."""
        body: dict[str, Any] = {"sender": sender, "recipient": recipient, "text": text}
        if at_ms is not None:
            body["at_ms"] = at_ms
        result: dict[str, Any] = self._call("POST", "replies", body)
        return result

    def violations(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "violations")["violations"]
        return result

    def configure(self, **config: float) -> dict[str, float]:
        result: dict[str, float] = self._call("PUT", "config", config)
        return result

    def add_fault(self, kind: str, **rule: Any) -> None:
        self._call("POST", "faults", {"kind": kind, **rule})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def reset(self) -> None:
        self._call("POST", "reset")

    def close(self) -> None:
        self._http.close()

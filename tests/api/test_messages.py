"""`POST /v1/messages` and the deliveries it makes, over real HTTP: auth, idempotency keys,
every invalid field named, size limits, and 200 concurrent requests."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime
from typing import Any

import httpx
import pytest

from scheduler import producer
from scheduler.api.api_keys import ApiKeys
from scheduler.producer import Message
from tests.api.server import RunningApi
from tests.fakes import SECRETS
from worker.runtime import Runtime

JANE = "https://www.linkedin.com/in/jane-doe"
MESSAGE = {"account": "ann", "to": JANE, "text": "Hi Jane"}
PROBLEM = "application/problem+json"


def _count(api: RunningApi) -> int:
    return len(api.runtime.store.find())


def test_a_message_is_queued_and_can_be_followed(api: RunningApi) -> None:
    with api.client(api.key) as client:
        answer = client.post("/v1/messages", json=MESSAGE)
        assert answer.status_code == 201
        created = answer.json()
        assert created["created"] is True and created["status"] == "queued"
        assert answer.headers["location"] == created["url"] == f"/v1/deliveries/{created['id']}"

        delivery = client.get(created["url"]).json()

    assert delivery["recipient"] == JANE and delivery["account"] == "ann"
    assert delivery["provider_calls"] == []  # not sent yet
    assert api.runtime.due_index.state("ann").queued == 1  # indexed for its account


def test_the_same_idempotency_key_and_body_give_the_same_delivery(api: RunningApi) -> None:
    with api.client(api.key) as client:
        first = client.post("/v1/messages", json=MESSAGE, headers={"Idempotency-Key": "order-7"})
        again = client.post("/v1/messages", json=MESSAGE, headers={"Idempotency-Key": "order-7"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert _count(api) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(api: RunningApi) -> None:
    with api.client(api.key) as client:
        first = client.post("/v1/messages", json=MESSAGE, headers={"Idempotency-Key": "k"})
        other = {**MESSAGE, "text": "Hi Jane, something else"}
        clash = client.post("/v1/messages", json=other, headers={"Idempotency-Key": "k"})

    assert clash.status_code == 409
    assert clash.headers["content-type"] == PROBLEM
    problem = clash.json()
    assert problem["status"] == 409 and problem["type"].endswith("/idempotency-key-reused")
    assert str(first.json()["id"]) in problem["detail"]
    assert _count(api) == 1


def test_without_a_key_the_same_message_is_still_one_delivery(api: RunningApi) -> None:
    with api.client(api.key) as client:
        ids = {client.post("/v1/messages", json=MESSAGE).json()["id"] for _ in range(3)}
    assert len(ids) == 1


def test_every_invalid_field_is_named_in_a_problem_document(api: RunningApi) -> None:
    with api.client(api.key) as client:
        missing = client.post("/v1/messages", json={"account": "ann", "extra": 1})
        wrong = client.post("/v1/messages", json={"account": "zed", "to": "jane doe", "text": ""})
        empty = client.post("/v1/messages", json={"account": "ann", "to": "jane doe", "text": ""})
        not_json = client.post(
            "/v1/messages", content=b"{", headers={"content-type": "application/json"}
        )

    assert missing.status_code == 422 and missing.headers["content-type"] == PROBLEM
    assert {e["field"] for e in missing.json()["errors"]} == {"to", "text", "extra"}
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.json()["errors"]] == ["account", "recipient"]
    assert "defined: ann, dan, eve" in wrong.json()["errors"][0]["message"]
    fields = [e["field"] for e in empty.json()["errors"]]
    assert fields[0] == "recipient" and "text" in fields  # both, in one answer
    assert not_json.status_code == 422 and not_json.headers["content-type"] == PROBLEM
    assert _count(api) == 0


def test_a_provider_rule_is_named_with_its_field(api: RunningApi) -> None:
    # InMail is ConnectSafely's; LinkUp refuses it at once, with nothing queued.
    with api.client(api.key) as client:
        answer = client.post("/v1/messages", json={**MESSAGE, "inmail": True})
    assert answer.status_code == 422
    assert "inmail" in {e["field"] for e in answer.json()["errors"]}
    assert _count(api) == 0


def test_a_media_file_travels_as_base64(api: RunningApi) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    media = {"content_type": "image/png", "data_base64": base64.b64encode(png).decode()}
    with api.client(api.key) as client:
        made = client.post("/v1/messages", json={**MESSAGE, "media_file": media})
        bad = client.post(
            "/v1/messages",
            json={**MESSAGE, "text": "x", "media_file": {**media, "data_base64": "%%%"}},
        )
    assert made.status_code == 201, made.text
    stored = api.runtime.store.get(made.json()["id"])
    assert stored is not None and base64.b64decode(stored.media_base64 or "") == png
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "media_file.data_base64"


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "streamed"])
def test_a_body_over_the_limit_is_refused_unread(api: RunningApi, chunked: bool) -> None:
    big = b'{"account": "ann", "to": "x", "text": "' + b"a" * (2 << 20) + b'"}'
    content = (big[i : i + 65536] for i in range(0, len(big), 65536)) if chunked else big
    with api.client(api.key) as client:
        answer = client.post(
            "/v1/messages", content=content, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == PROBLEM
    assert _count(api) == 0


def test_no_key_a_bad_key_or_a_revoked_key_is_401_with_nothing_changed(api: RunningApi) -> None:
    keys = ApiKeys(api.runtime.engine, api.runtime.redis)
    revoked = keys.create("old").key
    keys.revoke("old")
    basic = {"Authorization": f"Basic {api.key}"}  # a good key, but not as a bearer token
    for key, headers in ((None, {}), ("oak_not-a-real-key", {}), (revoked, {}), (None, basic)):
        with api.client(key, headers=headers) as client:
            answer = client.post("/v1/messages", json=MESSAGE)
            listing = client.get("/v1/deliveries")
        assert answer.status_code == listing.status_code == 401, key
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.headers["content-type"] == PROBLEM
    assert _count(api) == 0


def test_a_read_only_key_reads_but_cannot_write(api: RunningApi) -> None:
    with api.client(api.key) as writer:
        writer.post("/v1/messages", json=MESSAGE)
    with api.client(api.read_only_key) as reader:
        refused = reader.post("/v1/messages", json={**MESSAGE, "text": "another"})
        opt_out = reader.post("/v1/recipients/opt-out", json={"recipients": [JANE]})
        listed = reader.get("/v1/deliveries")
    assert refused.status_code == opt_out.status_code == 403
    assert refused.json()["type"].endswith("/forbidden")
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    assert _count(api) == 1
    assert api.runtime.recipients.flags([JANE]) == {}


def test_deliveries_page_newest_first_with_a_cursor(api: RunningApi) -> None:
    with api.client(api.key) as client:
        made = [
            client.post("/v1/messages", json={**MESSAGE, "text": f"note {i}"}).json()["id"]
            for i in range(5)
        ]
        client.post("/v1/messages", json={"account": "dan", "to": JANE, "text": "from dan"})
        seen: list[int] = []
        cursor = None
        while True:
            params = {"account": "ann", "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/deliveries", params=params).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        queued = client.get("/v1/deliveries", params={"status": "queued"}).json()["items"]
        bad_status = client.get("/v1/deliveries", params={"status": "lost"})
        bad_cursor = client.get("/v1/deliveries", params={"cursor": "abc"})
        missing = client.get("/v1/deliveries/999999")

    assert seen == sorted(made, reverse=True)
    assert len(queued) == 6
    assert bad_status.status_code == 422 and bad_status.json()["errors"][0]["field"] == "status"
    assert bad_cursor.status_code == 422 and bad_cursor.json()["errors"][0]["field"] == "cursor"
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


def test_200_concurrent_posts_with_50_repeated_keys_make_150_deliveries(
    api: RunningApi,
) -> None:
    # 150 distinct keys; 50 of them are sent twice, the repeats racing their first copy.
    keys = [f"key-{i}" for i in range(150)] + [f"key-{i}" for i in range(0, 150, 3)]
    assert len(keys) == 200

    async def post_all() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {api.key}"}
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(
            base_url=api.url, headers=headers, limits=limits, timeout=60
        ) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/v1/messages",
                        json={**MESSAGE, "text": f"Hi, {key}"},
                        headers={"Idempotency-Key": key},
                    )
                    for key in keys
                )
            )

    answers = asyncio.run(post_all())

    assert sorted({a.status_code for a in answers}) == [200, 201]
    assert sum(a.status_code == 201 for a in answers) == 150
    by_key: dict[str, set[int]] = {}
    for key, answer in zip(keys, answers, strict=True):
        by_key.setdefault(key, set()).add(answer.json()["id"])
    assert all(len(ids) == 1 for ids in by_key.values())  # a repeat got its first's delivery
    assert _count(api) == 150
    assert api.runtime.due_index.state("ann").queued == 150


def test_a_failure_inside_is_a_problem_document_and_the_api_goes_on(
    api: RunningApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_row = producer._row

    def broken_row(runtime: Runtime, message: Message, created_at: datetime) -> dict[str, Any]:
        if message.text == "boom":
            raise RuntimeError("a bug")
        return real_row(runtime, message, created_at)

    monkeypatch.setattr(producer, "_row", broken_row)
    with api.client(api.key) as client:
        failed = client.post("/v1/messages", json={**MESSAGE, "text": "boom"})
        after = client.post("/v1/messages", json=MESSAGE)

    assert failed.status_code == 500
    assert failed.headers["content-type"] == PROBLEM
    assert failed.json()["type"].endswith("/internal-error") and "a bug" not in failed.text
    assert after.status_code == 201  # the batching thread survived the bug
    assert _count(api) == 1


def test_openapi_and_interactive_docs_are_served(api: RunningApi) -> None:
    with api.client() as client:
        document = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert "/v1/messages" in document["paths"] and "/v1/campaigns" in document["paths"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_no_secret_reaches_an_answer(api: RunningApi) -> None:
    with api.client(api.key) as client:
        client.post("/v1/messages", json=MESSAGE)
        bodies = [
            client.get(path).text
            for path in ("/v1/accounts", "/v1/deliveries", "/v1/deliveries/1", "/openapi.json")
        ]
    for body in bodies:
        for secret in SECRETS.values():
            assert secret not in body
        assert api.key not in body and api.read_only_key not in body

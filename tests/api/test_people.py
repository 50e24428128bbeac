"""Recipients, replies and accounts over HTTP."""

from __future__ import annotations

from tests.api.server import RunningApi

JANE = "https://www.linkedin.com/in/jane-doe"
OMAR = "https://www.linkedin.com/in/omar-k"


def test_marking_a_reply_stops_the_sequence_and_lists_the_reply(api: RunningApi) -> None:
    with api.client(api.key) as client:
        client.post("/v1/messages", json={"account": "ann", "to": JANE, "text": "Hi"})
        marked = client.post("/v1/recipients/replied", json={"recipients": [JANE]})
        replies = client.get("/v1/replies").json()
        later = client.get("/v1/replies", params={"since": "2999-01-01"}).json()

    assert marked.status_code == 200 and marked.json() == {"cancelled": 1}
    assert [(r["recipient"], r["how"]) for r in replies] == [(JANE, "manual")]
    assert later == []


def test_opting_out_cancels_and_refuses_bad_recipients_by_field(api: RunningApi) -> None:
    with api.client(api.key) as client:
        client.post("/v1/messages", json={"account": "dan", "to": OMAR, "text": "Hi"})
        opted = client.post("/v1/recipients/opt-out", json={"recipients": [OMAR]})
        bad = client.post("/v1/recipients/opt-out", json={"recipients": ["omar k"]})
        empty = client.post("/v1/recipients/opt-out", json={"recipients": []})

    assert opted.json() == {"cancelled": 1}
    assert api.runtime.recipients.flags([OMAR])[OMAR].opted_out_at is not None
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "recipient"
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "recipients"


def test_accounts_show_state_pause_and_counts(api: RunningApi) -> None:
    api.runtime.due_index.pause("eve", None, "checking the account")
    with api.client(api.read_only_key) as client:
        accounts = {a["account"]: a for a in client.get("/v1/accounts").json()}

    assert set(accounts) == {"ann", "dan", "eve"}
    assert accounts["eve"]["paused_forever"] is True
    assert accounts["eve"]["pause_reason"] == "checking the account"
    assert accounts["ann"]["paused_until"] is None and accounts["ann"]["sent_today"] == 0
    assert accounts["eve"]["state"] == "paused" and accounts["ann"]["state"] == "idle"
    assert "checking the account" in accounts["eve"]["state_detail"]


def test_a_read_only_key_cannot_mark_replies(api: RunningApi) -> None:
    with api.client(api.read_only_key) as client:
        refused = client.post("/v1/recipients/replied", json={"recipients": [JANE]})
    assert refused.status_code == 403
    assert api.runtime.recipients.flags([JANE]) == {}
    assert api.runtime.recipients.replies() == []

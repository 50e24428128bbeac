"""The sandbox's read endpoints: each sender's conversations as LinkUp and ConnectSafely document
them, a recipient's replies, faults on reads, and the record of reads and their pacing."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from worker.dev.sandbox.control import SandboxClient
from worker.dev.sandbox.faults import parse_fault
from worker.dev.sandbox.state import fingerprint

API_KEY = {"x-api-key": "key-123456"}
TOKEN = "token-aaaaaa"
LINKUP_SENDER = fingerprint(TOKEN)
JANE = "https://www.linkedin.com/in/jane-doe"
MEMBER_ID = "ACoAAFHoUZgB6wGz0HEW1MdqGW45NI4e"
BEARER = {"Authorization": "Bearer cs-key-123"}
ACCOUNT = "acc-1"


# LinkUp ------------------------------------------------------------------------------------


def _linkup_post(
    raw: httpx.Client, profile: str = JANE, text: str = "Hi", token: str = TOKEN
) -> httpx.Response:
    body = {"linkedin_url": profile, "message_text": text, "login_token": token}
    return raw.post("/v1/messages/send-message", json=body, headers=API_KEY)


def _linkup_send(raw: httpx.Client, profile: str = JANE, text: str = "Hi") -> dict[str, Any]:
    """Send as TOKEN's account; the answer's `data`."""
    data: dict[str, Any] = _linkup_post(raw, profile, text).json()["data"]
    return data


def _linkup_read(raw: httpx.Client, path: str, token: str = TOKEN, **body: Any) -> httpx.Response:
    return raw.post(f"/v1/messages/{path}", json={"login_token": token, **body}, headers=API_KEY)


def _conversation(raw: httpx.Client, **body: Any) -> dict[str, Any]:
    answer: dict[str, Any] = _linkup_read(raw, "conversation", **body).json()
    return answer


def test_linkup_conversation_answers_the_documented_shape(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sent = _linkup_send(raw, text="Hello Jane")
    sandbox.reply(LINKUP_SENDER, JANE, "Hi back")

    answer = _conversation(raw, linkedin_url=JANE)

    assert answer["status"] == "success"
    data = answer["data"]
    assert list(data) == [
        "conversation_id", "profile_url", "total_results", "total_other_member_message_count",
        "unread_count", "last_seen_message", "last_seen_at", "messages", "next_cursor",
        "has_next_page",
    ]  # fmt: skip
    assert (data["conversation_id"], data["profile_url"]) == (sent["conversation_id"], JANE)
    assert (data["total_results"], data["total_other_member_message_count"]) == (2, 1)
    assert (data["unread_count"], data["next_cursor"], data["has_next_page"]) == (1, None, False)
    reply, mine = data["messages"]  # newest first
    assert (reply["text"], mine["text"]) == ("Hi back", "Hello Jane")
    assert reply["timestamp"] > mine["timestamp"] == sent["deliveredAt"]
    assert mine["entity_urn"] == sent["entityUrn"]
    assert reply["sender"] != mine["sender"]
    info = reply["sender_info"]
    assert reply["sender"] == f"{info['first_name']} {info['last_name']}"
    assert {m["message_type"] for m in data["messages"]} == {"TEXT"}
    assert data["last_seen_at"] == reply["timestamp"]


def test_linkup_conversation_by_id_has_no_profile_url(raw: httpx.Client) -> None:
    sent = _linkup_send(raw)
    data = _conversation(raw, conversation_id=sent["conversation_id"])["data"]
    assert data["conversation_id"] == sent["conversation_id"]
    assert "profile_url" not in data


def test_linkup_conversation_pages_newest_first_by_cursor(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    for n in range(3):
        _linkup_send(raw, text=f"mine {n}")
        sandbox.reply(LINKUP_SENDER, JANE, f"theirs {n}")
    texts: list[str] = []
    cursor = None
    while True:
        data = _conversation(raw, linkedin_url=JANE, total_results=4, cursor=cursor)["data"]
        texts += [m["text"] for m in data["messages"]]
        if not data["has_next_page"]:
            break
        cursor = data["next_cursor"]
        assert cursor == str(data["messages"][-1]["timestamp"])

    assert texts == ["theirs 2", "mine 2", "theirs 1", "mine 1", "theirs 0", "mine 0"]
    assert data["next_cursor"] is None


@pytest.mark.parametrize(
    ("sent_to", "read_as"),
    [
        ("https://www.linkedin.com/in/Jane-Doe/", "HTTPS://WWW.LinkedIn.com/in/jane-doe"),
        ("https://www.linkedin.com/in/jane-doe", "https://fr.linkedin.com/in/jane-doe/?trk=x"),
        ("https://www.linkedin.com/in/j%C3%A9r%C3%B4me-x", "https://www.linkedin.com/in/jérôme-x"),
        (MEMBER_ID, f"https://www.linkedin.com/in/{MEMBER_ID}/"),
        (MEMBER_ID, f"urn:li:fsd_profile:{MEMBER_ID}"),
    ],
)
def test_linkup_finds_the_person_however_their_url_is_spelt(
    raw: httpx.Client, sandbox: SandboxClient, sent_to: str, read_as: str
) -> None:
    sent = _linkup_send(raw, profile=sent_to)
    assert _linkup_send(raw, profile=read_as)["conversation_id"] == sent["conversation_id"]
    sandbox.reply(LINKUP_SENDER, read_as, "Hello")
    data = _conversation(raw, linkedin_url=read_as)["data"]
    assert data["conversation_id"] == sent["conversation_id"]
    assert data["total_other_member_message_count"] == 1
    assert len(sandbox.conversations()) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"linkedin_url": "https://www.linkedin.com/in/nobody"}, "Conversation not found"),
        ({"conversation_id": "urn:li:msg_conversation:(x,2-y)"}, "Conversation not found"),
        ({}, "Either linkedin_url or conversation_id must be provided"),
        ({"linkedin_url": "not a profile"}, "Invalid profile URL format"),
    ],
)
def test_linkup_conversation_errors_are_in_send_messages_shape(
    raw: httpx.Client, body: dict[str, str], message: str
) -> None:
    _linkup_send(raw)
    answer = _linkup_read(raw, "conversation", **body)
    assert (answer.status_code, answer.json()) == (200, {"status": "error", "message": message})


def test_a_linkup_account_reads_only_its_own_conversations(raw: httpx.Client) -> None:
    sent = _linkup_send(raw)
    other = _linkup_read(raw, "conversation", token="token-other", **sent)
    assert other.json()["message"] == "Conversation not found"
    assert _linkup_read(raw, "inbox", token="token-other").json()["data"]["conversations"] == []


def test_linkup_reads_need_its_credentials(raw: httpx.Client, sandbox: SandboxClient) -> None:
    for path in ("conversation", "inbox"):
        answer = raw.post(f"/v1/messages/{path}", json={"login_token": TOKEN})
        assert answer.json() == {"status": "error", "message": "Network or permission errors"}
    assert sandbox.reads() == []


def test_linkup_inbox_answers_the_documented_shape(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    jane = _linkup_send(raw, profile=JANE, text="Hello Jane")
    _linkup_send(raw, profile="https://www.linkedin.com/in/kim", text="Hello Kim")
    sandbox.reply(LINKUP_SENDER, JANE, "Hi back")

    data = _linkup_read(raw, "inbox").json()["data"]

    assert (data["total_results"], data["next_cursor"]) == (2, None)
    replied, waiting = data["conversations"]  # most recent activity first
    assert replied["conversation_id"] == jane["conversation_id"]
    assert list(replied) == ["conversation_id", "participant", "last_message", "unread", "type"]
    participant = replied["participant"]
    assert list(participant) == ["name", "headline", "profile_url", "profile_picture"]
    assert participant["profile_url"] == JANE  # the vanity URL
    last = replied["last_message"]
    assert (last["text"], last["sender"]["name"]) == ("Hi back", participant["name"])
    # As the docs' example: the sender's URL is URN-style even when the sender is the participant.
    assert last["sender"]["profile_url"].startswith("https://www.linkedin.com/in/ACoAA")
    assert (replied["unread"], replied["type"]) == (1, "normal")
    assert waiting["last_message"]["text"] == "Hello Kim"
    assert waiting["last_message"]["sender"]["name"] != waiting["participant"]["name"]
    assert waiting["unread"] == 0


def test_linkup_inbox_pages_by_next_cursor(raw: httpx.Client) -> None:
    for name in ("ann", "bob", "cat"):
        _linkup_send(raw, profile=f"https://www.linkedin.com/in/{name}")
    first = _linkup_read(raw, "inbox", total_results=2).json()["data"]
    second = _linkup_read(raw, "inbox", total_results=2, next_cursor=first["next_cursor"])
    second_data = second.json()["data"]

    urls = [c["participant"]["profile_url"] for c in first["conversations"]]
    urls += [c["participant"]["profile_url"] for c in second_data["conversations"]]
    assert [u.rsplit("/", 1)[1] for u in urls] == ["cat", "bob", "ann"]
    assert (first["total_results"], second_data["total_results"]) == (2, 1)
    assert isinstance(first["next_cursor"], str)
    assert second_data["next_cursor"] is None


def test_linkup_inbox_refuses_a_cursor_it_never_gave(raw: httpx.Client) -> None:
    answer = _linkup_read(raw, "inbox", next_cursor="not-a-cursor").json()
    assert answer["status"] == "error"


# ConnectSafely -----------------------------------------------------------------------------


def _cs_send(raw: httpx.Client, path: str = "messaging", **body: Any) -> dict[str, Any]:
    payload = {"accountId": ACCOUNT, "message": "Hi", **body}
    answer: dict[str, Any] = raw.post(f"/linkedin/{path}/send", json=payload, headers=BEARER).json()
    return answer


def _recent(raw: httpx.Client, **params: Any) -> httpx.Response:
    return raw.get(
        "/linkedin/messaging/recent-messages",
        params={"accountId": ACCOUNT, **params},
        headers=BEARER,
    )


def _messages(raw: httpx.Client, urn: str, **params: Any) -> httpx.Response:
    return raw.get(
        f"/linkedin/conversations/{quote(urn, safe='')}/messages",
        params={"accountId": ACCOUNT, **params},
        headers=BEARER,
    )


def _only_conversation(raw: httpx.Client) -> dict[str, Any]:
    [conversation] = _recent(raw).json()["conversations"]
    result: dict[str, Any] = conversation
    return result


def test_connectsafely_recent_messages_answers_the_documented_shape(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sent = _cs_send(raw, recipientProfileId="jane-doe", message="Hello Jane")
    sandbox.reply(ACCOUNT, "jane-doe", "Hi back")

    answer = _recent(raw).json()

    assert list(answer) == [
        "success", "accountId", "profileUrn", "total", "nextCursor", "conversations",
    ]  # fmt: skip
    assert (answer["success"], answer["accountId"], answer["total"]) == (True, ACCOUNT, 1)
    assert answer["nextCursor"] is None
    assert answer["profileUrn"].startswith("urn:li:fsd_profile:ACoAA")
    [conversation] = answer["conversations"]
    assert conversation["conversationUrn"].endswith(f",{conversation['conversationId']})")
    [participant] = conversation["participants"]  # the other person only
    assert list(participant) == ["profileId", "name", "headline", "profilePicture"]
    # The member id the send's answer carries.
    assert sent["recipientProfileUrn"] == f"urn:li:fsd_profile:{participant['profileId']}"
    assert conversation["unreadCount"] == 1
    latest = conversation["latestMessage"]
    assert latest == {
        "text": "Hi back",
        "sentAt": conversation["lastActivityAt"],
        "senderName": participant["name"],
        "hasAttachment": False,
    }


def test_connectsafely_recent_messages_pages_by_next_cursor(raw: httpx.Client) -> None:
    for name in ("ann", "bob", "cat"):
        _cs_send(raw, recipientProfileId=name)
    first = _recent(raw, count=2).json()
    second = _recent(raw, count=2, nextCursor=first["nextCursor"]).json()
    assert (len(first["conversations"]), len(second["conversations"])) == (2, 1)
    assert second["nextCursor"] is None
    ids = {c["conversationId"] for c in first["conversations"] + second["conversations"]}
    assert len(ids) == 3


def test_connectsafely_recent_messages_filters_by_read_and_keywords(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _cs_send(raw, recipientProfileId="ann", message="About the offsite")
    _cs_send(raw, recipientProfileId="bob", message="Quick question")
    sandbox.reply(ACCOUNT, "bob", "Sure")

    def texts(**params: str) -> list[str]:
        conversations = _recent(raw, **params).json()["conversations"]
        return [c["latestMessage"]["text"] for c in conversations]

    assert texts(read="false") == ["Sure"]
    assert texts(read="true") == ["About the offsite"]
    assert texts(keywords="OFFSITE") == ["About the offsite"]


def test_connectsafely_conversation_messages_answer_the_documented_shape(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _cs_send(raw, recipientProfileId="jane-doe", message="Hello Jane")
    sandbox.reply(ACCOUNT, "jane-doe", "Hi back")
    conversation = _only_conversation(raw)

    answer = _messages(raw, conversation["conversationUrn"]).json()

    assert list(answer) == ["success", "messages", "participants", "hasMore", "cursor", "note"]
    assert (answer["success"], answer["hasMore"]) == (True, False)
    assert answer["participants"] == conversation["participants"]
    reply, mine = answer["messages"]  # newest first
    assert list(reply) == [
        "messageUrn", "text", "sentAt", "senderProfileId", "senderName", "senderPhoto",
        "isSentByOwner", "hasAttachment", "attachments",
    ]  # fmt: skip
    assert (reply["text"], reply["isSentByOwner"]) == ("Hi back", False)
    assert (mine["text"], mine["isSentByOwner"]) == ("Hello Jane", True)
    assert reply["senderProfileId"] == conversation["participants"][0]["profileId"]
    assert mine["senderProfileId"] != reply["senderProfileId"]
    assert (mine["hasAttachment"], mine["attachments"]) == (False, [])
    assert answer["cursor"] == str(mine["sentAt"])
    assert isinstance(answer["note"], str)


def test_connectsafely_messages_page_by_cursor_and_since(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _cs_send(raw, recipientProfileId="jane-doe", message="one")
    for text in ("two", "three", "four"):
        sandbox.reply(ACCOUNT, "jane-doe", text)
    urn = _only_conversation(raw)["conversationUrn"]

    first = _messages(raw, urn, count=2).json()
    older = _messages(raw, urn, count=2, cursor=first["cursor"]).json()
    since = first["messages"][-1]["sentAt"]
    newer = _messages(raw, urn, since=since).json()

    assert [m["text"] for m in first["messages"]] == ["four", "three"]
    assert first["hasMore"]
    assert [m["text"] for m in older["messages"]] == ["two", "one"]
    assert not older["hasMore"]
    assert [m["text"] for m in newer["messages"]] == ["four"]


def test_conversations_send_with_a_urn_adds_to_that_conversation(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _cs_send(raw, recipientProfileId="jane-doe", message="first")
    urn = _only_conversation(raw)["conversationUrn"]
    _cs_send(raw, "conversations", conversationUrn=urn, message="second")
    texts = [m["text"] for m in _messages(raw, urn).json()["messages"]]
    assert texts == ["second", "first"]
    assert len(sandbox.conversations()) == 1


def test_connectsafely_finds_the_person_by_public_id_or_urn(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sent = _cs_send(raw, recipientProfileId="Jane-Doe")
    _cs_send(raw, recipientProfileUrn=sent["recipientProfileUrn"])
    sandbox.reply(ACCOUNT, "https://www.linkedin.com/in/jane-doe/", "Hello")
    [conversation] = sandbox.conversations()
    assert [m["by_owner"] for m in conversation["messages"]] == [True, True, False]


def test_connectsafely_messages_of_an_unknown_conversation_are_a_404(raw: httpx.Client) -> None:
    _cs_send(raw, recipientProfileId="jane-doe")
    urn = _only_conversation(raw)["conversationUrn"]
    for answer in (
        _messages(raw, "urn:li:msg_conversation:(x,2-unknown)"),
        _messages(raw, urn, accountId="another-account"),
    ):
        assert (answer.status_code, answer.json()) == (404, {"error": "Conversation not found"})


def test_connectsafely_reads_need_a_bearer_key(raw: httpx.Client) -> None:
    for path in ("/linkedin/messaging/recent-messages", "/linkedin/conversations/x/messages"):
        answer = raw.get(path)
        assert (answer.status_code, answer.json()) == (401, {"error": "Unauthorized"})


# Replies and the control API ---------------------------------------------------------------


def test_a_reply_needs_a_conversation(raw: httpx.Client, sandbox: SandboxClient) -> None:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        sandbox.reply(LINKUP_SENDER, JANE, "Hello")
    assert caught.value.response.status_code == 404


def test_a_reply_can_be_dated(raw: httpx.Client, sandbox: SandboxClient) -> None:
    sent = _linkup_send(raw)
    reply = sandbox.reply(LINKUP_SENDER, JANE, "Earlier", at_ms=sent["deliveredAt"] - 60_000)
    messages = _conversation(raw, linkedin_url=JANE)["data"]["messages"]
    assert [m["text"] for m in messages] == ["Hi", "Earlier"]
    assert messages[1]["timestamp"] == reply["message"]["at_ms"]
    assert _conversation(raw, linkedin_url=JANE)["data"]["unread_count"] == 0


def test_the_control_api_lists_conversations_but_none_for_outx(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _linkup_send(raw)
    raw.post(
        "/linkedin-agent/send-message",
        json={"recipient_urn": "urn:li:person:ACoAABCDEFG", "message": "Hi"},
        headers={"x-api-key": "ox-key-123"},
    )
    [conversation] = sandbox.conversations()
    assert (conversation["provider"], conversation["sender"]) == ("linkup", LINKUP_SENDER)
    assert conversation["person"]["slug"] == "jane-doe"
    assert conversation["owner"]["name"] != conversation["person"]["name"]
    assert [m["text"] for m in conversation["messages"]] == ["Hi"]


def test_a_failed_send_adds_nothing_to_a_conversation(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("status", provider="linkup", status=503)
    assert _linkup_post(raw).status_code == 503
    assert sandbox.conversations() == []


# Faults on reads ---------------------------------------------------------------------------


def test_a_rule_without_a_path_leaves_reads_alone(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _linkup_send(raw)
    sandbox.add_fault("status", provider="linkup", status=503)
    assert _conversation(raw, linkedin_url=JANE)["status"] == "success"
    assert _linkup_post(raw).status_code == 503  # the rule waited for the next send


def test_a_rule_naming_a_read_path_answers_in_the_providers_shape(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("status", path="/v1/messages/inbox", status=503, error="upstream down")
    sandbox.add_fault("rate_limit", path="/linkedin/messaging/recent-messages")
    inbox = _linkup_read(raw, "inbox")
    recent = _recent(raw)
    assert (inbox.status_code, inbox.json()) == (
        503,
        {"status": "error", "message": "upstream down"},
    )
    assert (recent.status_code, recent.json()) == (429, {"error": "Rate limit exceeded"})
    assert _recent(raw).status_code == 200  # used up


def test_a_reads_rule_matches_every_read_and_no_send(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.add_fault("gateway_html", reads=True, count=None)
    assert _linkup_send(raw)["conversation_id"]  # the send is untouched
    for answer in (_linkup_read(raw, "inbox"), _recent(raw)):
        assert (answer.status_code, answer.headers["content-type"]) == (504, "text/html")


def test_a_messages_rule_names_the_path_by_its_template(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _cs_send(raw, recipientProfileId="jane-doe")
    urn = _only_conversation(raw)["conversationUrn"]
    sandbox.add_fault("drop", path="/linkedin/conversations/{conversationUrn}/messages")
    with pytest.raises(httpx.RemoteProtocolError):
        _messages(raw, urn)
    assert _messages(raw, urn).status_code == 200


def test_oldest_first_reverses_connectsafely_messages(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _cs_send(raw, recipientProfileId="jane-doe", message="first")
    sandbox.reply(ACCOUNT, "jane-doe", "second")
    urn = _only_conversation(raw)["conversationUrn"]
    sandbox.add_fault("oldest_first", count=None)
    answer = _messages(raw, urn).json()
    assert [m["text"] for m in answer["messages"]] == ["first", "second"]
    assert answer["cursor"] == str(answer["messages"][0]["sentAt"])  # still the oldest


def test_a_shaping_rule_leaves_room_for_a_failing_one(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _cs_send(raw, recipientProfileId="jane-doe", message="first")
    sandbox.reply(ACCOUNT, "jane-doe", "second")
    urn = _only_conversation(raw)["conversationUrn"]
    sandbox.add_fault("oldest_first", count=None)
    sandbox.add_fault("status", reads=True, provider="connectsafely", status=500)
    assert _messages(raw, urn).status_code == 500
    assert [m["text"] for m in _messages(raw, urn).json()["messages"]] == ["first", "second"]


def test_owner_flag_false_hides_who_sent(raw: httpx.Client, sandbox: SandboxClient) -> None:
    _cs_send(raw, recipientProfileId="jane-doe")
    sandbox.add_fault("owner_flag_false")
    messages = _messages(raw, _only_conversation(raw)["conversationUrn"]).json()["messages"]
    assert [m["isSentByOwner"] for m in messages] == [False]


def test_slug_profile_ids_names_people_by_public_id(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    _cs_send(raw, recipientProfileId="Jane-Doe")
    sandbox.add_fault("slug_profile_ids", path="/linkedin/messaging/recent-messages")
    assert _only_conversation(raw)["participants"][0]["profileId"] == "jane-doe"
    # Used up: the next read is back to member ids.
    assert _only_conversation(raw)["participants"][0]["profileId"].startswith("ACoAA")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"kind": "status", "reads": True, "path": "/v1/messages/inbox"}, "reads is for a rule"),
        ({"kind": "no_data", "reads": True}, "no_data never applies to a read"),
        ({"kind": "oldest_first", "provider": "linkup"}, "shapes ConnectSafely's reads alone"),
        (
            {"kind": "oldest_first", "path": "/linkedin/messaging/recent-messages"},
            "oldest_first applies only to",
        ),
        ({"kind": "status", "reads": "yes"}, "reads must be true or false"),
    ],
)
def test_bad_read_rules_are_refused_with_the_reason(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault(document)


# The record of reads -----------------------------------------------------------------------


def test_reads_are_recorded_apart_from_sends(raw: httpx.Client, sandbox: SandboxClient) -> None:
    _linkup_read(raw, "inbox")
    _linkup_send(raw)
    _recent(raw)
    _linkup_read(raw, "inbox")

    reads = sandbox.reads()
    assert [(r["provider"], r["path"], r["sender"]) for r in reads] == [
        ("linkup", "/v1/messages/inbox", LINKUP_SENDER),
        ("connectsafely", "/linkedin/messaging/recent-messages", ACCOUNT),
        ("linkup", "/v1/messages/inbox", LINKUP_SENDER),
    ]
    # The gap is since the sender's previous read; the send in between does not count.
    assert reads[2]["gap_s"] == pytest.approx(reads[2]["at"] - reads[0]["at"])
    assert [r["gap_s"] is None for r in reads] == [True, True, False]
    assert [r["path"] for r in sandbox.requests()] == ["/v1/messages/send-message"]


def test_reads_closer_than_the_read_gap_are_violations(
    raw: httpx.Client, sandbox: SandboxClient
) -> None:
    sandbox.configure(min_gap_s=0.2, read_min_gap_s=0.2)
    _linkup_read(raw, "inbox")
    _linkup_send(raw)  # a send between two reads: neither gap is broken by it
    _linkup_read(raw, "inbox")
    time.sleep(0.25)
    _linkup_read(raw, "inbox")
    _linkup_send(raw)

    kinds = [(v["kind"], v["min_gap_s"]) for v in sandbox.violations()]
    assert kinds == [("read", 0.2)]


def test_a_send_violation_says_it_is_one(raw: httpx.Client, sandbox: SandboxClient) -> None:
    sandbox.configure(min_gap_s=5)
    _linkup_send(raw)
    _linkup_send(raw)
    [violation] = sandbox.violations()
    assert violation["kind"] == "send"
    assert {"sender", "gap_s", "min_gap_s", "at"} <= set(violation)


def test_reset_forgets_conversations_and_reads(raw: httpx.Client, sandbox: SandboxClient) -> None:
    _linkup_send(raw)
    _linkup_read(raw, "inbox")
    sandbox.reset()
    assert (sandbox.conversations(), sandbox.reads()) == ([], [])
    assert _linkup_read(raw, "inbox").json()["data"]["conversations"] == []

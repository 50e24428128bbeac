"""The index of due work and pacing in Redis: per-account queues by due time, what each
account has in flight, its next allowed send, pauses and breaker, the OutX checks and the
webhook events due.

Redis only indexes the database: a row is written first, then `index`ed here. State changes go
through the Lua scripts in `worker/lua/`, so they are atomic across any number of processes on
any number of machines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import NamedTuple

import redis

from worker import keys
from worker.models import Delivery
from worker.policy import Breaker, BreakerStep, draw_gap

PAUSED_FOREVER = 1e12  # a pause "until resumed": an epoch time no clock will reach


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _script(client: redis.Redis, name: str) -> redis.commands.core.Script:
    source = resources.files("worker.lua").joinpath(name).read_text(encoding="utf-8")
    return client.register_script(source)


class Release(NamedTuple):
    account: str
    delivery_id: int
    eligible_at: float  # when it could first have been released: now minus this is lateness


@dataclass(frozen=True)
class PaceState:
    inflight: str | None
    next_at: float | None
    paused_until: float | None
    pause_reason: str | None
    queued: int
    next_due: float | None

    def pause_at(self, now: float) -> Pause | None:
        """The pause in force at `now`, if any."""
        if self.paused_until is None or self.paused_until <= now:
            return None
        forever = self.paused_until >= PAUSED_FOREVER
        until = None if forever else datetime.fromtimestamp(self.paused_until, UTC)
        return Pause(until, self.pause_reason or "")


@dataclass(frozen=True)
class ReadSlot:
    """Whether an account may read now: `granted`, else when it may (`at`), and why not."""

    granted: bool
    at: float
    paused: bool = False


@dataclass(frozen=True)
class InboxProgress:
    """An account's inbox sweep: where the one under way stands, and when the last ended."""

    cursor: str | None  # the next page's cursor; None: start from the newest
    since: float | None  # stop at conversations older than this (the last sweep's start)
    started_at: float | None  # when the sweep under way started
    swept_at: float | None  # when the last complete sweep started


@dataclass(frozen=True)
class Pause:
    until: datetime | None  # None: until an operator resumes the account
    reason: str


class DueIndex:
    def __init__(self, client: redis.Redis, rng: random.Random | None = None):
        self.redis = client
        self.rng = rng or random.Random()
        self._release = _script(client, "release.lua")
        self._finish = _script(client, "finish.lua")
        self._keep_inflight = _script(client, "keep_inflight.lua")
        self._lease_checks = _script(client, "lease_checks.lua")
        self._reindex = _script(client, "reindex.lua")
        self._pause = _script(client, "pause.lua")
        self._take_read = _script(client, "take_read.lua")
        self._read_done = _script(client, "read_done.lua")

    def index(self, delivery: Delivery) -> None:
        """Index a delivery as its row now stands (queued, due at `due_at`)."""
        assert delivery.id is not None
        self.enqueue([(delivery.account, delivery.id, delivery.due_at.timestamp())])

    def enqueue(self, items: list[tuple[str, int, float]]) -> None:
        """Index deliveries `(account, delivery id, due time)` in one round trip."""
        if not items:
            return
        by_account: dict[str, dict[str, float]] = {}
        for account, delivery_id, due_ts in items:
            by_account.setdefault(account, {})[str(delivery_id)] = due_ts
        pipe = self.redis.pipeline(transaction=False)
        for account, members in by_account.items():
            pipe.zadd(keys.queue(account), members, nx=True)
            pipe.zadd(keys.ACCOUNTS, {account: min(members.values())}, lt=True)
        pipe.publish(keys.WAKE, "enqueued")
        pipe.execute()

    def reindex(self, items: list[tuple[str, int, float]]) -> int:
        """Index the deliveries `(account, delivery id, due time)` that are neither queued nor
        in flight in Redis; returns how many were missing."""
        if not items:
            return 0
        script_keys = [keys.ACCOUNTS]
        args: list[str | float] = []
        for account, delivery_id, due_ts in items:
            script_keys += [keys.queue(account), keys.pace(account)]
            args += [account, str(delivery_id), due_ts]
        return int(self._reindex(keys=script_keys, args=args))

    def release(self, now: float, limit: int = 500) -> list[Release]:
        """Take the due deliveries, at most one per account, each now in flight."""
        due = [_text(a) for a in self.redis.zrangebyscore(keys.ACCOUNTS, "-inf", now, 0, limit)]
        if not due:
            return []
        script_keys = [keys.ACCOUNTS, keys.INFLIGHT]
        for account in due:
            script_keys += [keys.pace(account), keys.queue(account)]
        flat = self._release(keys=script_keys, args=[now, *due])
        return [
            Release(_text(flat[i]), int(flat[i + 1]), float(_text(flat[i + 2])))
            for i in range(0, len(flat), 3)
        ]

    def holds(self, account: str, delivery_id: int) -> bool:
        """Whether `delivery_id` is its account's in-flight delivery (a stale task's is not)."""
        inflight = self.redis.hget(keys.pace(account), "inflight")
        return inflight is not None and _text(inflight) == str(delivery_id)

    def finish(
        self,
        account: str,
        delivery_id: int,
        *,
        window_s: tuple[float, float] | None,
        now: float,
        requeue_at: float | None = None,
        not_before: float | None = None,
        paused_until: float | None = None,
        pause_reason: str = "",
        breaker: BreakerStep = "",
    ) -> bool:
        """Release the account's in-flight slot; its next send may start a gap drawn from
        `window_s` after `now` (no gap when None: nothing was sent), and not before
        `not_before` when given; and step its breaker. False, and nothing changed, when
        `delivery_id` was not the one in flight."""
        raw_bag = self.redis.hget(keys.pace(account), "gap_bag")
        bag = _text(raw_bag) if raw_bag else ""
        gap_s, rest = (0.0, bag) if window_s is None else draw_gap(*window_s, bag, self.rng)
        if not_before is not None:
            gap_s = max(gap_s, not_before - now)
        return bool(
            self._finish(
                keys=[keys.ACCOUNTS, keys.INFLIGHT, keys.pace(account), keys.queue(account)],
                args=[
                    account,
                    delivery_id,
                    gap_s,
                    "" if requeue_at is None else requeue_at,
                    "" if paused_until is None else paused_until,
                    pause_reason,
                    now,
                    rest,
                    keys.WAKE,
                    breaker,
                ],
            )
        )

    def keep_inflight(self, account: str, delivery_id: int, now: float) -> bool:
        """The worker holding `delivery_id` is still at it (see keep_inflight.lua)."""
        return bool(
            self._keep_inflight(
                keys=[keys.INFLIGHT, keys.pace(account)], args=[account, delivery_id, now]
            )
        )

    def inflight_account(self, delivery_id: int) -> str | None:
        """The account whose in-flight delivery is `delivery_id`, found from Redis alone (for
        a worker that cannot read the database). One round trip per 500 accounts in flight."""
        accounts = [_text(a) for a in self.redis.zrange(keys.INFLIGHT, 0, -1)]
        for start in range(0, len(accounts), 500):
            batch = accounts[start : start + 500]
            pipe = self.redis.pipeline(transaction=False)
            for account in batch:
                pipe.hget(keys.pace(account), "inflight")
            for account, inflight in zip(batch, pipe.execute(), strict=True):
                if inflight and _text(inflight) == str(delivery_id):
                    return account
        return None

    def stale_inflight(self, released_before: float) -> list[tuple[str, int, float]]:
        """Accounts whose in-flight delivery was released before the given time."""
        stale = []
        for raw in self.redis.zrangebyscore(keys.INFLIGHT, "-inf", released_before):
            account = _text(raw)
            inflight, due = self.redis.hmget(keys.pace(account), ["inflight", "inflight_due"])
            if inflight:
                stale.append((account, int(inflight), float(due or 0)))
            else:
                self.redis.zrem(keys.INFLIGHT, account)
        return stale

    def pause(self, account: str, until: float | None, reason: str) -> None:
        """Pause `account` until `until` (None: until resumed); a pause already in force
        that ends later stays."""
        paused_until = PAUSED_FOREVER if until is None else until
        self._pause(keys=[keys.pace(account), keys.ACCOUNTS], args=[account, paused_until, reason])

    def resume(self, account: str, now: float) -> None:
        """Lift any pause; an operator's word also clears the breaker's run."""
        self.redis.hset(
            keys.pace(account),
            mapping={
                "paused_until": 0,
                "pause_reason": "",
                "breaker_failures": 0,
                "breaker_trips": 0,
            },
        )
        self.redis.zadd(keys.ACCOUNTS, {account: now})

    def breaker(self, account: str) -> Breaker:
        """The account's run of sends that ended in unrecognised errors."""
        failures, trips = self.redis.hmget(
            keys.pace(account), ["breaker_failures", "breaker_trips"]
        )
        return Breaker(int(failures or 0), int(trips or 0))

    def restore_pacing(self, account: str, next_at: float) -> None:
        """After a Redis loss: the account may not send before `next_at`."""
        self.redis.hset(keys.pace(account), "next_at", next_at)

    def adopt_inflight(self, account: str, delivery_id: int, since: float, due: float) -> None:
        """After a Redis loss: a delivery still `sending` holds its account, so the sweeper
        settles it after the sending timeout and no other send of the account overlaps it."""
        self.redis.hset(
            keys.pace(account),
            mapping={
                "inflight": delivery_id,
                "inflight_since": since,
                "inflight_due": due,
            },
        )
        self.redis.zadd(keys.INFLIGHT, {account: since})

    def schedule_check(self, delivery_id: int, at: float) -> None:
        self.redis.zadd(keys.CHECKS, {str(delivery_id): at})

    def drop_check(self, delivery_id: int) -> None:
        self.redis.zrem(keys.CHECKS, str(delivery_id))

    def lease_checks(self, now: float, limit: int, lease_s: float) -> list[int]:
        return [int(i) for i in self._lease_checks(keys=[keys.CHECKS], args=[now, limit, lease_s])]

    def schedule_webhook(self, event_id: int, at: float) -> None:
        self.schedule_webhooks([event_id], at)

    def schedule_webhooks(self, event_ids: list[int], at: float) -> None:
        """Attempt these outbox events at `at` (their rows are committed), and wake a pump."""
        if not event_ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(keys.WEBHOOKS, {str(i): at for i in event_ids})
        pipe.publish(keys.WAKE, "webhooks")
        pipe.execute()

    def reindex_webhooks(self, items: list[tuple[int, float]]) -> int:
        """Index the pending events `(id, due time)` Redis does not know (a leased one keeps
        its lease); how many were missing."""
        if not items:
            return 0
        added = self.redis.zadd(keys.WEBHOOKS, {str(i): at for i, at in items}, nx=True)
        return int(added or 0)

    def drop_webhook(self, event_id: int) -> None:
        self.redis.zrem(keys.WEBHOOKS, str(event_id))

    def lease_webhooks(self, now: float, limit: int, lease_s: float) -> list[int]:
        """The outbox events due, each leased: a task lost with its worker comes due again
        when the lease ends."""
        taken = self._lease_checks(keys=[keys.WEBHOOKS], args=[now, limit, lease_s])
        return [int(i) for i in taken]

    def take_read(self, account: str, now: float, min_gap_s: float) -> ReadSlot:
        """A read slot for `account` (see take_read.lua): reads are spaced per sender and
        never made while it is paused."""
        word, at = self._take_read(keys=[keys.pace(account)], args=[now, min_gap_s])
        word = _text(word)
        return ReadSlot(word == "ok", float(_text(at)), paused=word == "paused")

    def read_done(self, account: str, ended: float, min_gap_s: float) -> None:
        """A read of `account` ended at `ended`: its next read waits the gap from here."""
        self._read_done(keys=[keys.pace(account)], args=[ended, min_gap_s])

    def locate_cursor(self, account: str, delivery_id: int) -> str | None:
        """Where the search for a follow-up's conversation goes on (None: from the top).
        Lost with Redis, the search only starts over."""
        raw = self.redis.hget(keys.locating(account), str(delivery_id))
        return _text(raw) if raw else None

    def keep_locate_cursor(self, account: str, delivery_id: int, cursor: str | None) -> None:
        if cursor is None:
            self.redis.hdel(keys.locating(account), str(delivery_id))
        else:
            self.redis.hset(keys.locating(account), str(delivery_id), cursor)

    def schedule_inbox(self, account: str, at: float, *, only_new: bool = False) -> None:
        """Read `account`'s inbox at `at` (`only_new`: unless it is already scheduled)."""
        self.redis.zadd(keys.INBOXES, {account: at}, nx=only_new)

    def drop_inbox(self, account: str) -> None:
        self.redis.zrem(keys.INBOXES, account)
        self.redis.delete(keys.inbox(account))

    def lease_inboxes(self, now: float, limit: int, lease_s: float) -> list[str]:
        """The accounts whose inbox read is due, each leased (a lost task comes due again)."""
        taken = self._lease_checks(keys=[keys.INBOXES], args=[now, limit, lease_s])
        return [_text(a) for a in taken]

    def inbox_progress(self, account: str) -> InboxProgress:
        raw = self.redis.hmget(keys.inbox(account), ["cursor", "since", "started_at", "swept_at"])
        cursor, since, started, swept = (_text(v) if v else None for v in raw)
        return InboxProgress(
            cursor=cursor or None,
            since=float(since) if since else None,
            started_at=float(started) if started else None,
            swept_at=float(swept) if swept else None,
        )

    def continue_inbox(self, account: str, progress: InboxProgress, at: float) -> None:
        """Save a sweep under way and read its next page at `at`."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            keys.inbox(account),
            mapping={
                "cursor": progress.cursor or "",
                "since": "" if progress.since is None else progress.since,
                "started_at": "" if progress.started_at is None else progress.started_at,
            },
        )
        pipe.zadd(keys.INBOXES, {account: at})
        pipe.execute()

    def finish_inbox(self, account: str, started_at: float, next_at: float) -> None:
        """A sweep that started at `started_at` is complete; the next starts at `next_at`."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            keys.inbox(account),
            mapping={"cursor": "", "since": "", "started_at": "", "swept_at": started_at},
        )
        pipe.zadd(keys.INBOXES, {account: next_at})
        pipe.execute()

    def next_wake(self) -> float | None:
        """The earliest time anything may become due, or None when nothing waits."""
        times = []
        for key in (keys.ACCOUNTS, keys.CHECKS, keys.INBOXES, keys.WEBHOOKS):
            first = self.redis.zrange(key, 0, 0, withscores=True)
            if first:
                times.append(float(first[0][1]))
        return min(times) if times else None

    def state(self, account: str) -> PaceState:
        fields = ["inflight", "next_at", "paused_until", "pause_reason"]
        inflight, next_at, paused, reason = self.redis.hmget(keys.pace(account), fields)
        head = self.redis.zrange(keys.queue(account), 0, 0, withscores=True)
        paused_until = float(paused) if paused and float(paused) > 0 else None
        return PaceState(
            inflight=_text(inflight) if inflight else None,
            next_at=float(next_at) if next_at else None,
            paused_until=paused_until,
            pause_reason=_text(reason) if reason else None,
            queued=int(self.redis.zcard(keys.queue(account))),
            next_due=float(head[0][1]) if head else None,
        )

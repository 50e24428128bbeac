"""The index of due work and pacing in Redis: per-account queues by due time, what each
account has in flight, its next allowed send, pauses and breaker, and the OutX checks due.

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
class Pause:
    until: datetime | None  # None: until an operator resumes the account
    reason: str


class DueIndex:
    def __init__(self, client: redis.Redis, rng: random.Random | None = None):
        self.redis = client
        self.rng = rng or random.Random()
        self._release = _script(client, "release.lua")
        self._finish = _script(client, "finish.lua")
        self._lease_checks = _script(client, "lease_checks.lua")
        self._reindex = _script(client, "reindex.lua")
        self._pause = _script(client, "pause.lua")

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
        paused_until: float | None = None,
        pause_reason: str = "",
        breaker: BreakerStep = "",
    ) -> bool:
        """Release the account's in-flight slot; its next send may start a gap drawn from
        `window_s` after `now` (no gap when None: nothing was sent), and step its breaker.
        False, and nothing changed, when `delivery_id` was not the one in flight."""
        raw_bag = self.redis.hget(keys.pace(account), "gap_bag")
        bag = _text(raw_bag) if raw_bag else ""
        gap_s, rest = (0.0, bag) if window_s is None else draw_gap(*window_s, bag, self.rng)
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

    def next_wake(self) -> float | None:
        """The earliest time anything may become due, or None when nothing waits."""
        times = []
        for key in (keys.ACCOUNTS, keys.CHECKS):
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

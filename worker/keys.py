"""Every Redis key outreach uses, here and nowhere else: the Lua scripts receive theirs in KEYS.
Redis only indexes the database: `outreach recover` rebuilds all of these from it.

    outreach                     LIST Celery's queue of due tasks (kombu names it after the queue)
    outreach:accounts            ZSET account -> earliest time it may have something to release
    outreach:{<account>}:queue   ZSET delivery id -> due time (the account's queue)
    outreach:{<account>}:pace    HASH inflight, inflight_since, inflight_due, next_at,
                                      paused_until, pause_reason, gap_bag,
                                      breaker_failures, breaker_trips, read_next
    outreach:{<account>}:inbox   HASH the inbox sweep under way: cursor, since, started_at;
                                      and swept_at, when the last complete one started
    outreach:{<account>}:locating HASH delivery id -> the inbox cursor where the search for
                                      its recipient's conversation goes on (ConnectSafely)
    outreach:inflight            ZSET account -> when its in-flight delivery was released
    outreach:checks              ZSET delivery id -> when to check its OutX task (a lease)
    outreach:inboxes             ZSET account -> when to read its inbox next (a lease)
    outreach:webhooks            ZSET webhook event id -> when to attempt it (a lease)
    outreach:wake                pub/sub channel: something may have become due sooner
    outreach:api-keys:version    STRING changed whenever an API key is made or revoked: the
                                      API reloads its cached keys when it differs

`{<account>}` is a Redis Cluster hash tag, so one account's keys share one slot. The scripts
that update the global indexes (accounts, inflight) with an account's own keys still span
slots; the README says why outreach runs on one Redis, not a Cluster.
"""

from __future__ import annotations

PREFIX = "outreach"
CELERY_QUEUE = "outreach"  # its name is in the deployments too (KEDA's listName)
ACCOUNTS = f"{PREFIX}:accounts"
INFLIGHT = f"{PREFIX}:inflight"
CHECKS = f"{PREFIX}:checks"
INBOXES = f"{PREFIX}:inboxes"
WEBHOOKS = f"{PREFIX}:webhooks"
WAKE = f"{PREFIX}:wake"
API_KEYS_VERSION = f"{PREFIX}:api-keys:version"


def queue(account: str) -> str:
    return f"{PREFIX}:{{{account}}}:queue"


def pace(account: str) -> str:
    return f"{PREFIX}:{{{account}}}:pace"


def inbox(account: str) -> str:
    return f"{PREFIX}:{{{account}}}:inbox"


def locating(account: str) -> str:
    return f"{PREFIX}:{{{account}}}:locating"

"""The services the pipeline stands on answer, whether real (CI) or embedded (a laptop)."""

from __future__ import annotations

import redis
import sqlalchemy
from celery import Celery


def test_redis_runs_lua_scripts(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete("outreach:test:counter")
        assert client.eval("return redis.call('INCR', KEYS[1])", 1, "outreach:test:counter") == 1
        client.delete("outreach:test:counter")
    finally:
        client.close()


def test_celery_connects_to_the_broker(redis_url: str) -> None:
    # kombu's Redis transport imports `packaging` without declaring it; this fails if missing.
    broker = redis_url.replace("unix://", "redis+socket://")
    app = Celery("outreach-test", broker=broker)
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
        assert connection.connected


def test_database_answers(database_url: str) -> None:
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()

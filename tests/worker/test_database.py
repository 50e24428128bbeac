"""The engine every store shares: a connection the server dropped is replaced before use."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from worker import database
from worker.runtime import Runtime


def test_a_connection_the_server_dropped_while_idle_is_replaced_before_use(
    make_runtime: Callable[..., Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime({"alice": "linkup"})
    engine = runtime.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("only a server can drop a pooled connection")
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
    engine.dispose()
    with engine.connect() as connection:  # the pool now holds exactly this connection
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    other = sa.create_engine(str(engine.url.render_as_string(hide_password=False)))
    with other.connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()

    assert runtime.store.get(1) is None  # no error: the dead connection was pinged and replaced
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid

"""Migrations and models agree; servers must be migrated, SQLite is created on the spot."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from tests.databases import empty_database
from worker import schema
from worker.errors import SchemaNotReadyError


def test_migrations_build_the_models_schema_on_an_empty_database(
    database_url: str, tmp_path: Path
) -> None:
    with empty_database(database_url, tmp_path) as engine:
        assert schema.current(engine) is None

        schema.upgrade(engine)

        assert schema.current(engine) == schema.head()
        assert schema.differences(engine) == []
        assert {"deliveries", "attempts", "campaigns", "recipient_flags"} <= set(
            inspect(engine).get_table_names()
        )


def test_the_revision_processes_need_is_the_newest_migration() -> None:
    # `HEAD` saves every process Alembic's import; a new migration must move it too.
    assert schema.head() == schema.migrations_head(), "set worker.schema.HEAD"


def test_the_database_revision_is_read_as_alembic_records_it(
    database_url: str, tmp_path: Path
) -> None:
    with empty_database(database_url, tmp_path) as engine:
        schema.upgrade(engine, "0003")
        assert schema.current(engine) == "0003"

        schema.downgrade(engine, "base")  # the version table stays, empty
        assert schema.current(engine) is None


def test_downgrading_to_empty_and_upgrading_again_works(database_url: str, tmp_path: Path) -> None:
    with empty_database(database_url, tmp_path) as engine:
        schema.upgrade(engine)

        schema.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        schema.upgrade(engine)
        assert schema.differences(engine) == []


def test_the_check_notices_a_schema_that_drifted_from_the_models(
    database_url: str, tmp_path: Path
) -> None:
    with empty_database(database_url, tmp_path) as engine:
        schema.upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE deliveries ADD COLUMN stray INTEGER"))

        drift = schema.differences(engine)

        assert any("stray" in str(difference) for difference in drift)


def test_a_server_database_that_was_not_migrated_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("only server databases need `outreach db upgrade`")
    with empty_database(database_url, tmp_path) as engine:
        with pytest.raises(SchemaNotReadyError, match="outreach db upgrade"):
            schema.prepare(engine)
        schema.upgrade(engine)
        schema.prepare(engine)  # migrated: accepted


def test_sqlite_is_created_directly_and_stamped(tmp_path: Path) -> None:
    with empty_database("sqlite://", tmp_path) as engine:
        schema.prepare(engine)

        assert schema.current(engine) == schema.head()
        assert schema.differences(engine) == []


def test_migrating_rewrites_recorded_recipients_in_canonical_form(
    database_url: str, tmp_path: Path
) -> None:
    with empty_database(database_url, tmp_path) as engine:
        schema.upgrade(engine, "0002")
        with engine.begin() as connection:
            for i, recipient in enumerate(
                [
                    "https://www.linkedin.com/in/Jane-Doe",
                    "https://www.linkedin.com/in/j%c3%a9r%c3%b4me-x",
                    "urn:li:person:ACoAABcDeFgH",
                ]
            ):
                connection.execute(
                    text(
                        "INSERT INTO deliveries (idempotency_key, step, account, provider,"
                        " recipient, text, inmail, status, attempts, rate_limits, created_at,"
                        " due_at, updated_at) VALUES (:key, 0, 'ann', 'linkup', :recipient,"
                        " 'Hi', false, 'SENT', 1, 0, :at, :at, :at)"
                    ),
                    {"key": f"k{i}", "recipient": recipient, "at": "2026-11-23 09:00:00"},
                )
            for recipient, replied, opted_out in [
                ("https://www.linkedin.com/in/JANE-DOE", "2026-11-20 09:00:00", None),
                ("https://www.linkedin.com/in/jane-doe", "2026-11-21 09:00:00", "2026-11-22"),
            ]:
                connection.execute(
                    text(
                        "INSERT INTO recipient_flags (recipient, replied_at, opted_out_at)"
                        " VALUES (:recipient, :replied, :opted_out)"
                    ),
                    {"recipient": recipient, "replied": replied, "opted_out": opted_out},
                )

        schema.upgrade(engine)

        with engine.connect() as connection:
            recipients = connection.execute(
                text("SELECT recipient FROM deliveries ORDER BY id")
            ).scalars()
            assert list(recipients) == [
                "https://www.linkedin.com/in/jane-doe",
                "https://www.linkedin.com/in/j%C3%A9r%C3%B4me-x",
                "urn:li:person:ACoAABcDeFgH",
            ]
            flags = connection.execute(
                text("SELECT recipient, replied_at, opted_out_at FROM recipient_flags")
            ).all()
        assert len(flags) == 1
        recipient, replied_at, opted_out_at = flags[0]
        assert recipient == "https://www.linkedin.com/in/jane-doe"
        assert str(replied_at).startswith("2026-11-20") and opted_out_at is not None

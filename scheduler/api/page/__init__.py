"""The live campaign page, served at `/` (read-only; the same API keys): campaigns, accounts,
what needs a person, and charts, refreshed in place every few seconds by a little plain JS."""

from __future__ import annotations

from scheduler.api.page.routes import router

__all__ = ["router"]

"""structlog, configured once: JSON lines in production, readable lines in a terminal.

Every line, ours or a library's through stdlib logging, is rendered and then passed through
`redact()`, so a secret cannot reach the output even inside a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from worker.redaction import MASK, redact

# Keys whose values are masked whatever they hold, in case a secret was never registered.
_SENSITIVE_KEYS = frozenset(
    {"api_key", "login_token", "authorization", "x-api-key", "password", "token", "secret"}
)

_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def mask_sensitive_keys(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Processor: blank the values of keys that name a credential, at any depth."""
    return {key: _masked(key, value) for key, value in event.items()}


def _masked(key: object, value: Any) -> Any:
    if isinstance(key, str) and key.lower() in _SENSITIVE_KEYS:
        return MASK
    if isinstance(value, Mapping):
        return {k: _masked(k, v) for k, v in value.items()}
    return value


def _redacting(render: Callable[[WrappedLogger, str, EventDict], Any]) -> Processor:
    def render_redacted(logger: WrappedLogger, name: str, event: EventDict) -> str:
        return redact(str(render(logger, name, event)))

    return render_redacted


def configure_logging(
    log_format: str = "auto", level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging through one redacting renderer on `stream`."""
    out = stream if stream is not None else sys.stderr
    as_json = log_format == "json" or (log_format == "auto" and not out.isatty())
    renderer: Processor
    final: list[Processor]
    if as_json:
        renderer = structlog.processors.JSONRenderer()
        final = [structlog.processors.format_exc_info]
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        final = []
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *final,
            mask_sensitive_keys,
            _redacting(renderer),
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO; our own attempt events say more.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Alembic narrates every connection it inspects; `outreach db` reports what it did itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger

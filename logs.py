"""Log lines for people (text) or for a log collector (JSON, one object a line), each carrying
the id of the HTTP request it was written for (issue 7).

The web role's request-id wrapper (server/request_ids.py) sets `REQUEST_ID` for the time it
serves a request; `RequestIdFilter`, on the handler `configure_logging` installs, copies it onto
every record, so any module's `log.warning(...)` inside a request names that request without
being passed anything. Records from worker threads started for the request (`asyncio.to_thread`,
Starlette's thread pool) carry it too: both copy the context.

Imports no Dash: the worker roles log through it as well.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Literal

REQUEST_ID: ContextVar[str] = ContextVar("komando_request_id", default="")

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s"
# uvicorn installs its own handlers on these; under JSON they must reach ours instead, or a
# collector would get two formats mixed in one stream.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class RequestIdFilter(logging.Filter):
    """Stamps `request_id` (and `request_tag`, " [id]" or "", for the text format) on records."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = getattr(record, "request_id", "") or REQUEST_ID.get()
        record.request_id = request_id
        record.request_tag = f" [{request_id}]" if request_id else ""
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_tag"):  # a handler without the filter
            record.request_tag = ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (UTC, ISO 8601), level, logger, message, request_id when the
    line was written for a request, exc (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, object] = {
            "ts": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", "") or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_handler(log_format: LogFormat, stream: object = None) -> logging.Handler:
    """The handler `configure_logging` installs (tests attach one to a stream of their own)."""
    handler = logging.StreamHandler(stream)  # type: ignore[arg-type]
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Configure the root logger: only `main()` and the ASGI factory call this."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "komando", False)]:
        root.removeHandler(old)
    handler = make_handler(log_format)
    handler.komando = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    if log_format == "json":
        for name in SERVER_LOGGERS:
            server_log = logging.getLogger(name)
            server_log.handlers.clear()
            server_log.propagate = True

"""Dash's FastAPI backend answers a failing callback with a bare 500 and logs nothing; this
decorator logs the traceback first, so a broken panel is visible in the server log."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dash.exceptions import PreventUpdate

log = logging.getLogger("komando.callbacks")


def logged(func: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await func(*args, **kwargs)
        except PreventUpdate:
            raise
        except Exception:
            log.exception("callback %s failed", func.__name__)
            raise

    return wrapper

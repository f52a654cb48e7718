"""Which roles may call which Dash callback, decided where the callbacks are registered.

    policy = CallbackPolicy()
    with policy.roles(app, LIVE_VIEWERS):
        alert_list.register(app, ...)

Every server-side callback registered inside the block is callable by those roles; a callback
registered outside any block is callable by no one (the gate refuses it), so a new panel cannot
ship unguarded by accident. `unguarded(app)` lists such callbacks for the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dash import Dash

from data.access import DISPLAY, Principal


class CallbackPolicy:
    def __init__(self) -> None:
        self._roles: dict[str, frozenset[str]] = {}
        self._display_pages: dict[str, frozenset[str]] = {}
        self._names: dict[str, str] = {}

    @contextmanager
    def roles(
        self, app: Dash, roles: frozenset[str], display_pages: frozenset[str] = frozenset()
    ) -> Iterator[None]:
        """Callbacks registered inside may be called by `roles`. A display may call them only
        when its view includes one of `display_pages` (empty: any of its pages)."""
        before = set(app.callback_map)
        yield
        for output in set(app.callback_map) - before:
            self._roles[output] = frozenset(roles)
            self._display_pages[output] = frozenset(display_pages)
            self._names[output] = _short_name(app.callback_map[output].get("callback"), output)

    def narrow(self, app: Dash, output_part: str, roles: frozenset[str]) -> int:
        """Give the callbacks whose output names `output_part` (a component id) the smaller
        set `roles`: e.g. the alert panel's buttons inside a panel every viewer reads."""
        narrowed = 0
        for output in app.callback_map:
            if f"{output_part}." in output and output in self._roles:
                self._roles[output] = self._roles[output] & roles
                narrowed += 1
        return narrowed

    def allows(self, output: str, principal: Principal) -> bool:
        roles = self._roles.get(output)
        if roles is None or principal.role not in roles:
            return False
        if principal.role == DISPLAY:
            pages = self._display_pages.get(output, frozenset())
            return not pages or bool(pages & principal.view_paths)
        return True

    def roles_of(self, output: str) -> frozenset[str] | None:
        return self._roles.get(output)

    def name_of(self, output: str) -> str:
        """A short name of the callback ("live_feed.refresh_feed"), for metrics."""
        return self._names.get(output, "unknown")

    def unguarded(self, app: Dash) -> list[str]:
        """Server-side callbacks no rule covers (clientside ones never reach the server)."""
        return sorted(
            output
            for output, spec in app.callback_map.items()
            if output not in self._roles and spec.get("callback") is not None
        )


def _short_name(func: object, output: str) -> str:
    module = str(getattr(func, "__module__", "") or "").rsplit(".", 1)[-1]
    name = getattr(func, "__name__", "")
    return f"{module}.{name}" if module and name else output[:60]

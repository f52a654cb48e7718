"""The admin page's own check of who is calling, besides the gate's callback policy: a mistake
in the policy table must not open accounts, keys and the audit trail to other roles."""

from __future__ import annotations

import logging

from dash.exceptions import PreventUpdate

from data.access import ADMIN, Principal, current_principal

log = logging.getLogger(__name__)


def acting_admin() -> Principal:
    """The signed-in admin making this request; anyone else gets no answer at all."""
    principal = current_principal()
    if principal is None or principal.role != ADMIN or principal.kind != "user":
        log.warning("admin callback refused to %s", principal.actor if principal else "anonymous")
        raise PreventUpdate
    return principal


def next_version(version: object) -> int:
    """The page's change counter, one on: every list re-reads after a change."""
    return (version if isinstance(version, int) else 0) + 1

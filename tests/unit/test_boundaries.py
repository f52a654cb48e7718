"""Architecture rules that a refactor could silently break."""

from __future__ import annotations

import subprocess
import sys

from settings import PROJECT_ROOT


def test_worker_roles_import_no_dash():
    code = (
        "import sys; import runner, data.ingest, data.history, video.grabber, data.live_store;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dash', 'dash_leaflet')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_app_module_does_no_io_at_import():
    code = "import app, threading; print(threading.active_count())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "1"  # no worker, server or Redis thread started by importing

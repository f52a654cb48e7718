"""Property-based and fuzz tests of every external input (issue 7, "Bad input tried").

Hypothesis profiles:
- `ci` (the default): derandomized (the same examples on every run and machine), no example
  database, a bounded number of examples per test, so this folder takes a few minutes on the
  2-core CI machine;
- `deep`: random and ten times as many examples, for a hunt on a developer's machine:
  `HYPOTHESIS_PROFILE=deep .venv/bin/python -m pytest tests/fuzz`.
A failure prints the smallest example found; `derandomize` makes it reproduce as it is.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# The worlds behind these tests (Redis, SQLite, the app) are module fixtures shared by the
# examples on purpose: one app per example would cost seconds each.
_SHARED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,  # a shared 2-core machine: timing is not what these tests judge
    print_blob=True,
    suppress_health_check=_SHARED,
)
settings.register_profile(
    "deep",
    max_examples=600,
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SHARED,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

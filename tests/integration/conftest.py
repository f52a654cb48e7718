"""Fixtures shared by the integration tests."""

from tests.admin_page import admin_page  # noqa: F401  (a fixture)

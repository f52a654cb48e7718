"""`python -m video`: the grab role on its own (needs REDIS_URL shared with the web role)."""

import sys

from runner import main_for_roles

sys.exit(main_for_roles(frozenset({"grab"})))

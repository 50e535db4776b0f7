"""The shapes of rows the store hands out.

``Row`` is what ``sqlite3`` gives through the store's row factory: a plain dict keyed by
column name. Typed row shapes are declared here, once each, so every layer reads the same
names.
"""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]

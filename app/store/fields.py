"""Custom peewee fields: JSON text."""

from __future__ import annotations

import json
from typing import Any

import peewee


class JsonField(peewee.TextField):
    """JSON stored as text (portable across SQLite and PostgreSQL)."""

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

    def python_value(self, value: Any) -> Any:
        if value is None:
            return None
        return json.loads(value)

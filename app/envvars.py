"""Environment variables the command and the client read (one place, light to import)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "BUJIANMIAN_DATA"
DB_ENV = "BUJIANMIAN_DB"
PASSPHRASE_ENV = "BUJIANMIAN_PASSPHRASE"


def default_data_dir() -> Path:
    """$BUJIANMIAN_DATA, else the user's data folder."""
    from_env = os.environ.get(DATA_ENV)
    if from_env:
        return Path(from_env)
    import platformdirs

    return Path(platformdirs.user_data_dir("bujianmian", appauthor=False))

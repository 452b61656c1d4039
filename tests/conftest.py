"""Test set-up: offscreen Qt, cheap password hashing, an in-memory keyring, both databases."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["helpers.fixtures"]

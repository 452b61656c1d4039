"""Log files in the data folder; personal numbers are masked before anything is written."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

from app.domain.masking import mask_id, mask_phone

_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def scrub(text: str) -> str:
    """Mask anything shaped like an ID or mobile number (checksum or not: better safe)."""
    text = _ID.sub(lambda m: mask_id(m.group(0)), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)), text)


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


def setup_logging(data_dir: Path, *, level: int = logging.INFO) -> Path:
    """A rotating log at data_dir/logs/bujianmian.log; returns its path."""
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "bujianmian.log"
    root = logging.getLogger()
    if any(getattr(h, "_bujianmian", False) for h in root.handlers):
        return path
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    handler._bujianmian = True  # type: ignore[attr-defined]
    handler.addFilter(ScrubFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    return path


def tail(path: Path, lines: int = 60) -> str:
    """The last lines of the log, for the crash dialog."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""

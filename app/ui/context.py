"""What every widget is given: the runtime, the logged-in session, the local settings."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

from app.domain.errors import NotFound
from app.domain.roles import Actor
from app.services import accounts, org
from app.services.accounts import Session
from app.services.runtime import Runtime, open_runtime
from app.ui.qsettings import APPLICATION, ORGANISATION, make_settings  # noqa: F401

PREVIEW_PASSWORD = "Qinghe#2026demo"


@dataclass
class UiContext:
    """Handed to every widget; widgets call services with `rt` and `actor`."""

    rt: Runtime
    session: Session
    settings: QSettings
    log_path: Path | None = None

    @property
    def actor(self) -> Actor:
        return self.session.actor

    def place_text(self) -> str:
        """Where the account works: the township, and the station for station accounts."""
        actor = self.actor
        if not actor.township:
            return "县级"
        try:
            town = org.township_name(actor.township)
        except NotFound:  # a township renamed away must not keep the window from opening
            town = actor.township
        station = org.station_name(actor.station)
        return f"{town}·{station}" if station else town

    def desk_text(self) -> str:
        """The desk code with its name, or a dash when the account works at no desk."""
        code = self.actor.desk
        if not code:
            return "—"
        names = dict(org.desks(self.actor.township)) if self.actor.township else {}
        name = names.get(code, "")
        return f"{code} {name}".strip()


@dataclass
class PreviewData:
    """A throw-away demo database for `python -m app.ui.…` previews and screenshots."""

    rt: Runtime
    data_dir: Path
    passwords: dict[str, str]


def preview_data(cases: int = 0, data_dir: Path | None = None) -> PreviewData:
    """The demo township (accounts, desks, catalog) and `cases` demo cases in a temp folder."""
    from app.security.keystore import KeyStore, MemoryKeyring
    from app.services import demo

    folder = data_dir or Path(tempfile.mkdtemp(prefix="bujianmian-preview-"))
    rt = open_runtime(
        folder, f"sqlite:///{folder / 'preview.sqlite3'}", keystore=KeyStore(MemoryKeyring())
    )
    made = demo.setup_township(rt)
    if cases:
        demo.generate_cases(rt, cases)
    return PreviewData(rt, folder, {row[0]: row[3] for row in made.rows})


def preview_context(data: PreviewData, username: str = "window1", desk: str = "A1") -> UiContext:
    """Log a demo account in (its initial password replaced by PREVIEW_PASSWORD)."""
    password = data.passwords.get(username, PREVIEW_PASSWORD)
    session = accounts.login(data.rt, username, password, desk=desk)
    if session.must_change_password:
        accounts.change_password(data.rt, session, password, PREVIEW_PASSWORD)
        data.passwords[username] = PREVIEW_PASSWORD
    settings = QSettings(str(data.data_dir / "client.ini"), QSettings.Format.IniFormat)
    return UiContext(data.rt, session, settings)

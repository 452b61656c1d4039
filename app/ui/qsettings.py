"""The client's local settings file (per user and machine: last desk, window sizes)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANISATION = "bujianmian"
APPLICATION = "client"


def make_settings() -> QSettings:
    """An INI file, the same format on Windows and Linux."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
    )

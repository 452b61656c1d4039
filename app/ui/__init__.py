"""The desktop client (PySide6): login, the role workspaces, the case view; the only Qt code."""

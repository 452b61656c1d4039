"""Case-action dialogs shared by the workspaces."""

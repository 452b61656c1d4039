"""The county 帮代办 window's pieces: inbox, case view, figures and action dialogs."""

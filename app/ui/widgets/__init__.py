"""Reusable widgets: the case queue and the case view."""

"""Shared fixtures and factories for the test suite."""

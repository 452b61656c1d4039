"""A4 documents (文书) and statistics, built with reportlab from plain data (no Qt, no database)."""

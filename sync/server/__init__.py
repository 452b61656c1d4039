"""The county 帮代办 server: HTTP API for townships and county staff, and the progress page."""

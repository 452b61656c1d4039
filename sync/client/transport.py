"""What requests did around each request, done without it: the answer read in full, JSON
bodies, the address as requests prepared it, and its rules for following redirects (the
township's CountyClient sends exactly as its requests.Session did)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

MAX_REDIRECTS = 30
DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Answer:
    """An answer of the county server, read in full: what callers used of requests.Response."""

    __slots__ = ("content", "headers", "status_code", "url")

    def __init__(self, status_code: int, headers: Any, content: bytes, url: str) -> None:
        self.status_code = status_code
        self.headers = headers  # case-insensitive, as requests' were
        self.content = content
        self.url = url

    def json(self) -> Any:
        return json.loads(self.content)


def json_body(value: Any) -> bytes:
    """The bytes requests' `json=` sent: json.dumps with its default separators, UTF-8."""
    return json.dumps(value, allow_nan=False).encode("utf-8")


def prepared_url(url: str) -> str | None:
    """The address as requests prepared it (host lower-cased, quoting), None if unusable."""
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except requests.RequestException:
        return None
    return prepared.url


def location_of(answer: Answer) -> str | None:
    """Where a redirect points (read as requests read it), or None."""
    if answer.status_code not in _REDIRECTS or "location" not in answer.headers:
        return None
    location: str = answer.headers["location"]
    return location.encode("latin1").decode("utf8")


def _strip_auth(old_url: str, new_url: str) -> bool:
    """requests' rule: the credential goes along only to the same host (http to https too)."""
    old, new = urlsplit(old_url), urlsplit(new_url)
    if old.hostname != new.hostname:
        return True
    upgraded = old.scheme == "http" and new.scheme == "https"
    if upgraded and old.port in (80, None) and new.port in (443, None):
        return False
    default_port = (DEFAULT_PORTS.get(old.scheme), None)
    if old.scheme == new.scheme and old.port in default_port and new.port in default_port:
        return False
    return old.port != new.port or old.scheme != new.scheme


def redirected(
    answer: Answer, method: str, body: bytes | None, headers: dict[str, str], location: str
) -> tuple[str, str, bytes | None, dict[str, str]]:
    """The request a redirect asks for, made as requests made it."""
    old = answer.url
    if location.startswith("//"):
        location = f"{urlsplit(old).scheme}:{location}"
    url = requests.utils.requote_uri(location)
    if not urlsplit(location).netloc:
        url = urljoin(old, url)
    status = answer.status_code
    if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
        method = "GET"
    headers = {name: value for name, value in headers.items() if name != "Cookie"}
    if status not in (307, 308):
        body = None
        for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
            headers.pop(name, None)
    if "Authorization" in headers and _strip_auth(old, url):
        del headers["Authorization"]
    return method, url, body, headers

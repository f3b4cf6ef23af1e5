"""The address of a remote LM server: validated, normalised, and judged for privacy.

Policy:

- ``base`` is the API root, e.g. ``http://127.0.0.1:8080/v1``; a bare ``http://host:port`` gets
  ``/v1`` appended. ``root`` is ``base`` without its ``/v1`` (where llama-server's ``/props``
  lives).
- Only ``http://`` and ``https://`` are accepted. URLs with ``user:password@``, a query, a
  fragment or spaces are refused: the error says why and how to fix it in Settings (the key
  belongs in API key, never in the URL).
- ``http://`` to a loopback host (``localhost``, ``*.localhost``, 127.0.0.0/8, ``::1``) is
  private; ``http://`` to any other host is allowed but marked
  (:attr:`EndpointURL.plain_http_remote`): the conversation then crosses the network
  unencrypted.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from her_desktop.llm.base import EndpointError


@dataclass(frozen=True, slots=True)
class EndpointURL:
    """A validated server address: ``base`` (ends in the API root, e.g. ``/v1``) and ``root``."""

    base: str
    root: str
    host: str
    https: bool

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def plain_http_remote(self) -> bool:
        """True when the conversation would cross the network unencrypted."""
        return not self.https and not self.loopback


def is_loopback_host(host: str) -> bool:
    """``localhost`` (and ``*.localhost``) or a loopback IP (127.0.0.0/8, ::1)."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_base_url(url: str) -> EndpointURL:
    """Validate the configured server URL, or raise ``EndpointError`` saying how to fix it."""
    text = url.strip()
    example = "e.g. http://127.0.0.1:8080/v1"

    def bad(why: str) -> EndpointError:
        return EndpointError(
            f"The LM server URL {text!r} is not valid: {why} ({example}) — fix it in Settings."
        )

    if not text:
        raise bad("it is empty")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise bad(f"it cannot be read ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not text.lower().startswith(scheme + "://"):
        raise bad("it must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise bad("it must not contain a user name or password; put the key in API key")
    host = parts.hostname or ""
    if not host:
        raise bad("it has no host name")
    if parts.query or parts.fragment:
        raise bad("it must not contain '?' or '#'")
    if any(c.isspace() for c in text):
        raise bad("it must not contain spaces")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    root_path = path[: -len("/v1")] if path.endswith("/v1") else ""
    base = urlunsplit((scheme, netloc, path, "", ""))
    root = urlunsplit((scheme, netloc, root_path, "", ""))
    return EndpointURL(base=base, root=root, host=host, https=scheme == "https")

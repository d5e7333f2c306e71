"""Broker users for producers (contract §11), through RabbitMQ's management HTTP API.

A producer's user may write to the usage exchange and nothing else: no configure (it
cannot declare, delete or rebind anything), no read (it cannot consume anyone's events),
and a topic permission that lets it publish only with the routing keys of the licensees
it reports for. The password is made here, returned once, and never kept.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from ledger.errors import ConfigurationError, LedgerError

TIMEOUT = 10


class BrokerAdminError(LedgerError):
    """The management API refused or could not be reached (never with its credentials)."""


def _exact(name: str) -> str:
    return "^" + re.escape(name) + "$"


def topic_pattern(licensees: list[str]) -> str:
    """The routing keys a producer of ``licensees`` may publish with; none matches no key."""
    if not licensees:
        return "^$"
    keys = "|".join(re.escape(key) for key in sorted(licensees))
    return rf"^(usage|revenue)\.({keys})$"


@dataclass(frozen=True)
class BrokerAdmin:
    """``admin_url``: ``http://USER:PASSWORD@HOST:15672``; ``vhost`` as the broker URL's."""

    admin_url: str
    vhost: str = "/"

    @classmethod
    def from_urls(cls, admin_url: str, broker_url: str) -> BrokerAdmin:
        path = urlsplit(broker_url).path
        vhost = unquote(path[1:]) if len(path) > 1 else "/"
        return cls(admin_url, vhost)

    def _request(self, method: str, path: str, body: dict | None = None) -> int:
        parts = urlsplit(self.admin_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError("ROYALTY_BROKER_ADMIN_URL must be an http(s) URL of "
                                     "RabbitMQ's management API")
        base = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        request = urllib.request.Request(base + parts.path.rstrip("/") + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"content-type": "application/json"})
        if parts.username is not None:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            request.add_header("authorization", "Basic " + base64.b64encode(token).decode())
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and method in ("DELETE", "GET"):
                return 404
            # the URL printed has no credentials: they must not reach a terminal or a log
            raise BrokerAdminError(f"broker management API at {base}: {method} {path} "
                                   f"answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BrokerAdminError(f"broker management API at {base} cannot be reached: "
                                   f"{reason}") from None

    def _user(self, user: str) -> str:
        return "/api/users/" + quote(user, safe="")

    def _vhost(self) -> str:
        return quote(self.vhost, safe="")

    def user_exists(self, user: str) -> bool:
        return self._request("GET", self._user(user)) != 404

    def create_user(self, user: str) -> str:
        """Create (or reset) ``user`` with a new random password, returned once."""
        password = secrets.token_urlsafe(24)
        self._request("PUT", self._user(user), {"password": password, "tags": ""})
        return password

    def allow(self, user: str, exchange: str, licensees: list[str]) -> None:
        """Write permission on ``exchange`` only, and topic permission for the routing keys
        of ``licensees`` only."""
        path = f"/{self._vhost()}/{quote(user, safe='')}"
        self._request("PUT", "/api/permissions" + path,
                      {"configure": "^$", "write": _exact(exchange), "read": "^$"})
        self._request("PUT", "/api/topic-permissions" + path,
                      {"exchange": exchange, "write": topic_pattern(licensees), "read": "^$"})

    def delete_user(self, user: str) -> bool:
        return self._request("DELETE", self._user(user)) != 404

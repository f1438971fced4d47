"""A service's address as the lab knows it: the *nominal* host and port in URLs, DNS answers and logs, as on the real
product (``cucm.lab.example:8443``), and the loopback *listener* where it really accepts connections."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Listener:
    """An HTTP service: its name in URLs (``host:port``) and where it really listens on loopback."""

    host: str
    port: int
    scheme: str
    address: str
    listen_port: int

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

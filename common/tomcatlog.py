"""A failed TLS handshake on a Tomcat listener (CUCM, IM&P EPAS, Unity Connection), in Tomcat's words.

Tomcat 9 logs ``Handshake failed for client connection from IP address [<ip>] and port [<port>]`` (its
``endpoint`` messages) with the JSSE exception; the thread and category follow the products' Tomcat logs
(*modelled*: no public capture of this line from a CUCM; docs/transport.md).
"""

from __future__ import annotations

from collections.abc import Callable

from common.nodelog import Log4jLog

CATEGORY = "org.apache.tomcat.util.net.NioEndpoint"


def tomcat_tls_refused(log: Log4jLog, port: int) -> Callable[[str, int, str], None]:
    """The ``on_tls_error`` of a Tomcat listener that is ``port`` in URLs (8443)."""

    def refused(ip: str, peer_port: int, reason: str) -> None:
        log.write("ERROR", f"https-jsse-nio-{port}-exec-1", CATEGORY,
                  f"Handshake failed for client connection from IP address [{ip}] and port [{peer_port}]: "
                  f"javax.net.ssl.SSLHandshakeException: {reason}")

    return refused

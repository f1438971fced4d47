"""How a node outside CUCM's Tomcat fetches a cluster's AuthZ keys: IM&P's XCP Authentication Service at start,
Unity Connection from its "AuthZ Servers" page (``GET /ssosp/token/authz_keys`` with the AXL user, modelled path).

One loop for both: try the given nodes in order and keep the first export that reads; otherwise say why the last one
failed. The callers write their own log lines, as each product does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from common.basic import basic_header
from common.config import Listener
from common.hop import HopClient, HopError
from common.tokens import AUTHZ_KEYS_PATH, AuthzKeys, keys_from_response


@dataclass(frozen=True)
class KeyFetch:
    keys: AuthzKeys | None
    host: str
    problem: str = ""


async def fetch_authz_keys(hop: HopClient, nodes: Sequence[Listener], user: str, password: str) -> KeyFetch:
    result = KeyFetch(None, nodes[0].host if nodes else "", "no node to ask")
    for node in nodes:
        try:
            answer = await hop.request("GET", f"{node.origin}{AUTHZ_KEYS_PATH}",
                                       headers={"Authorization": basic_header(user, password)})
        except HopError as exc:
            result = KeyFetch(None, node.host, str(exc))
            continue
        keys = keys_from_response(answer.status, answer.body)
        if keys is not None:
            return KeyFetch(keys, node.host)
        result = KeyFetch(None, node.host, f"HTTP {answer.status}")
    return result

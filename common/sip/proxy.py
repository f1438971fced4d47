"""What a SIP proxy does to a message it relays (RFC 3261 §16.6, §16.7), as both Expressways and the lab do it.

Forwarding a request: ``Max-Forwards`` minus one (``483 Too Many Hops`` at zero), the ``received``/``rport`` of the
sender on the Via it came with (§18.2.1, RFC 3581), and a new top Via with a branch starting with the magic cookie
``z9hG4bK``. Relaying a response: the top Via must be ours (else the response is discarded, §16.7 step 3), and is
removed before the response goes to the next Via.
"""

from __future__ import annotations

import secrets

from common.sip.message import SipMessage, split_commas, via_params

MAGIC = "z9hG4bK"


def new_branch() -> str:
    return MAGIC + secrets.token_hex(12)


def new_tag() -> str:
    return secrets.token_hex(4) + "-" + secrets.token_hex(4)


def forwarded(req: SipMessage, sent_by: str, branch: str, transport: str = "TLS",
              received: tuple[str, int] | None = None, extra: str = "") -> SipMessage:
    """``req`` as this proxy sends it on; raises ValueError("483") when Max-Forwards is spent."""
    forwards = int(req.get("Max-Forwards", "70") or "70")
    if forwards <= 0:
        raise ValueError("483")
    vias = req.vias
    if received is not None and vias:
        top = vias[0]
        params = via_params(top)
        if "received" not in params:
            top += f";received={received[0]}"
        if "rport" in params and not params["rport"]:
            top = top.replace(";rport", f";rport={received[1]}", 1)
        vias[0] = top
    ours = f"SIP/2.0/{transport} {sent_by};branch={branch}{extra}"
    headers = [("Via", ours), *(("Via", via) for via in vias)]
    headers += [(k, v) for k, v in req.headers if k not in ("Via", "Max-Forwards")]
    headers.insert(len(vias) + 1, ("Max-Forwards", str(forwards - 1)))
    return req.with_headers(headers)


def top_branch(msg: SipMessage) -> str:
    vias = msg.vias
    return via_params(vias[0]).get("branch", "") if vias else ""


def popped(resp: SipMessage) -> SipMessage:
    """The response without its top Via, for the next hop down (§16.7 step 3)."""
    vias = resp.vias[1:]
    rest = [(k, v) for k, v in resp.headers if k != "Via"]
    return resp.with_headers([*(("Via", via) for via in vias), *rest])


def via_count(value: str) -> int:
    return len(split_commas(value))

"""Writing a SIP message to a node's log in that product's words (formats: :mod:`common.logformats.sip`).

Every SIP message a node sends or receives goes through one of these, so the three products' traces of one message
carry the same text, with tokens concealed.
"""

from __future__ import annotations

from common.logformats.expressway import TVCS
from common.logformats.sip import (NETWORK_SIP, SIPIO_POINT, conceal, debug_fields, info_fields, msg_hash,
                                   sdl_incoming, sdl_outgoing, sip_text, sipio_message)
from common.nodelog import CsfLog, ExpresswayLog, SdlLog
from common.sip.message import SipMessage


def expressway(log: ExpresswayLog, message: SipMessage, received: bool, local: tuple[str, int],
               remote: tuple[str, int]) -> None:
    """``Module="network.sip"``: the INFO summary, then (debug on) the DEBUG record with the ``SIPMSG`` block."""
    raw = message.render()
    digest = msg_hash(raw)
    log.write(TVCS, "INFO", info_fields(message, received, local, remote, digest), module=NETWORK_SIP)
    log.write(TVCS, "DEBUG", debug_fields(received, local, remote, digest), module=NETWORK_SIP,
              block_tag="SIPMSG", block=conceal(sip_text(message)))


def jabber(log: CsfLog, message: SipMessage, sent: bool) -> None:
    log.write("DEBUG", SIPIO_POINT, conceal(sipio_message(message, sent)))


def cucm(log: SdlLog, message: SipMessage, received: bool, peer: tuple[str, int], index: int) -> None:
    text = sdl_incoming(peer, index, len(message.render())) if received else sdl_outgoing(peer, index)
    log.write(text, f"[{log.seq + 1},NET]\n" + conceal(sip_text(message)), sub=4 if received else 1)

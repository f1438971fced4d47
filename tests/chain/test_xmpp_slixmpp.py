"""slixmpp, an XMPP library we did not write, signs in through Expressway-E with a token from the HTTP login and
chats with our own Jabber client; with OAuthLocal Off at Expressway-C's XCP router it fails cleanly."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

slixmpp = pytest.importorskip("slixmpp")
from slixmpp.util.sasl.client import Mech, sasl_mech  # noqa: E402

from common.config import Lab  # noqa: E402
from jabber.xmppclient import connect_xmpp  # noqa: E402
from lab.running import RunningLab, start_lab  # noqa: E402
from tests.chain.test_xmpp_seed import xconfiguration  # noqa: E402


@sasl_mech(40)
class OAUTHBEARER(Mech):
    """RFC 7628 §3.1, the few lines slixmpp lacks: ``n,a=<authzid>,^Aauth=Bearer <token>^A^A``."""

    name = "OAUTHBEARER"
    required_credentials = {"username", "access_token"}
    security = {"encrypted", "unencrypted_oauthbearer"}

    def process(self, challenge: bytes = b"") -> bytes:
        if challenge:
            return b"\x01"
        token = self.credentials["access_token"]
        return b"n,a=" + self.credentials["username"] + b",\x01auth=Bearer " + token + b"\x01\x01"


class Peer(slixmpp.ClientXMPP):  # type: ignore[misc]
    def __init__(self, jid: str, token: str, running: RunningLab) -> None:
        """Over STARTTLS with the lab CA as its only trust anchor when the lab runs TLS (E requires it)."""
        super().__init__(jid, "unused")
        tls = running.resolver.tls
        self.enable_plaintext, self.enable_starttls, self.enable_direct_tls = tls is None, tls is not None, False
        if tls is not None:
            self.ca_certs = str(tls.ca_file)
        self["feature_mechanisms"].use_mechs = {"OAUTHBEARER"}
        self.credentials["access_token"] = token
        self["feature_mechanisms"].unencrypted_scheme_ok = True
        self["feature_mechanisms"].config["unencrypted_oauthbearer"] = True
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.inbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.add_event_handler("session_start", self._start)
        self.add_event_handler("failed_all_auth", lambda _: self._fail("no usable SASL mechanism"))
        self.add_event_handler("failed_auth", lambda stanza: self._fail(f"SASL failure {stanza['condition']}"))
        self.add_event_handler("disconnected", lambda _: self._fail("disconnected"))
        self.add_event_handler("message", lambda msg: self.inbox.put_nowait((str(msg["from"]), msg["body"])))

    def _fail(self, reason: str) -> None:
        if not self.failed.done():
            self.failed.set_result(reason)

    async def _start(self, _: object) -> None:
        self.send_presence()
        if not self.started.done():
            self.started.set_result(None)


async def signed_in(peer: Peer, port: int) -> str | None:
    """None when the session started, else why it did not."""
    peer.connect("127.0.0.1", port)
    done, _ = await asyncio.wait([peer.started, peer.failed], timeout=20, return_when=asyncio.FIRST_COMPLETED)
    assert done, "neither session start nor failure"
    return None if peer.started in done else peer.failed.result()


async def test_slixmpp_signs_in_through_the_edge_and_chats_with_our_jabber(running: RunningLab) -> None:
    jabber = running.jabber()
    outcome, _ = await jabber.login()
    assert outcome.ok
    xmpp, ours = await connect_xmpp(jabber, outcome, resource="desk")
    assert xmpp.ok and ours is not None

    other = running.jabber("ntanborgeson", "Cisco!456")
    token_outcome, _ = await other.login()
    peer = Peer("ntanborgeson@lab.example/slix", token_outcome.access_token, running)
    try:
        assert await signed_in(peer, running.edge.xmpp.port) is None
        assert str(peer.boundjid) == "ntanborgeson@lab.example/slix"
        peer.send_message(mto="aokanlawon@lab.example/desk", mbody="hello from slixmpp", mtype="chat")
        assert await ours.next_message() == ("ntanborgeson@lab.example/slix", "hello from slixmpp")
        ours.send_message("ntanborgeson@lab.example/slix", "hello back from Jabber")
        sender, body = await asyncio.wait_for(peer.inbox.get(), 10)
        assert (sender, body) == ("aokanlawon@lab.example/desk", "hello back from Jabber")
    finally:
        peer.disconnect()
        await ours.close()
    imp_log = running.log_text("imp:imp")
    assert "message ntanborgeson@lab.example/slix -> aokanlawon@lab.example/desk" in imp_log
    assert token_outcome.access_token not in imp_log + running.log_text("expressway-e")


async def test_slixmpp_fails_cleanly_when_oauthlocal_is_off_in_xcp(lab: Lab) -> None:
    running = await start_lab(lab.replace_core(oauth_local=False))
    try:
        client = running.jabber()
        outcome, _ = await client.login()
        assert outcome.ok and outcome.path == "credentials"
        await xconfiguration(running, "CollaborationEdge OAuthLocal: On")
        outcome, _ = await client.login()
        assert outcome.access_token, "the HTTP side issues tokens at once"
        peer = Peer("aokanlawon@lab.example/slix", outcome.access_token, running)
        try:
            assert await signed_in(peer, running.edge.xmpp.port) == "no usable SASL mechanism"
        finally:
            with contextlib.suppress(Exception):
                peer.disconnect()
        e_log = running.log_text("expressway-e")
        assert 'Detail="Offering SASL mechanisms to lab.example: CISCO-VTG-TOKEN"' in e_log, "slixmpp sends no 'from'"
    finally:
        await running.stop()

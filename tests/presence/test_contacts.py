"""Who sees whose presence on IM&P: the lab's one shared contact list, and storm users outside it (issue 18, round 4:
20,000 storm users all seeing each other cost N² deliveries and collapsed the lab near 400 clients)."""

from __future__ import annotations

from common.clock import LabClock
from common.config import load_lab
from common.directory import Directory
from common.stormusers import is_storm_userid
from common.tokens import KeyRing
from common.xmpp.stanzas import Jid
from presence.auth import ImpAuthenticator
from presence.session import ClientSession, Deliver, Hub, Send

OPEN = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        b"to='lab.example' version='1.0'>")
BIND = b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>%s</resource></bind></iq>"


def signed_in(hub: Hub[object], user: str, resource: str = "r") -> ClientSession:
    lab = load_lab()
    auth = ImpAuthenticator("lab.example", Directory(lab, lab.clusters[0]), KeyRing(), LabClock())
    session = ClientSession("lab.example", auth, hub, f"{user}/{resource}", authenticated=Jid(user, "lab.example"))
    session.receive(OPEN)
    session.receive(BIND % resource.encode())
    return session


def announced(session: ClientSession) -> tuple[list[str], list[bytes]]:
    """(who the available presence was delivered to, the presences sent back to the newcomer)."""
    actions = session.receive(b"<presence/>")
    return ([a.to for a in actions if isinstance(a, Deliver)], [a.data for a in actions if isinstance(a, Send)])


def lab_hub() -> Hub[object]:
    return Hub(shares=lambda bare: not is_storm_userid(bare))


def test_named_users_see_each_other_and_storm_users_only_their_own_resources() -> None:
    hub = lab_hub()
    alice, bob = signed_in(hub, "aokanlawon"), signed_in(hub, "bsmith")
    storm1, storm2 = signed_in(hub, "storm00001"), signed_in(hub, "storm00002")
    assert announced(alice) == (["bsmith@lab.example/r"], [])  # bound: a watcher, whether it announced or not
    delivered, sent = announced(bob)
    assert delivered == ["aokanlawon@lab.example/r"] and len(sent) == 1 and b"from='aokanlawon@lab.example/r'" in sent[0]
    assert announced(storm1) == ([], []) and announced(storm2) == ([], [])
    second = signed_in(hub, "storm00001", "phone")
    delivered, sent = announced(second)
    assert delivered == ["storm00001@lab.example/r"] and len(sent) == 1  # its own other resource, both ways
    leaving = bob.receive(b"</stream:stream>")
    assert [a.to for a in leaving if isinstance(a, Deliver)] == ["aokanlawon@lab.example/r"]


def test_a_hub_without_a_contact_rule_shares_everyone_and_indexes_by_bare_jid() -> None:
    hub: Hub[object] = Hub()
    signed_in(hub, "storm00001")
    other = signed_in(hub, "storm00002")
    assert announced(other)[0] == ["storm00001@lab.example/r"]
    assert hub.targets("storm00001@lab.example") == ["storm00001@lab.example/r"]
    hub.unbind(Jid("storm00001", "lab.example", "r"))
    assert hub.targets("storm00001@lab.example") == [] and "storm00001@lab.example" not in hub.resources


def test_storm_user_ids_are_told_from_named_ones() -> None:
    assert is_storm_userid("storm00001") and is_storm_userid("storm123456@lab.example")
    assert not is_storm_userid("stormy") and not is_storm_userid("storm12") and not is_storm_userid("aokanlawon")

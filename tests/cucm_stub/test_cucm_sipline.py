"""CUCM's SIP line side as decisions (cucm_stub/sipline.py, sans-IO): each cluster knows its own devices, the SIP
OAuth challenge and port rules of TAC 215572, and the classic path's certificate-name check in a real CUCM's words."""

from __future__ import annotations

import dataclasses

from common.authzkeys import KeyRing
from common.config import Lab, load_lab
from common.sip.message import SipMessage, request
from cucm_stub.sipline import PORT_MISMATCH, Arrival, SipLine

C_NAMES = ("expc.lab.example", "expc.lab.example", "jabber-secure.lab.example")


def two_clusters() -> Lab:
    lab = load_lab()
    first = lab.clusters[0]
    second = dataclasses.replace(first, name="cluster2", listener=dataclasses.replace(first.listener,
                                                                                      host="cucm2.lab.example"))
    users = (lab.users[0], dataclasses.replace(lab.users[1], cluster="cluster2"))
    return dataclasses.replace(lab, clusters=(first, second), users=users)


def register(device: str, vias: int = 2, extra: tuple[tuple[str, str], ...] = ()) -> SipMessage:
    headers = [("Via", f"SIP/2.0/TLS 10.0.0.{n}:5061;branch=z9hG4bK{n}") for n in range(vias)]
    headers += [("From", "<sip:1000@cucm.lab.example>;tag=1"), ("To", "<sip:1000@cucm.lab.example>"),
                ("Call-ID", "abc@10.0.0.1"), ("CSeq", "1 REGISTER"), ("Max-Forwards", "70"),
                ("Contact", f'<sip:x@10.0.0.1:5061;transport=tls>;+u.sip!devicename.ccm.cisco.com="{device}"'),
                ("Expires", "3600"), *extra]
    return request("REGISTER", "sip:cucm.lab.example", headers)


def test_each_cluster_registers_only_the_devices_of_its_own_users() -> None:
    lab = two_clusters()
    first, second = (SipLine(lab, cluster) for cluster in lab.clusters)
    mra = Arrival("mra", 5091, C_NAMES)
    assert first.decide(register("CSFNTANBORGESON"), mra, KeyRing(), 0).response.status == 404
    assert second.decide(register("CSFAOKANLAWON"), mra, KeyRing(), 0).response.status == 404
    challenge = second.decide(register("CSFNTANBORGESON"), mra, KeyRing(), 0).response
    assert challenge.status == 407 and challenge.get("Proxy-Authenticate") == 'Bearer realm="ccmsipline"'


def test_sip_oauth_relayed_to_the_on_premises_port_is_a_port_mismatch() -> None:
    lab = load_lab()
    line = SipLine(lab, lab.clusters[0])
    answer = line.decide(register("CSFAOKANLAWON"), Arrival("oauth", 5090, ()), KeyRing(), 0).response
    assert answer.status == 403 and PORT_MISMATCH in (answer.get("Warning") or "")


def test_classic_path_checks_the_profile_name_in_cs_certificate_like_a_real_cucm() -> None:
    lab = load_lab()
    lab = dataclasses.replace(lab, sip=dataclasses.replace(lab.sip, oauth_mode=False, digest_auth=False))
    line = SipLine(lab, lab.clusters[0])
    accepted = line.decide(register("CSFAOKANLAWON"), Arrival("secure", 5061, C_NAMES), KeyRing(), 0)
    assert accepted.response.status == 200
    refused = line.decide(register("CSFAOKANLAWON"), Arrival("secure", 5061, C_NAMES[:2]), KeyRing(), 0)
    assert refused.response.status == 403
    # the SDL trace's words of Cisco doc 211304, Issue 5 (tests/analyzer/real_logs/cucm-rejects-expc-cert-…)
    assert refused.notes == (
        "validTLSConnection:TLS InvalidX509NameInCertificate, Rcvd=expc.lab.example , Expected=CSFAOKANLAWON. "
        "Will check SAN the next",
        "validTLSConnection:TLS InvalidX509NameInCertificate Error , did not find matching SAN either, "
        "Rcvd=expc.lab.example, Expected=jabber-secure.lab.example")

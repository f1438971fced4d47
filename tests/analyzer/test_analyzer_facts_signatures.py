"""Signatures our lab cannot produce yet, held against log lines written the way mra-facts and the seed describe them
(through the same format definitions the nodes use), so a change that breaks them fails here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analyzer.diagnose import analyze
from common.logformats.csf import CsfLine, LogPoint
from common.logformats.expressway import EDGECONFIG, EDGECONFIG_EVENT, TRAFFIC_SERVER, XCP_JABBERD, ExpresswayLine

T0 = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.timezone.utc)
MDT = dt.timedelta(hours=-6)
POINT = LogPoint("xmppcore\\src\\client.cpp", 192, "csf.jwcpp", "gloox::Client::handleNormalNode")


def _e(seconds: float, host: str, fields: list[tuple[str, str]], style=TRAFFIC_SERVER, level: str = "INFO",
       module: str | None = "network.http.trafficserver", block: str | None = None) -> str:
    return ExpresswayLine.build(T0 + dt.timedelta(seconds=seconds), host, style, level, fields, module=module,
                                pid=16087, utc_offset=MDT, block_tag="HTTPMSG" if block else None, block=block).render()


def _receive(seconds: float, txn: str, path: str) -> str:
    return _e(seconds, "expe01", [("Detail", "Receive Request"), ("Txn-id", txn), ("Src-ip", "81.1.1.1"),
                                  ("Src-port", "5000"), ("Msg", f"GET https:///Zm9v/{path} HTTP/1.1")])


def _error(seconds: float, txn: str, status: str, reason: str, host: str = "expe01") -> str:
    return _e(seconds, host, [("Event", "Sending HTTP error response"), ("Txn-id", txn), ("Dst-ip", "81.1.1.1"),
                              ("Dst-port", "5000"), ("Status", status), ("Reason", reason)])


CASES = {
    "srv-target-mismatch": [
        _receive(0, "2004", "get_edge_config"),
        _e(0.01, "expc01", [("Detail", "XAuth Cookie expiration time is invalid"), ("Username", "jdoe")],
           style=EDGECONFIG_EVENT, module=None),
        _error(0.02, "2004", "401", "Unauthorized")],
    "imp-realm-stale": [
        _e(0, "expc01", [("ThreadID", "1"), ("CodeLocation", "sdns.c:10"),
                         ("Detail", "Failed to query auth component for SASL mechanisms")], style=XCP_JABBERD,
           module="Jabber", level="ERROR")],
    "xmpp-bind-conflict": [
        CsfLine.build(T0, "ERROR", 0x6C8, POINT, "@XmppSDK: #0, Recv:<iq type='error' id='bind_1'><error code='409' "
                      "type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>").render()],
    "ssh-tunnel-down": [
        _receive(0, "2004", "get_edge_sso"),
        _e(0.001, "expe01", [("Detail", "Sending Request"), ("Txn-id", "2004"), ("TrackingID", "abc")],
           level="DEBUG", block="GET http://expc01:8443/Zm9v/get_edge_sso HTTP/1.1"),
        _error(0.5, "2004", "502", "Next Hop Connection Failed")],
    "no-home-cluster": [
        _receive(0, "2004", "localauthentication"),
        _e(0.01, "expc01", [("Action", "Received"), ("Request-url", "https://cucm:8443/cucm-uds/clusterUser")],
           style=EDGECONFIG, level="DEBUG", module="network.http.edgeconfigprovisioning",
           block='HTTP/1.1 200 OK\n<clusterUser version="14.0.1"><result found="true"/><homeCluster/></clusterUser>'),
        _error(0.02, "2004", "401", "Unauthorized")],
    "untrusted-ca-c-cucm": [
        _e(0, "expc01", [("Action", "Failed"), ("Url", "https://cucm:8443/cucm-uds/clusterUser"),
                         ("Detail", "SSL: tlsv1 alert unknown ca")], style=EDGECONFIG, level="ERROR",
           module="network.http.edgeconfigprovisioning")],
}

@pytest.mark.parametrize("name", sorted(CASES))
def test_facts_signature_is_the_root_cause(tmp_path: Path, name: str) -> None:
    log = tmp_path / "case.log"
    log.write_text("\n".join(CASES[name]) + "\n", encoding="utf-8")
    report = analyze([log])
    assert report.root_cause is not None and report.root_cause.id == name, [f.id for f in report.findings]

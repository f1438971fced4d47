"""The Unified Communications traversal zone on 7001, dialled by Expressway-C (issue 11): Digest-authenticated
OPTIONS, Active/Failed with the reason, and the two field failures of the zone itself."""

from __future__ import annotations

import dataclasses

from common.config import Lab
from lab.running import start_lab


async def test_zone_comes_up_with_digest_authenticated_options(lab: Lab) -> None:
    running = await start_lab(lab)
    try:
        assert await running.core.sip.wait_status("Active")
        assert running.edge.sip.zone.status == "Active"
        e_log = running.log_text("expressway-e")
        assert 'WWW-Authenticate: Digest realm="TraversalZone"' in e_log
        assert f'Authorization: Digest username="{lab.core.traversal_username}", realm="TraversalZone"' in e_log
        assert lab.core.traversal_password not in e_log + running.log_text("expressway-c")
        assert 'Event="Zone Active" Zone="UC Traversal"' in running.log_text("expressway-c")
    finally:
        await running.stop()


async def test_wrong_zone_password_leaves_the_zone_failed_and_the_options_challenged(lab: Lab) -> None:
    lab = dataclasses.replace(lab, edge=dataclasses.replace(lab.edge, traversal_password="Old!Zone41"))
    running = await start_lab(lab)
    try:
        await running.core.sip.wait_status_reason("Authentication failure")
        assert running.core.sip.zone.status == "Failed"
        assert running.edge.sip.zone.link is None
        assert 'Event="Authentication Failed" Service="SIP" Zone="UC Traversal"' in running.log_text("expressway-e")
        assert "SIP/2.0 401 Unauthorized" in running.log_text("expressway-c")
    finally:
        await running.stop()


async def test_peer_address_as_ip_fails_tls_against_the_fqdn_certificate(lab: Lab) -> None:
    lab = dataclasses.replace(lab, sip=dataclasses.replace(lab.sip, zone_peer_address="127.0.0.1"))
    running = await start_lab(lab)
    try:
        await running.core.sip.wait_status_reason("IP address mismatch")
        assert running.core.sip.zone.status == "Failed"
        assert running.edge.sip.zone.link is None
    finally:
        await running.stop()


async def test_e_holds_no_sip_connection_of_its_own_when_c_is_stopped(lab: Lab) -> None:
    running = await start_lab(lab)
    try:
        await running.core.sip.wait_status("Active")
        await running.nodes.pop("expressway-c").stop()
        for server in running.edge.sip.servers:
            assert not server.links or all(link.writer.is_closing() for link in server.links)
    finally:
        await running.stop()

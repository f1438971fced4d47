"""A real browser signs in through the IdP: headless Chromium from the authorize URL, through the IdP's page, to
Expressway-E's ``/OAuthcb#code=…`` — the embedded browser's part of Jabber's SSO login (docs/sso.md)."""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode, urlsplit

import pytest

from common.basic import basic_header
from common.domain import encode_segment
from common.hop import HopClient
from lab.running import RunningLab
from tests.chain.chromium import Chromium, chromium

pytestmark = pytest.mark.skipif(chromium() is None and "CI" not in os.environ,
                                reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run does)")


async def test_headless_chromium_signs_in_at_the_idp_and_lands_on_oauthcb_with_a_code(sso: RunningLab) -> None:
    lab = sso.lab
    assert lab.idp is not None
    hosts = {f"{lab.edge.listener.host}:{lab.edge.listener.port}": f"127.0.0.1:{sso.edge_port}",
             f"{lab.idp.listener.host}:{lab.idp.listener.port}": f"127.0.0.1:{sso.nodes['idp'].running.port}"}
    query = urlencode([("response_type", "code"), ("client_id", lab.jabber.client_id),
                       ("device_id", lab.jabber.device_id), ("email", f"aokanlawon@{lab.domain}"),
                       ("state", "31337")])
    authorize = f"{lab.edge.listener.origin}/{encode_segment(lab.domain)}/authorize?{query}"
    tls = sso.resolver.tls
    async with Chromium(hosts, [i.cert_pem for i in tls.issued.values()] if tls else ()) as browser:
        await browser.send("Page.navigate", url=authorize)
        await browser.wait_for("!!document.getElementById('idpLogin')")
        # the IdP's page over HTTPS, its lab-PKI certificate trusted as the enterprise CA's would be (443 is implied)
        assert await browser.evaluate("location.origin") == lab.idp.listener.origin.removesuffix(":443")
        assert lab.idp.listener.scheme == "https"
        assert "Lab Identity Provider" in await browser.evaluate("document.body.innerText")
        await browser.evaluate(
            f"document.querySelector('[name=j_username]').value = {json.dumps('aokanlawon')};"
            f"document.querySelector('[name=j_password]').value = {json.dumps('Cisco!123')};"
            "document.querySelector('[name=_eventId_proceed]').click(); true")
        landed = await browser.wait_for("location.href.includes('/OAuthcb#code=') && location.href")
        assert await browser.wait_for("document.body.innerText.includes('Authorization Complete') && true")
    url = urlsplit(landed)
    assert url.netloc == f"{lab.edge.listener.host}:{lab.edge.listener.port}" and url.path == "/OAuthcb"
    fragment = dict(part.split("=", 1) for part in url.fragment.split("&"))
    assert fragment["state"] == "31337" and fragment["code"]
    assert 'Detail="SAML response accepted"' in sso.log_text("expressway-c")
    assert "Login by 'aokanlawon' succeeded" in sso.log_text("idp")
    client = lab.client(lab.jabber.client_id)
    assert client is not None
    async with HopClient(sso.resolver, name="jabber") as hop:  # the code is real: Jabber trades it for tokens
        tokens = await hop.request("POST", f"{lab.edge.listener.origin}/{encode_segment(lab.domain)}/access_token",
                                   headers={"Authorization": basic_header(client.client_id, client.client_secret),
                                            "Content-Type": "application/x-www-form-urlencoded"},
                                   data=urlencode([("grant_type", "authorization_code"), ("code", fragment["code"]),
                                                   ("client_id", client.client_id)]))
    assert tokens.status == 200 and tokens.json()["refresh_token"]

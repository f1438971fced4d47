"""SAML SSO over the edge, every node on loopback: Jabber's browser → E → C → the IdP → back through E → C → CUCM.

And the SAML bad-input set through the real edge: each refusal is a 401 "Authentication Failed" page from
Expressway-C with the reason in its log, never a 500; the IdP's login form refuses bad input with its own pages.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest

from common.config import load_lab
from common.edgexml import SSOResult
from common.hop import HopClient
from common.logformats.expressway import parse_log
from common.logformats.log4j import parse_log as parse_log4j
from common.logformats.shibboleth import parse_log as parse_idp
from lab.processrun import LogFileRecords
from lab.runner import internal_calls, run_login, unanswered_from
from lab.running import RunningLab, start_lab


def form_of(body: bytes) -> tuple[str, dict[str, str]]:
    form = lxml.html.fromstring(body).forms[0]
    return form.action or "", {k: v or "" for k, v in form.fields.items()}


class Browser:
    """The browser steps by hand, so a test can keep and replay what the IdP posted."""

    def __init__(self, running: RunningLab, hop: HopClient) -> None:
        self.running, self.hop = running, hop
        lab = running.lab
        self.edge = f"{lab.edge.listener.origin}/bGFiLmV4YW1wbGU"
        self.query = (f"response_type=code&client_id={lab.jabber.client_id}&device_id=d&"
                      f"email={lab.jabber.userid}@{lab.domain}&state=42")

    async def idp_page(self) -> str:
        answer = await self.hop.request("GET", f"{self.edge}/authorize?{self.query}")
        assert answer.status == 302, answer.text()
        return answer.headers["Location"]

    async def saml_post(self, password: str = "Cisco!123") -> tuple[str, dict[str, str]]:
        idp_url = await self.idp_page()
        page = await self.hop.request("GET", idp_url)
        action, fields = form_of(page.body)
        fields.update(j_username="aokanlawon", j_password=password)
        answer = await self.hop.request("POST", urljoin(idp_url, action), data=fields)
        assert answer.status == 200
        return form_of(answer.body)

    async def post_acs(self, acs: str, fields: dict[str, str]):
        return await self.hop.request("POST", acs, data=fields)


@pytest.fixture
async def browser(sso: RunningLab) -> AsyncIterator[Browser]:
    async with HopClient(sso.resolver, name="browser") as hop:
        yield Browser(sso, hop)


async def test_sso_login_signs_in_at_the_idp_and_gets_cucm_tokens(sso: RunningLab, tmp_path: Path) -> None:
    outcome, entries = await run_login(sso)
    assert outcome.ok, outcome.reason
    assert outcome.path == "sso" and outcome.refresh_token
    numbered = [e.name for e in entries if e.number is not None]
    assert numbered[:10] == ["get_edge_sso", "authorize", "idp_sso", "idp_login", "samlauthz", "edgeconfigprovision",
                             "authorize_proxy", "OAuthcb", "access_token", "OAuthvalidator"]
    assert [e.hop for e in entries if e.name.startswith("idp_")] == ["Jabber → IdP", "Jabber → IdP"]
    assert outcome.devices == ("CSFAOKANLAWON", "TCTAOKANLAWON")
    # 'mrasim run --processes' reads C's hops from C's log file, which C's process may not have flushed whole yet:
    # a call whose answer is not written is read again next time, not lost and not counted twice.
    records = list(sso.sinks["expressway-c"].records)
    send = next(i for i, r in enumerate(records) if 'Action="Send"' in r and "authorize_proxy" in r)
    log = tmp_path / "expressway-c.log"
    log.write_text("\n".join(records[:send + 1]) + "\n")
    early = LogFileRecords(log).records
    assert len(early) == send + 1 and unanswered_from(early) == send
    log.write_text("\n".join(records) + "\n")
    assert [name for name, *_ in internal_calls(LogFileRecords(log).records[send:])][0] == "authorize_proxy"
    assert unanswered_from(records) == len(records)


async def test_get_edge_sso_says_sso_enabled_and_every_hop_logs_its_saml_step(sso: RunningLab,
                                                                             browser: Browser) -> None:
    answer = await browser.hop.request("GET", f"{browser.edge}/get_edge_sso?email=aokanlawon@lab.example")
    assert SSOResult.from_xml(answer.body) == SSOResult(True, True)
    outcome, _ = await run_login(sso)
    assert outcome.ok
    idp = parse_idp(sso.log_text("idp"))
    assert any("Login by 'aokanlawon' succeeded" in line.message for line in idp)
    assert any("released [uid, mail]" in line.message and "encrypted for" in line.message for line in idp)
    details = [line.get("Detail") for line in parse_log(sso.log_text("expressway-c"))]
    assert {"IdP metadata imported", "SAML request sent to IdP", "SAML response accepted",
            "Successful authorization"} <= set(details)
    cucm = parse_log4j(sso.log_text("cucm:cluster1"))
    assert any(line.category == "saml.SPACSUtils" and "samlSingleSignOn" in line.message for line in cucm)
    jabber = sso.log_text("jabber")
    assert "SSO enabled for 1001" in jabber and "OnBeforeNavigate" in jabber


async def test_no_password_or_assertion_reaches_any_log(sso: RunningLab, browser: Browser) -> None:
    acs, fields = await browser.saml_post()
    assert (await browser.post_acs(acs, fields)).status == 302
    outcome, _ = await run_login(sso)
    assert outcome.ok
    for name in sso.sinks:
        text = sso.log_text(name)
        assert "Cisco!123" not in text, name
        assert fields["SAMLResponse"][:40] not in text, name


async def test_a_replayed_saml_response_is_refused(sso: RunningLab, browser: Browser) -> None:
    acs, fields = await browser.saml_post()
    assert (await browser.post_acs(acs, fields)).status == 302
    again = await browser.post_acs(acs, fields)
    assert again.status == 401 and b"Authentication Failed" in again.body
    assert "Replay detected of message" in sso.log_text("expressway-c")


BAD_RESPONSES = {
    "not base64": ("!!!", "SAMLResponse is not base64"),
    "not XML": (base64.b64encode(b"<samlp:Response").decode(), "Error decoding incoming SAML message"),
    "XXE": (base64.b64encode(b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>').decode(),
            "DOCTYPE is disallowed"),
    "empty": ("", "no SAMLResponse parameter"),
}


@pytest.mark.parametrize("case", BAD_RESPONSES)
async def test_bad_saml_responses_through_the_edge_are_refused_and_logged(case: str, sso: RunningLab,
                                                                          browser: Browser) -> None:
    value, reason = BAD_RESPONSES[case]
    acs, fields = await browser.saml_post()
    answer = await browser.post_acs(acs, {**fields, "SAMLResponse": value})
    assert answer.status == 401 and answer.headers["Server"] == "CE_C ECS"
    refused = [line for line in parse_log(sso.log_text("expressway-c"))
               if line.get("Detail") == "SAML response refused"]
    assert refused and reason in (refused[-1].get("Reason") or "")
    assert "root:" not in sso.log_text("expressway-c")


async def test_an_unreadable_form_at_the_acs_is_refused_not_a_500(sso: RunningLab, browser: Browser) -> None:
    acs, _ = await browser.saml_post()
    answer = await browser.hop.request("POST", acs, data=b"SAMLResponse=\xff\xfe&RelayState=%ff",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 401
    assert 'Detail="SAML response refused"' in sso.log_text("expressway-c")


async def test_a_response_for_another_relay_state_is_refused(sso: RunningLab, browser: Browser) -> None:
    acs, fields = await browser.saml_post()
    answer = await browser.post_acs(acs, {**fields, "RelayState": "forged"})
    assert answer.status == 401
    assert "InResponseToField of the Response doesn't correspond" in sso.log_text("expressway-c")


async def test_the_idp_login_form_refuses_bad_input_without_a_500(sso: RunningLab, browser: Browser) -> None:
    idp_url = await browser.idp_page()
    page = await browser.hop.request("GET", idp_url)
    action, fields = form_of(page.body)
    target = urljoin(idp_url, action)
    wrong = await browser.hop.request("POST", target, data={**fields, "j_username": "aokanlawon",
                                                             "j_password": "Wrong!Pass9"})
    assert wrong.status == 200 and b"incorrect" in wrong.body
    page = await browser.hop.request("GET", await browser.idp_page())  # the password typed as the username
    _, fields = form_of(page.body)
    typo = await browser.hop.request("POST", target, data={**fields, "j_username": "S3cr3tTypedAsName9",
                                                            "j_password": ""})
    assert typo.status == 200 and b"incorrect" in typo.body
    stale = await browser.hop.request("POST", target, data={"execution": "e0s1", "j_username": "x", "j_password": "y"})
    assert stale.status == 400 and b"Stale Request" in stale.body
    garbage = await browser.hop.request("POST", target, data=b"\xff\xfe%%%&&&=",
                                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert garbage.status == 400
    no_request = await browser.hop.request("GET", idp_url.split("?")[0])
    assert no_request.status == 400
    bad_request = await browser.hop.request("GET", idp_url.split("?")[0] + "?SAMLRequest=%%%")
    assert bad_request.status == 400
    text = sso.log_text("idp")
    assert "Login by 'aokanlawon' failed" in text and "Wrong!Pass9" not in text
    assert "Login by '<CONCEALED>' failed" in text and "S3cr3tTypedAsName9" not in text
    assert all(line.level in ("INFO", "WARN", "ERROR") for line in parse_idp(text))


async def test_an_authn_request_signed_with_another_key_is_refused_by_the_idp(sso: RunningLab,
                                                                            browser: Browser) -> None:
    idp_url = await browser.idp_page()
    tampered = re.sub(r"Signature=[^&]+", "Signature=" + "A" * 344, idp_url)
    answer = await browser.hop.request("GET", tampered)
    assert answer.status == 400
    assert "Validation of request simple signature failed" in sso.log_text("idp")


@pytest.mark.parametrize(("cluster_sso", "offered"), [(True, True), (False, False)])
async def test_with_internal_auth_check_sso_is_offered_only_if_the_home_cluster_has_it(
        cluster_sso: bool, offered: bool, saml_keys: Path, tmp_path: Path) -> None:
    lab = load_lab().with_sso().with_ephemeral_ports()
    lab = dataclasses.replace(lab, core=dataclasses.replace(lab.core, internal_auth_check=True),
                              clusters=tuple(dataclasses.replace(c, sso=cluster_sso) for c in lab.clusters))
    shutil.copytree(saml_keys, tmp_path / "state")
    running = await start_lab(lab, state_dir=tmp_path / "state")
    try:
        async with HopClient(running.resolver, name="jabber") as hop:
            answer = await hop.request("GET", f"{lab.edge.listener.origin}/bGFiLmV4YW1wbGU/get_edge_sso?"
                                              "email=aokanlawon@lab.example")
        assert SSOResult.from_xml(answer.body) == SSOResult(offered, True)
    finally:
        await running.stop()


async def test_the_idp_serves_https_with_its_lab_pki_certificate_and_logs_a_refused_handshake(
        sso: RunningLab) -> None:
    """The IdP is HTTPS like AD FS or Okta: its certificate names its FQDN and chains to the lab CA; a client that does
    not trust that CA breaks the handshake, and the IdP's log says so."""
    import asyncio
    import ssl

    from cryptography import x509

    idp = sso.lab.idp
    assert idp is not None and idp.listener.scheme == "https" and sso.resolver.tls is not None
    port = sso.nodes["idp"].running.port
    trusting = ssl.create_default_context(cadata=sso.resolver.tls.ca_pem.decode())
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=trusting, server_hostname=idp.listener.host)
    cert = x509.load_der_x509_certificate(writer.get_extra_info("ssl_object").getpeercert(binary_form=True))
    writer.close()
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [idp.listener.host]
    stranger = ssl.create_default_context()  # the system's CAs only: the lab CA is not among them
    stranger.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection("127.0.0.1", port, ssl=stranger, server_hostname=idp.listener.host)
    await sso.settle()
    refused = [line for line in parse_idp(sso.log_text("idp")) if "SSL handshake failed" in line.message]
    assert refused and refused[0].logger == "org.eclipse.jetty.io.ssl.SslConnection"

"""Issue 14: the analyzer reads the IdP's log — the lab's ``idp-process.log`` and the AD FS / Okta / PingFederate
text engineers paste — and names an SSO cause from it first."""

from __future__ import annotations

from pathlib import Path

from analyzer.diagnose import analyze
from analyzer.ingest import load
from analyzer.model import IDP
from analyzer.tolerant import place

IDP_LOG = (
    "2026-12-01 10:16:31,343 - 127.0.0.1 - INFO [net.shibboleth.idp.admin.impl.ReloadMetadata:102] - Relying party "
    "'https://expc.lab.example:8443/bGFiLmV4YW1wbGU/saml/sp' metadata loaded, ACS "
    "https://expe.lab.example:8443/bGFiLmV4YW1wbGU/samlauthz\n"
    "2026-12-01 10:16:32,101 - 127.0.0.1 - ERROR [org.opensaml.saml.saml2.binding.security.impl."
    "SAML2HTTPRedirectDeflateSignatureSecurityHandler:169] - Message Handler:  Validation of request simple signature "
    "failed for context issuer 'https://expc.lab.example:8443/bGFiLmV4YW1wbGU/saml/sp'\n"
)


def test_the_idps_process_log_is_read_strictly_as_idp_records(tmp_path: Path) -> None:
    (tmp_path / "idp.log").write_text(IDP_LOG)
    corpus = load([tmp_path])
    assert [e.node for e in corpus.events] == [IDP, IDP] and not corpus.problems
    assert {e.fmt for e in corpus.events} == {"idp"} and corpus.events[1].level == "ERROR"
    assert corpus.events[1].get("logger").endswith("SAML2HTTPRedirectDeflateSignatureSecurityHandler")


def test_the_idps_refusal_of_cs_signature_names_the_renewed_sp_certificate_first(tmp_path: Path) -> None:
    (tmp_path / "idp-process.log").write_text(IDP_LOG)
    report = analyze([tmp_path])
    assert report.root_cause is not None and report.root_cause.id == "sso-sp-certificate-renewed"


def test_pasted_identity_provider_text_is_placed_at_the_idp() -> None:
    assert place("Microsoft.IdentityServer.Web.InvalidScopeException: MSIS7007: The requested relying party trust "
                 "'https://x/' is unspecified or unsupported.") == IDP
    assert place("ID4037: The key needed to verify the signature could not be resolved") == IDP
    assert place("PingFederate: Signature validation failed for the AuthnRequest") == IDP
    assert place("ERROR [0x00001234] [csf.httpclient] something failed") != IDP

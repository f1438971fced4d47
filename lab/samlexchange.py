"""The SAML metadata exchange an administrator does once when setting up SSO over the edge.

Cisco's MRA deployment guide: import the IdP's metadata on Expressway-C, export C's SAML metadata and import it on
the IdP (a relying-party trust in AD FS terms). The lab does both over the nodes' lab-only administration endpoints
when it starts, then rolls the IdP's signing certificate over if the lab file says so (``[idp] rollover = true``):
the IdP signs with a certificate C has never seen, as after a renewal nobody re-imported. With
``sp_certificate_renewed = true`` it is C's certificate that changes after the IdP took its metadata.

On the real products metadata travels as files the administrator exports and uploads, so no product checks the IdP's
HTTPS certificate in this exchange: the administrator's client here encrypts and checks nothing (a lab whose IdP
certificate is staged untrusted still gets its metadata exchanged; only the browser then refuses the IdP).
"""

from __future__ import annotations

from common.basic import basic_header
from common.config import Lab
from common.hop import HopClient
from common.resolver import LabResolver


class ExchangeError(RuntimeError):
    """A step of the exchange was refused; the message names it."""


async def exchange_metadata(lab: Lab, resolver: LabResolver) -> None:
    idp = lab.idp
    if idp is None:
        return
    core_auth = {"Authorization": basic_header(lab.core.admin_user, lab.core.admin_password)}
    idp_auth = {"Authorization": basic_header(idp.admin_user, idp.admin_password)}
    async with HopClient(resolver, name="administrator", verify=False) as hop:
        sp = await hop.request("GET", f"{lab.core.listener.origin}/mrasim/saml/metadata", headers=core_auth)
        _ok(sp.status, "export Expressway-C's SAML metadata", sp.text())
        answer = await hop.request("POST", f"{idp.listener.origin}/mrasim/metadata", headers=idp_auth, data=sp.body)
        _ok(answer.status, "import it on the IdP", answer.text())
        metadata = await hop.request("GET", f"{idp.listener.origin}/idp/shibboleth")
        _ok(metadata.status, "download the IdP's metadata", metadata.text())
        answer = await hop.request("POST", f"{lab.core.listener.origin}/mrasim/saml/idp", headers=core_auth,
                                   data=metadata.body)
        _ok(answer.status, "import it on Expressway-C", answer.text())
        if idp.sp_certificate_renewed:
            answer = await hop.request("POST", f"{lab.core.listener.origin}/mrasim/saml/renew", headers=core_auth)
            _ok(answer.status, "renew Expressway-C's SAML certificate", answer.text())
        if idp.rollover:
            answer = await hop.request("POST", f"{idp.listener.origin}/mrasim/rollover", headers=idp_auth)
            _ok(answer.status, "roll the IdP's signing certificate over", answer.text())


def _ok(status: int, step: str, text: str) -> None:
    if status != 200:
        raise ExchangeError(f"SAML metadata exchange: cannot {step}: HTTP {status} {text.strip()[:200]}")

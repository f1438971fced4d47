"""SAML SSO over the edge on Expressway-C: C is the service provider, E carries the browser both ways.

Cisco's *Mobile and Remote Access Through Cisco Expressway Deployment Guide* ("Single Sign-On (SSO) over the
Collaboration Edge"): the administrator imports the IdP's metadata on Expressway-C (*Configuration > Unified
Communications > Identity providers (IdP)*) and exports C's SAML metadata (*Export SAML data*) to the IdP; the IdP
redirects the client "back to the Expressway-E with a signed assertion", and the Expressway pair passes the request
inside. With "Authorize by OAuth token with refresh", the lab then asks the user's home CUCM for the authorization
code, as after a password login (modelled; docs/sso.md says what is modelled and why):

1. ``GET /<b64 domain>/authorize`` (relayed by E): C signs an ``AuthnRequest`` and answers ``302`` to the IdP's
   ``SingleSignOnService`` (HTTP-Redirect binding), keeping the OAuth parameters under the ``RelayState``.
2. ``POST /<b64 domain>/samlauthz`` (the ACS in C's SP metadata, on E's public address; relayed by E): C checks the
   ``Response`` (:mod:`core.samlcheck`) and, for the ``uid`` it asserts, gets a code from CUCM's ``authorize_proxy``
   with ``X-Saml-User``; the browser is sent to ``/OAuthcb#code=…``.

Lab-only administration *(modelled)*: ``GET /mrasim/saml/metadata`` exports C's SP metadata, ``POST
/mrasim/saml/idp`` imports the IdP's, ``POST /mrasim/saml/renew`` renews C's SAML certificate, all with the
Expressway administrator's credentials. C's signing identity
and the imported metadata live in C's state directory, so they survive a restart.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from common.domain import encode_segment
from common.logformats.expressway import EDGECONFIG_EVENT
from common.oauthparams import AuthorizeRequest, ParamError, parse_form
from common.saml import AuthnRequest, Identity, Metadata, SamlError, new_id, now_text, redirect_query
from core.access import SERVER
from core.admin import admin_refusal
from core.oauth import failure_page, issue_code, sso_event
from core.samlcheck import Asserted, Expected, check_response
from core.state import CORE_STATE, CoreState

ACS_OPERATION = "samlauthz"
PENDING_LIFETIME = 600
IDP_FILE = "idp-metadata.xml"


@dataclass(frozen=True)
class PendingLogin:
    request_id: str
    oauth: AuthorizeRequest
    created: float


@dataclass
class ServiceProvider:
    """C's SP: its identity and metadata, the IdP it trusts, the logins under way, the assertions already used."""

    identity: Identity
    entity_id: str
    acs_url: str
    state_dir: Path | None
    idp: Metadata | None = None
    pending: dict[str, PendingLogin] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)

    @classmethod
    def start(cls, state: CoreState, state_dir: Path | None) -> ServiceProvider:
        lab = state.lab
        segment = encode_segment(lab.domain)
        sp = cls(Identity.load_or_generate(state_dir, "sp-signing", state.config.listener.host,
                                           state.clock.timestamp()),
                 f"{state.config.listener.origin}/{segment}/saml/sp", f"{lab.edge.listener.origin}/{segment}/"
                                                                     f"{ACS_OPERATION}", state_dir)
        if state_dir is not None and (state_dir / IDP_FILE).exists():
            sp.idp = Metadata.from_xml((state_dir / IDP_FILE).read_bytes())
        return sp

    @property
    def metadata(self) -> Metadata:
        return Metadata(self.entity_id, "sp", self.acs_url, self.identity.cert_pem, self.identity.cert_pem)

    def import_idp(self, metadata: Metadata) -> None:
        self.idp = metadata
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            (self.state_dir / IDP_FILE).write_bytes(metadata.to_xml())

    def forget_old(self, now: float) -> None:
        self.pending = {k: p for k, p in self.pending.items() if now - p.created < PENDING_LIFETIME}
        self.seen = {k: until for k, until in self.seen.items() if until > now - 120}


SERVICE_PROVIDER = web.AppKey("service_provider", ServiceProvider)


def _event(request: web.Request, state: CoreState, detail: str, user: str = "", **extra: str) -> None:
    sso_event(request, state, "Edge SSO", detail, user, **extra)


async def authorize(request: web.Request) -> web.Response:
    """Step 1: the browser's ``authorize`` becomes a signed ``AuthnRequest`` to the IdP."""
    state, sp = request.app[CORE_STATE], request.app.get(SERVICE_PROVIDER)
    try:
        oauth = AuthorizeRequest.from_pairs(request.query.items())
    except ParamError as exc:
        return web.json_response({"error": exc.error, "error_description": exc.description}, status=exc.status,
                                 headers={"Server": SERVER})
    user = oauth.email.split("@", 1)[0]
    if not state.config.sso or sp is None:
        _event(request, state, "Failed authorization", user, Reason="Single sign-on over the edge is off")
        return failure_page(403, "Single sign-on is not enabled on Expressway-C")
    if sp.idp is None:
        _event(request, state, "Failed authorization", user, Reason="No IdP associated with the domain")
        return failure_page(403, "No identity provider is associated with this domain on Expressway-C")
    now = state.clock.timestamp()
    sp.forget_old(now)
    saml = AuthnRequest(new_id(), sp.entity_id, sp.idp.endpoint, sp.acs_url, now_text(now))
    relay_state = secrets.token_urlsafe(16)
    sp.pending[relay_state] = PendingLogin(saml.id, oauth, now)
    location = f"{sp.idp.endpoint}?{redirect_query(saml, relay_state, sp.identity)}"
    _event(request, state, "SAML request sent to IdP", user, IdP=sp.idp.entity_id, Request=saml.id)
    return web.Response(status=302, headers={"Location": location, "Server": SERVER, "Cache-Control": "no-store"})


async def assertion_consumer(request: web.Request) -> web.Response:
    """Step 2: the IdP's ``Response``, POSTed by the browser through E, checked, then a code from CUCM."""
    state, sp = request.app[CORE_STATE], request.app.get(SERVICE_PROVIDER)
    if sp is None or sp.idp is None or not state.config.sso:
        _event(request, state, "SAML response refused", Reason="Single sign-on over the edge is off")
        return failure_page(403, "Single sign-on is not enabled on Expressway-C")
    now = state.clock.timestamp()
    pending: PendingLogin | None = None
    try:
        try:
            form = dict(parse_form(await request.read()))
        except ParamError as exc:
            raise SamlError(f"Error decoding incoming SAML message: {exc.description}") from None
        pending = sp.pending.pop(form.get("RelayState", ""), None)
        try:
            body = base64.b64decode(form.get("SAMLResponse", ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SamlError(f"Error decoding incoming SAML message: SAMLResponse is not base64: {exc}") from None
        if not body:
            raise SamlError("Error decoding incoming SAML message: no SAMLResponse parameter")
        expected = Expected(sp.idp.entity_id, sp.idp.cert_pem, sp.entity_id, sp.acs_url,
                            pending.request_id if pending else None, now, sp.identity.key_pem)
        asserted = check_response(body, expected, sp.seen)
    except SamlError as exc:
        _event(request, state, "SAML response refused", Reason=str(exc))
        return failure_page(401, f"Authentication Failed: {exc}")
    assert pending is not None  # check_response refuses a Response to no request of ours
    sp.seen[asserted.assertion_id] = asserted.not_on_or_after
    _accepted(request, state, sp, asserted)
    return await issue_code(request, state, asserted.uid, pending.oauth, {"X-Saml-User": asserted.uid})


def _accepted(request: web.Request, state: CoreState, sp: ServiceProvider, asserted: Asserted) -> None:
    assert sp.idp is not None
    _event(request, state, "SAML response accepted", asserted.uid, IdP=sp.idp.entity_id,
           Assertion=asserted.assertion_id)


def _admin_refusal(request: web.Request, state: CoreState, sp: ServiceProvider | None) -> web.Response | None:
    """The administrator's SAML pages answer only the administrator, and only where SSO is configured."""
    refused = admin_refusal(request, state)
    if refused is None and sp is None:
        return web.json_response({"error": "SAML SSO is not configured on this Expressway-C"}, status=404)
    return refused


async def export_metadata(request: web.Request) -> web.Response:
    """*Configuration > Unified Communications > Export SAML data*, for the IdP's relying-party trust."""
    state, sp = request.app[CORE_STATE], request.app.get(SERVICE_PROVIDER)
    refused = _admin_refusal(request, state, sp)
    if refused is not None:
        return refused
    assert sp is not None
    return web.Response(body=sp.metadata.to_xml(), content_type="application/samlmetadata+xml")


async def import_idp_metadata(request: web.Request) -> web.Response:
    """*Configuration > Unified Communications > Identity providers (IdP) > Import new IdP from SAML*."""
    state, sp = request.app[CORE_STATE], request.app.get(SERVICE_PROVIDER)
    refused = _admin_refusal(request, state, sp)
    if refused is not None:
        return refused
    assert sp is not None
    try:
        metadata = Metadata.from_xml(await request.read())
        if metadata.role != "idp":
            raise SamlError("expected IdP metadata (IDPSSODescriptor)")
    except SamlError as exc:
        return web.json_response({"error": f"IdP metadata refused: {exc}"}, status=400)
    sp.import_idp(metadata)
    domains = ",".join(state.config.mra_domains)
    state.log.write(EDGECONFIG_EVENT, "INFO", {"Event": "Edge SSO", "Detail": "IdP metadata imported",
                                               "IdP": metadata.entity_id, "Domains": domains})
    return web.json_response({"imported": metadata.entity_id})


async def renew_certificate(request: web.Request) -> web.Response:
    """A new SAML signing certificate for C *(modelled, lab-only)*: until its metadata is exported to the IdP again,
    the IdP refuses C's signed ``AuthnRequest``s."""
    state, sp = request.app[CORE_STATE], request.app.get(SERVICE_PROVIDER)
    refused = _admin_refusal(request, state, sp)
    if refused is not None:
        return refused
    assert sp is not None
    sp.identity = Identity.generate(state.config.listener.host, state.clock.timestamp())
    if sp.state_dir is not None:
        (sp.state_dir / "sp-signing.key").write_bytes(sp.identity.key_pem)
        (sp.state_dir / "sp-signing.pem").write_bytes(sp.identity.cert_pem)
    state.log.write(EDGECONFIG_EVENT, "INFO", {"Event": "Edge SSO", "Detail": "SAML certificate renewed",
                                               "Fingerprint": sp.identity.fingerprint})
    return web.json_response({"fingerprint": sp.identity.fingerprint})

"""The identity provider as a running node: metadata, the HTTP-Redirect SSO endpoint, its login form, its log.

Endpoints (Shibboleth IdP paths, SAML 2.0 Bindings §3.4 and §3.5):

* ``GET /idp/shibboleth`` — the IdP's metadata (its entity ID is this URL), for the administrator to import on
  Expressway-C;
* ``GET /idp/profile/SAML2/Redirect/SSO?SAMLRequest=…&RelayState=…&SigAlg=…&Signature=…`` — an ``AuthnRequest`` from
  a known SP, signed with the key in that SP's metadata, answered with the login form;
* ``POST /idp/profile/SAML2/Redirect/SSO`` — the login form (``j_username``, ``j_password``, ``execution``); on
  success the browser gets the HTTP-POST binding's page carrying the signed ``Response`` to the SP's ACS;
* ``POST /mrasim/metadata`` and ``POST /mrasim/rollover`` — lab-only administration *(modelled)*: import an SP's
  metadata (the relying-party trust), roll the token-signing certificate over.

It listens on HTTPS with its certificate from the lab PKI (``idp server``, :mod:`common.pki`), as AD FS, Okta or
PingFederate do; a browser that refuses that certificate breaks the handshake, and the IdP logs it
(:func:`tls_refused`).

Bad input never costs a 500: an unknown SP, a bad signature, an ACS that is not the SP's, a stale form or a wrong
password each get the IdP's page and one line in ``idp.log``; passwords are never logged.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from common.basic import parse_basic
from common.clock import LabClock
from common.conceal import CONCEALED, conceal_params
from common.config import IdpConfig, Lab
from common.faults import fault_middleware
from common.nodelog import LineSink, ShibbolethLog
from common.oauthparams import ParamError, parse_form
from common.resolver import LabResolver
from common.saml import AuthnRequest, Identity, Metadata, SamlError, fingerprint, read_redirect
from common.serve import Running, quiet_logger, serve
from idp.pages import error_page, login_page, post_page
from idp.response import Release, build_response

SSO_PATH = "/idp/profile/SAML2/Redirect/SSO"
METADATA_PATH = "/idp/shibboleth"
PENDING_LIFETIME = 600
LDAP = "net.shibboleth.idp.authn.impl.ValidateUsernamePasswordAgainstLDAP"
METADATA_LOOKUP = "org.opensaml.saml.common.binding.impl.SAMLMetadataLookupHandler"
SIMPLE_SIGNATURE = "org.opensaml.saml.saml2.binding.security.impl.SAML2HTTPRedirectDeflateSignatureSecurityHandler"
DECODER = "org.opensaml.saml.saml2.binding.decoding.impl.HTTPRedirectDeflateDecoder"
ENDPOINT = "org.opensaml.saml.common.binding.impl.PopulateBindingAndEndpointContexts"
RESPONSE = "net.shibboleth.idp.saml.saml2.profile.impl.AddAttributeStatementToAssertion"
ADMIN = "net.shibboleth.idp.admin.impl.ReloadMetadata"
JETTY_TLS = "org.eclipse.jetty.io.ssl.SslConnection"


@dataclass
class Pending:
    request: AuthnRequest
    relay_state: str
    sp: Metadata
    created: float


@dataclass
class IdpState:
    config: IdpConfig
    clock: LabClock
    log: ShibbolethLog
    identity: Identity
    state_dir: Path | None
    sps: dict[str, Metadata] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)

    @property
    def metadata(self) -> Metadata:
        return Metadata(self.config.entity_id, "idp", f"{self.config.listener.origin}{SSO_PATH}",
                        self.identity.cert_pem)

    def save_sp(self, sp: Metadata) -> None:
        self.sps[sp.entity_id] = sp
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            (self.state_dir / "sp-metadata.xml").write_bytes(sp.to_xml())


IDP_STATE = web.AppKey("idp_state", IdpState)


def _remote(request: web.Request) -> str:
    return request.remote or ""


def _html(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Server": "Jetty(9.4)"})


async def metadata(request: web.Request) -> web.Response:
    state = request.app[IDP_STATE]
    return web.Response(body=state.metadata.to_xml(), content_type="application/samlmetadata+xml")


async def sso_request(request: web.Request) -> web.Response:
    """An ``AuthnRequest`` arriving through the browser: decode, find the SP, check its signature and its ACS."""
    state, remote = request.app[IDP_STATE], _remote(request)
    try:
        message = read_redirect(request.raw_path.partition("?")[2])
    except SamlError as exc:
        state.log.write("WARN", remote, DECODER, 150, f"Message Handler:  {exc}")
        return _html(error_page("The request was not a SAML message this service can read."), 400)
    sp = state.sps.get(message.request.issuer)
    if sp is None:
        state.log.write("WARN", remote, METADATA_LOOKUP, 128,
                        f"Message Handler:  No metadata returned for {conceal_params(message.request.issuer)} in role "
                        "{urn:oasis:names:tc:SAML:2.0:metadata}SPSSODescriptor with protocol "
                        "urn:oasis:names:tc:SAML:2.0:protocol")
        return _html(error_page("The service you are trying to reach is not known to this login service."), 400)
    if not message.verify(sp.cert_pem):
        state.log.write("ERROR", remote, SIMPLE_SIGNATURE, 169,
                        f"Message Handler:  Validation of request simple signature failed for context issuer "
                        f"'{sp.entity_id}'")
        return _html(error_page("The request was not signed with the key this login service holds for the "
                                "service (metadata out of date?)."), 400)
    if message.request.acs_url != sp.endpoint:
        state.log.write("WARN", remote, ENDPOINT, 393,
                        f"Action PopulateBindingAndEndpointContexts: Unable to resolve outbound message endpoint "
                        f"for relying party '{sp.entity_id}': {conceal_params(message.request.acs_url)} "
                        "is not in its metadata")
        return _html(error_page("The service asked for its answer at an address it has not registered."), 400)
    now = state.clock.timestamp()
    state.pending = {k: p for k, p in state.pending.items() if now - p.created < PENDING_LIFETIME}
    execution = f"e{secrets.token_hex(4)}s1"
    state.pending[execution] = Pending(message.request, message.relay_state, sp, now)
    state.log.write("INFO", remote, DECODER, 97,
                    f"Decoded SAML AuthnRequest {message.request.id} from '{sp.entity_id}', signature valid")
    return _html(login_page(execution, sp.entity_id))


async def login(request: web.Request) -> web.Response:
    """The login form: the user's password checked against the directory, then the signed Response."""
    state, remote = request.app[IDP_STATE], _remote(request)
    try:
        values = dict(parse_form(await request.read()))
    except ParamError as exc:
        state.log.write("WARN", remote, "net.shibboleth.idp.profile.impl.WebFlowMessageHandlerAdaptor", 104,
                        f"Unreadable login form: {exc.description}")
        return _html(error_page("The login form could not be read."), 400)
    pending = state.pending.get(values.get("execution", ""))
    if pending is None:
        state.log.write("WARN", remote, "net.shibboleth.idp.profile.impl.WebFlowMessageHandlerAdaptor", 110,
                        "Stale request: no login conversation for this form")
        return _html(error_page("Stale Request: you may have used the back button or waited too long."), 400)
    username = values.get("j_username", "").strip()
    user = state.config.user(username)
    expected = user.password if user is not None else "\x00no such user\x00"
    if not username or not hmac.compare_digest(expected.encode(), values.get("j_password", "").encode()) \
            or user is None:
        # A name not in the directory is shown concealed: people type their password into the username field.
        shown = username if user is not None else CONCEALED
        state.log.write("INFO", remote, LDAP, 152,
                        f"Profile Action ValidateUsernamePasswordAgainstLDAP: Login by '{shown}' failed")
        return _html(login_page(values.get("execution", ""), pending.sp.entity_id,
                                "The username or password you entered was incorrect.", username))
    del state.pending[values["execution"]]
    state.log.write("INFO", remote, LDAP, 152,
                    f"Profile Action ValidateUsernamePasswordAgainstLDAP: Login by '{username}' succeeded")
    attributes = [("mail", user.mail)]
    uid = {"userid": user.userid, "mail": user.mail, "none": None}[state.config.uid_from]
    if uid is not None:
        attributes.insert(0, ("uid", uid))
    release = Release(pending.request.id, pending.sp.endpoint, pending.sp.entity_id, state.config.entity_id,
                      tuple(attributes), state.clock.timestamp(), state.config.assertion_minutes * 60)
    encrypt_for = pending.sp.encryption_cert_pem if state.config.encrypt_assertions else None
    body = build_response(release, state.identity, encrypt_for)
    names = ", ".join(name for name, _ in attributes)
    sealed = f", encrypted for {fingerprint(encrypt_for)}" if encrypt_for is not None else ""
    state.log.write("INFO", remote, RESPONSE, 210,
                    f"Profile Action AddAttributeStatementToAssertion: released [{names}] of '{username}' to "
                    f"'{pending.sp.entity_id}' in response to {pending.request.id}, "
                    f"signed by {state.identity.fingerprint}{sealed}")
    return _html(post_page(pending.sp.endpoint, base64.b64encode(body).decode(), pending.relay_state))


def _admin(request: web.Request, state: IdpState) -> web.Response | None:
    credentials = parse_basic(request.headers.get("Authorization"))
    expected = f"{state.config.admin_user}:{state.config.admin_password}".encode()
    ok = credentials is not None and hmac.compare_digest(f"{credentials[0]}:{credentials[1]}".encode(), expected)
    return None if ok else web.Response(status=401, text="Unauthorized\n",
                                        headers={"WWW-Authenticate": 'Basic realm="IdP administration"'})


async def import_metadata(request: web.Request) -> web.Response:
    state = request.app[IDP_STATE]
    refused = _admin(request, state)
    if refused is not None:
        return refused
    try:
        sp = Metadata.from_xml(await request.read())
    except SamlError as exc:
        state.log.write("ERROR", _remote(request), ADMIN, 88, f"Metadata import refused: {exc}")
        return web.Response(status=400, text=f"{exc}\n")
    if sp.role != "sp":
        return web.Response(status=400, text="expected SP metadata (SPSSODescriptor)\n")
    state.save_sp(sp)
    state.log.write("INFO", _remote(request), ADMIN, 102,
                    f"Relying party '{sp.entity_id}' metadata loaded, ACS {sp.endpoint}")
    return web.Response(text=f"imported {sp.entity_id}\n")


async def rollover(request: web.Request) -> web.Response:
    """Renew the token-signing certificate: what an IdP does every year or so, while the SPs keep the old one."""
    state = request.app[IDP_STATE]
    refused = _admin(request, state)
    if refused is not None:
        return refused
    old = state.identity.fingerprint
    state.identity = Identity.generate(state.config.listener.host, state.clock.timestamp())
    if state.state_dir is not None:
        (state.state_dir / "idp-signing.key").write_bytes(state.identity.key_pem)
        (state.state_dir / "idp-signing.pem").write_bytes(state.identity.cert_pem)
    state.log.write("INFO", _remote(request), ADMIN, 131,
                    f"Token-signing certificate rolled over: {old} -> {state.identity.fingerprint}")
    return web.Response(text=f"signing certificate {state.identity.fingerprint}\n")


def tls_refused(log: ShibbolethLog) -> Callable[[str, int, str], None]:
    """A failed TLS handshake on the IdP's listener, in the words of Jetty (the Shibboleth IdP's container) and Java's
    JSSE: ``tlsv1 alert unknown ca`` is the browser refusing the IdP's certificate. *Modelled*: Jetty writes this to
    its own log at DEBUG; the lab puts it in ``idp.log`` at WARN so the refusal is seen (docs/sso.md)."""

    def refused(ip: str, port: int, reason: str) -> None:
        log.write("WARN", ip, JETTY_TLS, 1080, f"SSL handshake failed with {ip}:{port}: "
                                                f"javax.net.ssl.SSLHandshakeException: {reason}")

    return refused


@dataclass
class IdpNode:
    name: str
    state: IdpState
    running: Running

    async def stop(self) -> None:
        await self.running.stop()


async def start_idp(lab: Lab, clock: LabClock, resolver: LabResolver, sink: LineSink,
                    state_dir: Path | None = None) -> IdpNode:
    """Start the IdP; its signing key and the SP metadata it trusts live in ``state_dir`` across restarts."""
    config = lab.idp
    assert config is not None
    log = ShibbolethLog(clock, sink, lab.utc_offset, debug=lab.debug)
    identity = Identity.load_or_generate(state_dir, "idp-signing", config.listener.host, clock.timestamp())
    state = IdpState(config, clock, log, identity, state_dir)
    if state_dir is not None and (state_dir / "sp-metadata.xml").exists():
        sp = Metadata.from_xml((state_dir / "sp-metadata.xml").read_bytes())
        state.sps[sp.entity_id] = sp
    app = web.Application(middlewares=[fault_middleware(resolver.faults, "idp")])
    app[IDP_STATE] = state
    app.router.add_get(METADATA_PATH, metadata)
    app.router.add_get(SSO_PATH, sso_request)
    app.router.add_post(SSO_PATH, login)
    app.router.add_post("/mrasim/metadata", import_metadata)
    app.router.add_post("/mrasim/rollover", rollover)
    tls = resolver.tls if config.listener.scheme == "https" else None
    running = await serve(app, config.listener, ssl_context=tls.server_context("idp") if tls else None,
                          on_tls_error=tls_refused(log), logger=quiet_logger("mrasim.idp"))
    resolver.bind(config.listener, running.port)
    return IdpNode("idp", state, running)

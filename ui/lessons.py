"""What step mode says before each hop: why the request exists, what the receiving product checks, what goes wrong
there in the field, and which log line to look for.

The text follows docs/flow.md (whose step numbers are the seed article's ``{1: get_edge_sso}`` … ``{8:
OAuthvalidator}``) and /work/shared/reference/mra-facts.md; each failure named here is a scenario of the catalogue,
so a trainer can move from "what could go wrong" straight to "break it". Step mode pauses before each request
Jabber sends; the calls Expressway-C makes on its behalf (clusterUser, authorize_proxy, C's leg of the token
request, the OAuthvalidator) are described with the request that causes them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Lesson:
    title: str
    purpose: str
    checks: str
    wrong: str
    look_for: str
    scenarios: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


LESSONS: dict[str, Lesson] = {
    "get_edge_sso": Lesson(
        "{1: get_edge_sso} — may this client use OAuth tokens?",
        "Jabber found Expressway-E through the _collab-edge._tls SRV record (published only outside), so it knows it "
        "is outside. It asks, before anything else, whether this edge supports SSO and token reuse for its user.",
        "E checks the base64 domain in the URL is one it serves and relays the request to C. C answers from its own "
        "settings (\"Check for internal authentication availability\" = No): Token reuse=\"true\" when \"Authorize by "
        "OAuth token with refresh\" is On.",
        "Domain not configured for MRA → E answers 403 itself (Server: CE_E). SSH tunnel to C down → 502 Next Hop "
        "Connection Failed. Token reuse=\"false\" sends Jabber down the old credential path.",
        'E: Detail="Receive Request" … get_edge_sso; the SSOResult body with <Token reuse="true"/>.',
        ("domain-not-configured", "ssh-tunnel-down", "oauthlocal-off"),
    ),
    "authorize": Lesson(
        "{2: authorize} — the login page",
        "Jabber opens the OAuth authorization request (RFC 6749 §4.1.1) in its embedded browser: client_id names "
        "Jabber, state is a random number it checks again at step 6.",
        "E answers with its own sign-in page and forwards nothing: the form's hidden fields carry the OAuth "
        "parameters back with the username and password.",
        "A certificate on E without the edge domain in its SAN makes the embedded browser refuse the page.",
        'E: Detail="Sending Response" 200 with Content-Type: text/html, and no TrackingID (nothing went to C).',
    ),
    "localauthentication": Lesson(
        "{3: localauthentication} — the form is submitted",
        "The browser POSTs the username, password and OAuth parameters. E relays them to C with Via, "
        "X-Forwarded-For and a TrackingID; C finds the user's home CUCM (clusterUser, {4}) and asks it for a code "
        "(authorize_proxy, {5}) with the user's credentials in X-Credentials.",
        "C: is the domain and user known? clusterUser → home cluster. CUCM (authorize_proxy): password, user active, "
        "\"Enable Mobile and Remote Access\" in the user profile, client_id registered.",
        "Wrong password → CUCM 401, relayed to Jabber. User not found (found=\"false\") or no home cluster. ILS missing "
        "between clusters. CUCM older than 11.5(1)SU3 has no code grant.",
        'C: Event="Edge OAuth/SSO" Detail="Successful authorization", then "Redirected client" and a 302 to '
        "/OAuthcb#code=…; both logs print the credentials as <CONCEALED>.",
        ("wrong-password-oauth", "user-not-found", "no-home-cluster", "ils-missing-two-clusters",
         "cucm-too-old-for-code-grant", "mra-disabled-in-profile"),
    ),
    "idp_sso": Lesson(
        "idp_sso — the browser goes to the IdP (SAML SSO)",
        "With SSO on, E's answer to authorize is a 302 to the identity provider carrying a SAML AuthnRequest "
        "(HTTP-Redirect binding) that Expressway-C signed as the service provider. Jabber's embedded browser "
        "follows it: the IdP must be reachable from the internet.",
        "The IdP: the AuthnRequest's issuer (C's entity ID) is a known service provider, its signature, its "
        "AssertionConsumerService URL.",
        "IdP unreachable from outside (DNS or firewall). The SP metadata on the IdP is stale after C's certificate "
        "was renewed. SSO off on Expressway sends Jabber to the local login page instead.",
        "Jabber: BrowserController \"url = …/SAML2/Redirect/SSO (IdP)\"; the IdP: \"Decoded SAML AuthnRequest\"; "
        "C: \"SAML request sent to IdP\".",
        ("sso-idp-unreachable", "sso-sp-certificate-renewed", "sso-off-on-expressway"),
    ),
    "idp_login": Lesson(
        "idp_login — the user signs in at the IdP",
        "The user types the credentials into the IdP's page, never into Jabber or the Expressways; the IdP answers "
        "with a form that posts a signed SAMLResponse back to the edge (HTTP-POST binding).",
        "The IdP: the password against its directory; which attributes (uid) it releases to this service provider.",
        "Wrong password (the IdP's page, nothing on the Expressways). uid released as the mail address instead of "
        "the CUCM user ID.",
        'The IdP: "Login by … succeeded", "released [uid, …]"; Jabber: "url = …/samlauthz (SAML response to the '
        'edge)".',
        ("sso-uid-mapped-to-mail",),
    ),
    "samlauthz": Lesson(
        "samlauthz — the SAML response reaches Expressway-C",
        "The browser posts the SAMLResponse to E, which relays it to C. C is the SAML service provider for MRA: it "
        "checks the assertion, then asks the user's home CUCM for an authorization code (authorize_proxy) as in "
        "the local login.",
        "C: the signature against the IdP's metadata, audience, NotBefore/NotOnOrAfter (clocks), the uid; CUCM: "
        "the user exists and the code grant is supported.",
        "IdP signing certificate rolled over, C's metadata stale. Clock skew expires the assertion. The uid is not "
        "a CUCM user. CUCM only supports the implicit grant.",
        'C: "SAML response accepted", then "Successful authorization" and "Redirected client" with the 302 to '
        "/OAuthcb#code=….",
        ("sso-idp-signing-rollover", "sso-assertion-expired-clock-skew", "sso-user-unknown-to-cucm",
         "sso-cucm-implicit-only"),
    ),
    "OAuthcb": Lesson(
        "{6: OAuthcb} — the browser lands on the callback",
        "The 302 sent the browser to /OAuthcb#code=…. The fragment (and so the code) never leaves the client: Jabber "
        "reads it from the browser.",
        "E answers the callback itself (\"Authorization Complete\"); nothing is forwarded.",
        "Little: the code lives 299 s, so a client that waits too long gets invalid_grant at step 7.",
        'E: Detail="Receive Request" GET /OAuthcb and a local 200; Jabber: "Authorization code received".',
    ),
    "access_token": Lesson(
        "{7: access_token} — code in, tokens out",
        "Jabber exchanges the code for an access token (60 min) and a refresh token (60 days) with its client "
        "secret. C forwards the token request to the CUCM that issued the code, then checks the new access token "
        "with its own OAuthvalidator ({8}) before handing it out.",
        "CUCM: the code, client_id and client secret; it signs and encrypts the tokens with the cluster's AuthZ "
        "keys. C's OAuthvalidator: signature and kid against the keys it fetched at \"Refresh servers\".",
        "Keys regenerated on CUCM and C not refreshed → \"Token validation\" fails on C. Keys that differ across "
        "CUCM nodes. Clock skew between E and C.",
        'C: credentialmanager Detail="Access Token accepted" and OAuthinspector Reason="Matched AuthZ key"; CUCM: '
        '"Issuing Refresh Token", "Issuing Access Token".',
        ("keys-regenerated-c-not-refreshed", "authz-keys-differ-across-nodes", "clock-skew-e-c"),
    ),
    "refresh_token": Lesson(
        "refresh — a new access token without the user",
        "Before the access token expires Jabber presents its refresh token with its client secret, so the user never "
        "sees the login page again.",
        "CUCM: \"OAuth with Refresh Login Flow\" enabled, the token not expired, not revoked, issued by a node that "
        "answers.",
        "Refresh disabled on CUCM (its default) while Expressway has it On. Token expired (60 days) or revoked → "
        "full login. Issuing subscriber down.",
        'Jabber: handleRefreshTokenFailure; CUCM: the refreshtokendetails lookup; C: the 4xx it relays.',
        ("refresh-disabled-on-cucm", "refresh-token-expired", "refresh-token-revoked",
         "issuing-subscriber-down-at-refresh"),
    ),
    "get_edge_config": Lesson(
        "get_edge_config — what services, and where",
        "With the Bearer token Jabber asks which services it may use through the edge: UDS, IM&P login, TFTP, and the "
        "SIP, XMPP and HTTP edge servers.",
        "C validates the token locally (OAuthvalidator), finds the home cluster again (clusterUser, servers) and "
        "builds getEdgeConfigResponse.",
        "User without a home cluster → empty userUdsServer (\"XML didn't contain UDS server address\"). SRV target ≠ "
        "E's FQDN. An expired access token replayed → E may block the address.",
        'C: Server: CE_C ECS on the answer; the getEdgeConfigResponse body with userUdsServer.',
        ("no-home-cluster", "srv-target-mismatch", "expired-token-replay-blocked"),
    ),
    "uds_user": Lesson(
        "UDS through the edge — the user",
        "Jabber reads its own user record from its home CUCM through the edge: the URL's first segment is "
        "base64(\"domain/https/cucm host/8443\").",
        "C: the token, and the target host on the HTTP allow list (filled from discovered CUCM/IM&P/Unity nodes).",
        "HTTP allow list missing the host → 403. User ID case differs between CUCM and the token.",
        'C: the OAuthvalidator verdict, then traffic_server "Sending Request" to /cucm-uds/user/<user>.',
        ("http-allow-list-missing", "user-id-case-mismatch"),
    ),
    "uds_devices": Lesson(
        "UDS through the edge — the devices",
        "Jabber lists the devices it may control (its CSF softphone) from its home CUCM, through the edge.",
        "The same as for the user: token, allow list, home cluster.",
        "The same as for the user; a device list without a CSF device leaves Jabber without phone services.",
        'C: "Sending Request" to /cucm-uds/user/<user>/devices and the 200 with <devices>.',
    ),
}

GENERIC = Lesson(
    "the next request",
    "Jabber sends its next request through the edge.",
    "Expressway-E relays it; Expressway-C authorizes it.",
    "Any of the failures of the catalogue.",
    "E's traffic_server Receive Request with the same Txn-id as its answer.",
)


def lesson_for(step: str) -> Lesson:
    return LESSONS.get(step, GENERIC)

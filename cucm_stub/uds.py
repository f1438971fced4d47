"""CUCM's User Data Services (``/cucm-uds``), sans-IO: the resources Expressway-C and Jabber read.

* ``version``, ``servers`` and ``clusterUser?username=`` answer anyone (mra-facts §4). ``clusterUser`` is how
  Expressway-C finds a user's home cluster before ``authorize_proxy`` (§3 step 4); it answers from the ILS-wide view,
  so the ``result`` and ``homeCluster`` URIs point at the *home* cluster even when another cluster is asked.
* ``user/<u>`` and ``user/<u>/devices`` need that user's own Basic credentials, the cluster's AXL application user,
  or an access token (RFC 6750 §2.1) issued to that user. Refusals carry
  ``WWW-Authenticate: Basic realm="Cisco Web Services Realm"``; a user this cluster does not home is 404 to a caller
  who could have read it, 401 to anyone else, so the status never reveals who exists.

Bodies are built as XML trees with lxml and serialised as JAXB does on the real node: the declaration
``<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`` (double quotes, which lxml's own declaration lacks)
followed by the element. Every UDS answer carries ``X-Content-Type-Options: nosniff`` and the ``Expires`` date
Tomcat writes for non-cacheable resources (seed capture of ``clusterUser``).
"""

from __future__ import annotations

from urllib.parse import quote

from lxml import etree

from common.basic import parse_basic
from common.config import ClusterConfig
from common.tokens import AuthzKeys, TokenError, read_access_token
from common.udsxml import XML_HEAD, ClusterUser, Servers
from common.directory import Directory, EndUser
from cucm_stub.platform import ClusterKeys
from cucm_stub.errors import BadRequest, NotFound, Refusal, Unauthorized
from cucm_stub.wire import Clock, ParameterError, Reply, Request, parse_bearer, required_param

USER_RESOURCE = "uds.UserResource"
CLUSTER_USER_RESOURCE = "uds.ClusterUserResource"
UDS_HEADERS = {
    "Content-Type": "application/xml",
    "X-Content-Type-Options": "nosniff",
    "Expires": "Wed, 31 Dec 1969 17:00:00 MST",
}


def uds_version(full_version: str) -> str:
    """``14.0.1.12900-161`` → ``14.0.1``: UDS states the major.minor.maintenance release only."""
    return ".".join(full_version.split("-")[0].split(".")[:3])


def render(root: etree._Element) -> bytes:
    return XML_HEAD + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


class UdsService:
    """One cluster's UDS; ``keys`` verify the access tokens presented as Bearer credentials."""

    def __init__(self, cluster: ClusterConfig, directory: Directory, keys: AuthzKeys | ClusterKeys,
                 clock: Clock, origin: str | None = None) -> None:
        self.cluster = cluster
        self.directory = directory
        self.keys = keys if isinstance(keys, ClusterKeys) else ClusterKeys(keys)
        self.clock = clock
        self.version_text = uds_version(cluster.version)
        self.base = f"{origin or cluster.listener.origin}/cucm-uds"

    def version(self, request: Request) -> Reply:
        root = self._root("versionInformation", f"{self.base}/version")
        etree.SubElement(root, "version").text = self.cluster.version
        return self._ok(root)

    def servers(self, request: Request) -> Reply:
        body = Servers(self.version_text, f"{self.base}/servers", tuple(node.host for node in self.cluster.nodes))
        return Reply(200, UDS_HEADERS, body.to_xml())

    def cluster_user(self, request: Request) -> Reply:
        try:
            userid = required_param(request.query, "username")
        except ParameterError as exc:
            return Reply.refused(BadRequest(str(exc)), CLUSTER_USER_RESOURCE)
        uri = f"{self.base}/clusterUser?username={_q(userid)}"
        user = self.directory.find(userid)
        if user is None:
            return Reply(200, UDS_HEADERS, ClusterUser(self.version_text, uri, found=False).to_xml())
        home = f"{user.home_origin}/cucm-uds"
        body = ClusterUser(self.version_text, uri, True, f"{home}/user/{_q(userid)}", user.home_host, f"{home}/servers")
        return Reply(200, UDS_HEADERS, body.to_xml())

    def user(self, request: Request) -> Reply:
        try:
            user = self._authenticate(request, request.params["userid"])
        except Refusal as refusal:
            return Reply.refused(refusal, USER_RESOURCE)
        root = self._root("user", f"{self.base}/user/{_q(user.userid)}")
        for tag, text in (
            ("id", user.pkid),
            ("userName", user.userid),
            ("firstName", user.first_name),
            ("lastName", user.last_name),
            ("displayName", user.display_name),
            ("email", user.email),
            ("homeCluster", user.home_host),
            ("mraEnabled", "true" if user.mra_enabled else "false"),
        ):
            etree.SubElement(root, tag).text = text
        return self._ok(root)

    def devices(self, request: Request) -> Reply:
        try:
            user = self._authenticate(request, request.params["userid"])
        except Refusal as refusal:
            return Reply.refused(refusal, USER_RESOURCE)
        user_uri = f"{self.base}/user/{_q(user.userid)}"
        root = self._root("devices", f"{user_uri}/devices")
        for device in user.devices:
            node = etree.SubElement(root, "device", uri=f"{user_uri}/device/{device.pkid}")
            for tag, text in (("id", device.pkid), ("name", device.name), ("type", device.type),
                              ("model", device.model), ("description", device.description)):
                etree.SubElement(node, tag).text = text
        return self._ok(root)

    def _authenticate(self, request: Request, userid: str) -> EndUser:
        """The local user ``userid`` if the caller may read it; :class:`Unauthorized` or :class:`NotFound` if not."""
        header = request.header("authorization") or ""
        user = self.directory.local_user(userid)
        if header.strip().lower().startswith("bearer"):
            self._check_bearer(header, userid)
            if user is None:
                raise NotFound("Not Found", f"user {userid} not found")
            if not user.mra_enabled:
                raise Unauthorized("Unauthorized", f"Mobile and Remote Access is not enabled for user {userid}")
            return user
        credentials = parse_basic(header)
        if credentials is None:
            raise Unauthorized("Unauthorized", f"no valid credentials for user {userid}")
        name, password = credentials
        if self.directory.check_app_user(name, password):
            if user is None:
                raise NotFound("Not Found", f"user {userid} not found")
            return user
        if name == userid and user is not None and self.directory.check_end_user(name, password) is not None:
            return user
        raise Unauthorized("Unauthorized", f"credentials of {name} not accepted for user {userid}")

    def _check_bearer(self, header: str, userid: str) -> None:
        token = parse_bearer(header)
        if token is None:
            raise Unauthorized("Unauthorized", "malformed Bearer credentials")
        try:
            claims = read_access_token(token, self.keys.ring, self.clock.timestamp())
        except TokenError as exc:
            raise Unauthorized("Unauthorized", f"access token refused: {exc.reason}") from None
        if claims.get("sub") != userid:
            raise Unauthorized("Unauthorized", f"access token of user {claims.get('sub')} presented for {userid}")

    def _root(self, tag: str, uri: str) -> etree._Element:
        return etree.Element(tag, version=self.version_text, uri=uri)

    @staticmethod
    def _ok(root: etree._Element) -> Reply:
        return Reply(200, UDS_HEADERS, render(root))


def _q(text: str) -> str:
    return quote(text, safe="@")

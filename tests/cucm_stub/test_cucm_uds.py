"""UDS resources as Expressway-C and Jabber read them, and who may read the user resources."""

from __future__ import annotations

import pytest
from lxml import etree

from common.clock import LabClock
from common.tokens import AuthzKeys, access_claims, issue_access_token, issue_refresh_token, refresh_claims
from cucm_calls import basic
from common.directory import device_pkid, user_pkid
from cucm_stub.uds import UdsService, uds_version
from cucm_stub.wire import Reply, Request

DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
ORIGIN = "http://cucm.lab.example:8443"
ADMIN = ("axladmin", "Axl!Pass123")


def get(path: str, userid: str = "", authorization: str | None = None,
        query: tuple[tuple[str, str], ...] = ()) -> Request:
    headers = {} if authorization is None else {"authorization": authorization}
    return Request("GET", path, headers, query=query, params={"userid": userid} if userid else {})


def user_request(userid: str, authorization: str | None) -> Request:
    return get(f"/cucm-uds/user/{userid}", userid, authorization)


def bearer(keys: AuthzKeys, user: str, now: float, lifetime: int = 3600) -> str:
    return "Bearer " + issue_access_token(keys, access_claims(keys.cluster_uuid, user, "C" + "1" * 64, now, lifetime))


def xml(reply: Reply) -> etree._Element:
    assert reply.body.startswith(DECL)
    return etree.fromstring(reply.body)


@pytest.mark.parametrize(("full", "short"), [("14.0.1.12900-161", "14.0.1"), ("11.5.1.13900-52", "11.5.1"),
                                              ("12.5", "12.5")])
def test_uds_version_is_major_minor_maintenance(full: str, short: str) -> None:
    assert uds_version(full) == short


def test_version_resource(uds: UdsService) -> None:
    assert uds.version(get("/cucm-uds/version")).body == DECL + (
        f'<versionInformation version="14.0.1" uri="{ORIGIN}/cucm-uds/version">'
        "<version>14.0.1.12900-161</version></versionInformation>"
    ).encode()


def test_servers_resource(uds: UdsService) -> None:
    assert uds.servers(get("/cucm-uds/servers")).body == DECL + (
        f'<servers version="14.0.1" uri="{ORIGIN}/cucm-uds/servers"><server>cucm.lab.example</server></servers>'
    ).encode()


def test_cluster_user_found(uds: UdsService) -> None:
    reply = uds.cluster_user(get("/cucm-uds/clusterUser", query=(("username", "aokanlawon"),)))
    assert reply.status == 200
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Expires"] == "Wed, 31 Dec 1969 17:00:00 MST"
    assert reply.headers["Content-Type"] == "application/xml"
    assert reply.body == DECL + (
        f'<clusterUser version="14.0.1" uri="{ORIGIN}/cucm-uds/clusterUser?username=aokanlawon">'
        f'<result found="true" uri="{ORIGIN}/cucm-uds/user/aokanlawon" version="14.0.1"/>'
        f'<homeCluster serversUri="{ORIGIN}/cucm-uds/servers">cucm.lab.example</homeCluster></clusterUser>'
    ).encode()


@pytest.mark.parametrize("userid", ["ghost", "AOkanlawon", "aokanlawon "])
def test_cluster_user_not_found(uds: UdsService, userid: str) -> None:
    reply = uds.cluster_user(get("/cucm-uds/clusterUser", query=(("username", userid),)))
    root = xml(reply)
    assert reply.status == 200
    assert [(e.tag, dict(e.attrib)) for e in root] == [("result", {"found": "false"})]


def test_cluster_user_points_at_the_home_cluster(uds: UdsService) -> None:
    root = xml(uds.cluster_user(get("/cucm-uds/clusterUser", query=(("username", "remoteuser"),))))
    assert root.get("uri") == f"{ORIGIN}/cucm-uds/clusterUser?username=remoteuser"
    result = root.find("result")
    assert result is not None and result.get("uri") == "http://cucm2.lab.example:8443/cucm-uds/user/remoteuser"
    home = root.find("homeCluster")
    assert home is not None and home.text == "cucm2.lab.example"
    assert home.get("serversUri") == "http://cucm2.lab.example:8443/cucm-uds/servers"


@pytest.mark.parametrize("query", [(), (("username", ""),), (("username", "a"), ("username", "b")),
                                   (("user", "aokanlawon"),)])
def test_cluster_user_needs_exactly_one_username(uds: UdsService, query: tuple[tuple[str, str], ...]) -> None:
    reply = uds.cluster_user(get("/cucm-uds/clusterUser", query=query))
    assert (reply.status, reply.body) == (400, b"")
    assert reply.events[-1].category == "uds.ClusterUserResource"


def test_user_resource(uds: UdsService) -> None:
    root = xml(uds.user(user_request("aokanlawon", basic("aokanlawon", "Cisco!123"))))
    assert root.tag == "user"
    assert dict(root.attrib) == {"version": "14.0.1", "uri": f"{ORIGIN}/cucm-uds/user/aokanlawon"}
    assert [(e.tag, e.text) for e in root] == [
        ("id", user_pkid("6a2d4bd9-3bf6-4bfa-a9f2-9a15c53b6737", "aokanlawon")),
        ("userName", "aokanlawon"), ("firstName", "Ayodeji"), ("lastName", "Okanlawon"),
        ("displayName", "Ayodeji Okanlawon"), ("email", "aokanlawon@lab.example"),
        ("homeCluster", "cucm.lab.example"), ("mraEnabled", "true"),
    ]


def test_user_resource_says_when_mra_is_off(uds: UdsService) -> None:
    root = xml(uds.user(user_request("nomra", basic(*ADMIN))))
    assert root.findtext("mraEnabled") == "false"


def test_devices_resource(uds: UdsService) -> None:
    root = xml(uds.devices(get("/cucm-uds/user/aokanlawon/devices", "aokanlawon", basic(*ADMIN))))
    assert root.get("uri") == f"{ORIGIN}/cucm-uds/user/aokanlawon/devices"
    devices = root.findall("device")
    pkid = device_pkid("6a2d4bd9-3bf6-4bfa-a9f2-9a15c53b6737", "CSFAOKANLAWON")
    assert devices[0].get("uri") == f"{ORIGIN}/cucm-uds/user/aokanlawon/device/{pkid}"
    assert [(e.tag, e.text or "") for e in devices[0]] == [
        ("id", pkid), ("name", "CSFAOKANLAWON"), ("type", "Phone"),
        ("model", "Cisco Unified Client Services Framework"), ("description", ""),
    ]
    assert devices[1].findtext("model") == "Cisco Dual Mode for iPhone"


def test_bearer_token_of_the_user_opens_the_user_resources(uds: UdsService, keys: AuthzKeys,
                                                           clock: LabClock) -> None:
    token = bearer(keys, "aokanlawon", clock.timestamp())
    assert uds.user(user_request("aokanlawon", token)).status == 200
    assert uds.devices(get("/cucm-uds/user/aokanlawon/devices", "aokanlawon", token)).status == 200


def refused(reply: Reply, status: int = 401) -> None:
    assert (reply.status, reply.body) == (status, b"")
    if status == 401:
        assert reply.headers["WWW-Authenticate"] == 'Basic realm="Cisco Web Services Realm"'
    assert reply.events[-1].category == "uds.UserResource"


@pytest.mark.parametrize("authorization", [
    None, "", "Basic", "Basic not-base64!", basic("ntanborgeson", "Cisco!456"), basic("aokanlawon", "wrong"),
    basic("axladmin", "wrong"), "Negotiate abc", "Bearer", "Bearer not.a.token",
])
def test_user_resource_refuses_without_the_right_credentials(uds: UdsService, authorization: str | None) -> None:
    refused(uds.user(user_request("aokanlawon", authorization)))
    refused(uds.devices(get("/cucm-uds/user/aokanlawon/devices", "aokanlawon", authorization)))


def test_bearer_token_of_another_user_is_refused(uds: UdsService, keys: AuthzKeys, clock: LabClock) -> None:
    refused(uds.user(user_request("aokanlawon", bearer(keys, "ntanborgeson", clock.timestamp()))))


def test_expired_bearer_token_is_refused(uds: UdsService, keys: AuthzKeys, clock: LabClock) -> None:
    token = bearer(keys, "aokanlawon", clock.timestamp())
    clock.advance(3600)
    reply = uds.user(user_request("aokanlawon", token))
    refused(reply)
    assert reply.events[-1].message.endswith("access token refused: Token expired")
    assert token.split()[1] not in reply.events[-1].message


def test_bearer_token_from_other_keys_is_refused(uds: UdsService, other_keys: AuthzKeys, clock: LabClock) -> None:
    refused(uds.user(user_request("aokanlawon", bearer(other_keys, "aokanlawon", clock.timestamp()))))


def test_refresh_token_is_not_a_bearer_credential(uds: UdsService, keys: AuthzKeys, clock: LabClock) -> None:
    token = issue_refresh_token(keys, refresh_claims(keys.cluster_uuid, "C" + "1" * 64, clock.timestamp(), 60, "t"))
    refused(uds.user(user_request("aokanlawon", f"Bearer {token}")))


def test_bearer_token_of_a_user_without_mra_is_refused(uds: UdsService, keys: AuthzKeys, clock: LabClock) -> None:
    refused(uds.user(user_request("nomra", bearer(keys, "nomra", clock.timestamp()))))


@pytest.mark.parametrize("userid", ["ghost", "remoteuser", "AOKANLAWON"])
def test_unknown_user_is_404_to_the_administrator_only(uds: UdsService, userid: str) -> None:
    refused(uds.user(user_request(userid, basic(*ADMIN))), 404)
    refused(uds.user(user_request(userid, basic(userid, "Remote!000"))))
    refused(uds.user(user_request(userid, None)))

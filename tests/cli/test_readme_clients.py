"""Issue 11, "Done when": real clients complete the login over TLS using only the README.

curl runs the README's own bash block, extracted from README.md so the test fails when the README drifts from the lab;
an Authlib OAuth 2.0 client (RFC 6749 authorization code grant, client_secret_basic, refresh) does the same with the
client id, secret and parameters the README prints. Both verify Expressway-E's certificate against the lab CA that
``mrasim up`` writes to ``.mrasim/state/pki/ca.pem``. (slixmpp and Chromium have tests of their own.)
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from common.config import DEFAULT_LAB

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_PORT = 18443  # the README's E listener; the test lab listens on a free port instead (parallel runs)


def readme_curl_block() -> str:
    """The first ```sh block of the README section "Drive it yourself", exactly as a reader copies it."""
    section = README.read_text().split("## Drive it yourself", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "README.md 'Drive it yourself' has no ```sh block"
    return match.group(1)


def readme_value(name: str) -> str:
    """A variable the README's block sets (CID=…, SECRET=…): the Authlib client uses only what the README gives."""
    match = re.search(rf"^{name}=(\S+)", readme_curl_block(), re.M)
    assert match, f"README's curl block sets no {name}"
    return match.group(1)


@pytest.fixture(scope="module")
def lab_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``mrasim up`` as the README says, in a working directory of its own; every port free so parallel runs coexist.

    Yields what ``mrasim up --json`` prints plus ``workdir``; always stops the lab (SIGINT, as Ctrl-C; then kill).
    Both clients share it: the README's steps leave nothing that stops a second login (one wrong password of six).
    """
    tmp_path = tmp_path_factory.mktemp("mrasim-up")
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(re.sub(r"^(\w*listen_port) = \d+", r"\1 = 0", DEFAULT_LAB.read_text(), flags=re.M))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "--lab", str(lab_file), "up", "--json"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _first_line(proc, deadline=time.monotonic() + 60)
        assert line, f"mrasim up printed nothing: {proc.stderr.read() if proc.poll() is not None else ''}"  # type: ignore[union-attr]
        data = json.loads(line)
        assert (tmp_path / ".mrasim" / "state" / "pki" / "ca.pem").is_file(), "the README's --cacert path"
        yield {**data, "workdir": tmp_path}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _first_line(proc: subprocess.Popen[str], deadline: float) -> str:
    """The first stdout line, polled with a deadline so a lab that never comes up fails instead of hanging."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    while time.monotonic() < deadline and proc.poll() is None:
        if selector.select(timeout=0.2):
            return proc.stdout.readline()  # type: ignore[union-attr]
    return ""


def edge_port(data: dict) -> int:
    return int(data["edge"]["listening"].rsplit(":", 1)[1])


@pytest.mark.skipif(shutil.which("curl") is None, reason="Debian curl (.ci/run installs it)")
def test_the_readme_curl_recipe_logs_in_over_tls_as_printed(lab_up: dict, tmp_path: Path) -> None:
    """Every step of the README's block: SSO check, login form, 302 with the code, tokens, edge config, UDS, Basic."""
    block = readme_curl_block()
    assert f"expe.lab.example:{README_PORT}" in block and ".mrasim/state/pki/ca.pem" in block
    # Only the port (the test lab's is free, not fixed) and the scratch files (parallel runs) differ from the README.
    script = block.replace(str(README_PORT), str(edge_port(lab_up))).replace("/tmp/", f"{tmp_path}/")
    done = subprocess.run(["bash", "-c", "set -u\n" + script], cwd=lab_up["workdir"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    statuses = [int(s) for s in re.findall(r"HTTP/1\.1 (\d{3}) ", out)]
    # {1} sso, {2} form, {3}-{5} 302, {6} OAuthcb, get_edge_config, UDS user, UDS devices, Basic good, Basic wrong
    assert statuses == [200, 200, 302, 200, 200, 200, 200, 200, 401], out
    responses = re.split(r"HTTP/1\.1 (?=\d{3} )", out)[1:]  # bodies end without a newline
    assert '<Token reuse="true"/>' in responses[0]
    assert re.search(r'<form[^>]*action="[^"]*localauthentication', responses[1], re.I), responses[1]
    location = re.search(r"^Location: (\S+)", responses[2], re.M)
    assert location and location.group(1).startswith("/OAuthcb#code=")
    tokens = json.loads((tmp_path / "mra-tokens.json").read_text())
    assert tokens["token_type"].lower() == "bearer" and tokens["access_token"] and tokens["refresh_token"]
    edge_config = responses[4]
    assert "<getEdgeConfigResponse" in edge_config and "_cisco-uds" in edge_config, edge_config
    assert "<userName>aokanlawon</userName>" in responses[5]
    assert "<devices" in responses[6]
    assert "Set-Cookie: X-Auth=" in responses[7] and "<getEdgeConfigResponse" in responses[7]
    assert 'WWW-Authenticate: Basic realm="Cisco-Edge"' in responses[8]


def resolve_like_curl(port: int):  # type: ignore[no-untyped-def]
    """An httpx request hook doing curl's ``--resolve expe.lab.example:PORT:127.0.0.1``: connect to loopback, keep the
    name for SNI, certificate check and Host header (what Jabber's DNS would give)."""
    def hook(request):  # type: ignore[no-untyped-def]
        if request.url.host == "expe.lab.example" and request.url.port == port:
            request.extensions["sni_hostname"] = "expe.lab.example"
            request.url = request.url.copy_with(host="127.0.0.1")
    return hook


def test_an_authlib_oauth2_client_logs_in_refreshes_and_reads_the_edge_config(lab_up: dict) -> None:
    """RFC 6749 §4.1 with Authlib and only the README's values: authorize, the form, the code from the /OAuthcb
    fragment, client_secret_basic at access_token, the Bearer token at get_edge_config, then §6 refresh."""
    import ssl
    import warnings

    import httpx
    from authlib.deprecate import AuthlibDeprecationWarning  # its import sets "always" for its own warning

    with warnings.catch_warnings():  # Authlib 1.9 asks for httpx2 and falls back to httpx, which it still supports
        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        from authlib.integrations.httpx_client import OAuth2Client

    port = edge_port(lab_up)
    ca = ssl.create_default_context(cafile=str(lab_up["workdir"] / ".mrasim" / "state" / "pki" / "ca.pem"))
    edge, segment = f"https://expe.lab.example:{port}", readme_value("D")
    cid, secret, dev = readme_value("CID"), readme_value("SECRET"), readme_value("DEV")
    email = "aokanlawon@lab.example"
    with OAuth2Client(client_id=cid, client_secret=secret, token_endpoint_auth_method="client_secret_basic",
                      verify=ca, timeout=20, event_hooks={"request": [resolve_like_curl(port)]}) as client:
        url, state = client.create_authorization_url(f"{edge}/{segment}/authorize", state="1771145038",
                                                     realm="local", device_id=dev, email=email)
        form = client.request("GET", url, withhold_token=True)  # no token yet: the browser part of the flow
        assert form.status_code == 200 and "localauthentication" in form.text
        login = client.request("POST", f"{edge}/{segment}/localauthentication", data={
            "username": "aokanlawon", "password": "Cisco!123", "response_type": "code", "realm": "local",
            "client_id": cid, "device_id": dev, "email": email, "state": state}, withhold_token=True)
        assert login.status_code == 302, login.text
        location = urlsplit(login.headers["Location"])
        assert location.path == "/OAuthcb"
        fragment = parse_qs(location.fragment)
        assert fragment["state"] == [state] and fragment["expires_in"] == ["299"]

        token = client.fetch_token(f"{edge}/{segment}/access_token", code=fragment["code"][0],
                                   grant_type="authorization_code")
        assert token["token_type"].lower() == "bearer" and int(token["expires_in"]) > 0
        assert len(token["access_token"].split(".")) in (3, 5) and token["access_token"].startswith("eyJ")
        assert token["refresh_token"].startswith("eyJ") and len(token["refresh_token"].split(".")) == 3

        config = client.get(f"{edge}/{segment}/get_edge_config",
                            params=[("service_name", "_cisco-uds"), ("service_name", "_cuplogin")])
        assert config.status_code == 200 and "<getEdgeConfigResponse" in config.text
        assert "<name>_cisco-uds</name>" in config.text

        refreshed = client.refresh_token(f"{edge}/{segment}/access_token")
        assert refreshed["access_token"] != token["access_token"] and int(refreshed["expires_in"]) > 0
        again = client.get(f"{edge}/{segment}/get_edge_config", params={"service_name": "_cisco-uds"})
        assert again.status_code == 200 and "<getEdgeConfigResponse" in again.text
        assert client.token["access_token"] == refreshed["access_token"]
        assert isinstance(client, httpx.Client)

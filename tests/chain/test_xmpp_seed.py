"""The seed article's field issue, replayed: OAuth tokens obtained, XMPP offers only CISCO-VTG-TOKEN, Jabber gives up;
then OAuthLocal On, Expressway-C restarted, and the same user signs in."""

from __future__ import annotations

import aiohttp

from common.basic import basic_header
from common.logformats.csf import parse_log as parse_csf
from common.logformats.expressway import parse_log
from lab.running import RunningLab
from lab.xmpprun import run_sign_in

SEED_FEATURES = ('@XmppSDK: #0, 187, Recv:<stream:features xmlns:stream="http://etherx.jabber.org/streams">'
                 '<mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>CISCO-VTG-TOKEN</mechanism>'
                 '</mechanisms></stream:features>')
SEED_ERROR = "@XmppSDK: #0, The server doesn't offer any SASL authentication mechanism that we can support"


async def xconfiguration(running: RunningLab, command: str = "") -> tuple[int, dict]:  # type: ignore[type-arg]
    """``mrasim xconfiguration`` as the CLI sends it: to Expressway-C's own listener, as its administrator."""
    core = running.lab.core
    headers = {"Host": f"{core.listener.host}:{core.listener.port}",
               "Authorization": basic_header(core.admin_user, core.admin_password)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.post(f"https://127.0.0.1:{running.core.traffic.port}/mrasim/xconfiguration",
                                json={"command": command}, headers=headers) as resp:
            return resp.status, await resp.json()


async def test_stale_oauthlocal_reproduces_the_seed_and_a_restart_fixes_it(running: RunningLab) -> None:
    status, data = await xconfiguration(running, "CollaborationEdge OAuthLocal: Off")
    assert status == 200 and "*c xConfiguration CollaborationEdge OAuthLocal: Off" in data["output"]
    await running.restart("expressway-c")
    status, data = await xconfiguration(running, "xConfiguration CollaborationEdge OAuthLocal: On")
    assert "*c xConfiguration CollaborationEdge OAuthLocal: On" in data["output"]
    assert data["stale"] == ["OAuthLocal"], "the running XCP router keeps the value it started with"

    outcome, xmpp, entries, _ = await run_sign_in(running)
    assert outcome.access_token and outcome.path == "oauth", "the HTTP side applied OAuthLocal On at once"
    assert not outcome.ok and outcome.failed_step == "xmpp sasl"
    assert xmpp is not None and xmpp.offered == ("CISCO-VTG-TOKEN",)
    messages = [line.message for line in parse_csf(running.log_text("jabber"))]
    assert SEED_FEATURES in messages
    tail = messages[messages.index(SEED_FEATURES):]
    assert tail[1:4] == ["@XmppSDK: #0, SASL token empty:0", "@XmppSDK: #0, SASL mechanism:", SEED_ERROR]
    c_lines = parse_log(running.log_text("expressway-c"))
    answer = next(line.get("Detail") or "" for line in c_lines
                  if line.process == "XCP_JABBERD" and "DELIVER: type:1, host:connect-auth-1" in (line.get("Detail") or ""))
    assert "<mechanism>OAUTHBEARER</mechanism>" in answer, "IM&P offered OAUTHBEARER; C filtered it out"

    await running.restart("expressway-c")
    outcome, xmpp, entries, _ = await run_sign_in(running)
    assert outcome.ok, outcome.reason
    assert xmpp is not None and xmpp.mechanism == "OAUTHBEARER" and xmpp.jid == "aokanlawon@lab.example/jabber_1"
    assert [e.name for e in entries if e.hop == "C → IM&P"] == ["xdb sasl get", "xdb sasl set"]


async def test_xconfiguration_change_survives_a_restart_and_refuses_strangers(running: RunningLab) -> None:
    await xconfiguration(running, "CollaborationEdge LegacyCred: Off")
    await running.restart("expressway-c")
    status, data = await xconfiguration(running)
    assert data["output"].splitlines()[:2] == ["*c xConfiguration CollaborationEdge LegacyCred: Off",
                                                "*c xConfiguration CollaborationEdge OAuthLocal: On"]
    assert data["stale"] == []
    status, data = await xconfiguration(running, "CollaborationEdge OAuthLocal: Maybe")
    assert status == 400 and "On or Off" in data["error"]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.post(f"https://127.0.0.1:{running.core.traffic.port}/mrasim/xconfiguration",
                                json={"command": "OAuthLocal: Off"},
                                headers={"Authorization": basic_header("admin", "wrong")}) as resp:
            assert resp.status == 401
    status, data = await xconfiguration(running)
    assert "OAuthLocal: On" in data["output"]


async def test_credential_path_signs_in_with_an_epas_one_time_password(running: RunningLab) -> None:
    await xconfiguration(running, "CollaborationEdge OAuthLocal: Off")
    await running.restart("expressway-c")
    outcome, xmpp, _, _ = await run_sign_in(running)
    assert outcome.ok and outcome.path == "credentials", outcome.reason
    assert xmpp is not None and xmpp.mechanism == "CISCO-VTG-TOKEN"
    logs = "".join(running.log_text(n) for n in running.sinks)
    assert "<epas:session-key><CONCEALED></epas:session-key>" in logs
    assert "Cisco!123" not in logs and outcome.access_token == ""

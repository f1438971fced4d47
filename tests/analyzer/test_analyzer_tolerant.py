"""Issue 12, item 1: the records engineers paste, in the shapes the field gives them, are read and placed by content."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from analyzer.diagnose import analyze
from analyzer.ingest import load
from analyzer.model import CORE, CUCM, EDGE, IMP, JABBER


def _load(tmp_path: Path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return load([path])


def test_expressway_records_without_prefix_and_run_together_are_split_and_read(tmp_path: Path) -> None:
    corpus = _load(tmp_path, "notes.txt",
                   'Module="network.ldap" Level="INFO": Detail="found" Module="developer.nomodule" Level="WARN" '
                   'Thread="0x7f": calculated response does not match Event="Authentication Failed" Service="SIP" '
                   'Detail=" Incorrect authentication credential for user " Level="1"\n')
    assert len(corpus.events) == 2
    assert corpus.events[1].get("Event") == "Authentication Failed" and corpus.events[1].node == EDGE


def test_x8_lines_without_milliseconds_and_a_folded_httpmsg_block(tmp_path: Path) -> None:
    corpus = _load(tmp_path, "a.log",
                   '2014-09-25T13:46:20-04:00 RTP-TBTP-EXPRWY-C edgeconfigprovisioning UTCTime="2014-09-25 '
                   '17:46:20,92" Module="network.http.edgeconfigprovisioning" Level="DEBUG" Action="Received" '
                   'Request-url="https://xx.xx.97.131:8443/cucm-uds/user/u/devices" HTTPMSG: |HTTP/1.1 401 '
                   'Unauthorized Server: x\r\n')
    event = corpus.events[0]
    assert event.node == CORE and event.host == "RTP-TBTP-EXPRWY-C" and event.level == "DEBUG"
    assert event.block is not None and event.block.startswith("HTTP/1.1 401")
    assert event.time is not None


def test_sipmsg_blocks_indented_and_numeric_levels(tmp_path: Path) -> None:
    corpus = _load(tmp_path, "e.log",
                   '2023-05-10T08:01:02.345+02:00 vcse tvcs: UTCTime="2023-05-10 06:01:02,345" Module="network.sip" '
                   'Level="DEBUG":  Action="Received" Src-ip="1.2.3.4"\n   SIPMSG:\n   |REGISTER sip:example.com '
                   'SIP/2.0\n   Via: SIP/2.0/TLS 1.2.3.4\n   |\n'
                   '2023-05-10T08:01:02.350+02:00 vcse tvcs: Event="Registration Rejected" Reason="Unknown domain" '
                   'Level="1" UTCTime="2023-05-10 06:01:02,350"\n')
    assert [e.get("process") for e in corpus.events] == ["tvcs", "tvcs"]
    assert "REGISTER sip:example.com" in (corpus.events[0].block or "")
    assert corpus.events[1].level == "INFO"


def test_jabber_shapes_with_and_without_date_and_the_old_ones(tmp_path: Path) -> None:
    corpus = _load(tmp_path, "expressway-c.log", "\n".join([
        "2017-04-19 16:30:30,565 INFO  [0x000013b0] [etutils\\src\\http\\CurlHttpUtils.cpp(1088)] [csf.httpclient] "
        "[csf::http::x] - *-----* Configuring request #20",
        "ERROR [0x00002fe4] [ls\\src\\http\\BasicHttpClientImpl.cpp(568)] [csf.httpclient] [csf::http::executeImpl] "
        "- UNRESOLVED_HOST_ERROR",
        "WARNING [9134000] - [csf.edge][executeEdgeConfigRequest] XAuth Cookie expiration time is invalid",
        "XmppSDK.dll #0, CXmppClient::onResourceBindError",
    ]) + "\n")
    events = sorted(corpus.events, key=lambda e: e.line)
    assert [e.node for e in events] == [JABBER] * 4, "the file name says Expressway-C; the lines say Jabber"
    assert [e.level for e in events] == ["INFO", "ERROR", "WARN", "INFO"]


def test_log4j_with_two_spaces_a_stack_trace_and_sdl_traces(tmp_path: Path) -> None:
    corpus = _load(tmp_path, "x.log",
                   "2026-01-10 06:06:31,274 ERROR [http-nio-81-exec-157]  cpi.sso.saml.sp.SAMLAuthenticator - "
                   "Error while processing saml response Failed to decrypt the secret key.\n"
                   "com.sun.identity.saml2.common.SAML2Exception: Failed to decrypt the secret key.\n"
                   "              at com.sun.identity.saml2.xmlenc.FMEncProvider.decrypt(FMEncProvider.java:607)\n"
                   "08080021.043 |16:31:15.937 |AppInfo  |SIPStationD(18400) - validTLSConnection:TLS "
                   "InvalidX509NameInCertificate 08080021.044 |16:31:15.937 |AppInfo  |SIPStationD(18400) - again\n")
    events = sorted(corpus.events, key=lambda e: (e.line, e.text))
    assert [e.fmt for e in events] == ["log4j", "sdl", "sdl"]
    assert "FMEncProvider" in events[0].text and events[0].node == CUCM


def test_expressway_c_is_told_from_expressway_e_by_what_the_line_says(tmp_path: Path) -> None:
    corpus = _load(tmp_path, "expressway-e.log",
                   '2026-01-29T14:01:16.974-05:00 exp-c traffic_server[2030]: UTCTime="2026-01-29 19:01:16,974" '
                   'Module="network.http.trafficserver" Level="DEBUG": Detail="Sending Request" Txn-id="3028" '
                   'TrackingID="fxxxxxxx-86f6" Dst-ip="xxx.xxx.xxx.xxx" Dst-port="6972"\n'
                   "2026-01-29T14:01:16.974-05:00 exp-c traffic_server[2030]:[ET_NET 1]ERROR:SSL connection failed "
                   "for 'expc.cisco.com':error:14094418: SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca\n"
                   'xwayc XCP_JABBERD[23843]: UTCTime="2014-03-25 17:19:45,847" ThreadID= "1397" Module="Jabber" '
                   'Level="ERROR" CodeLocation="mio.c:1121" Detail=" Unable to connect to host \'10.1.1.1\', port 7400 '
                   ':(111) Connection refused"\n')
    assert [e.node for e in corpus.events] == [CORE, CORE, CORE]
    alert = next(e for e in corpus.events if "alert unknown ca" in e.text)
    assert alert.level == "ERROR" and alert.fields.get("process") == "traffic_server"


def test_an_unplaceable_line_is_still_searched_and_prose_is_not_a_record(tmp_path: Path) -> None:
    report = analyze([_write(tmp_path, "note.txt", "The customer says it fails since Monday.\n"
                                                   "xx.xx.1.2 - - ERROR: Peer certificate cannot be authenticated "
                                                   "with given CA certificates\n")])
    assert len(report.corpus.events) == 1
    assert report.root_cause is not None and report.root_cause.id == "client-untrusted-expressway-e-ca"


def test_a_gzip_or_tar_gz_of_an_excerpt_is_read(tmp_path: Path) -> None:
    line = ("ERROR [0x000004c4] [\\ucm-config\\uds\\HomeUdsUtilities.cpp(64)] [csf.config] "
            "[csf::ucm90::HomeUdsUtilities::convertHttpUtilsResult] - Home Uds query failed responseCode =[403]\n")
    (tmp_path / "jabber.log.gz").write_bytes(gzip.compress(line.encode()))
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as bundle:
        info = tarfile.TarInfo("prt/csf-unified.log")
        info.size = len(line.encode())
        bundle.addfile(info, io.BytesIO(line.encode()))
    (tmp_path / "prt.tar.gz").write_bytes(data.getvalue())
    for name in ("jabber.log.gz", "prt.tar.gz"):
        report = analyze([tmp_path / name])
        assert report.root_cause is not None and report.root_cause.id == "enduser-role-missing", name


def test_imp_lines_are_placed_on_imp(tmp_path: Path) -> None:
    corpus = _load(tmp_path, "x.log", "2019-06-25 10:11:12,345 ERROR [Thread-12] xcp.router - Intercluster sync "
                                      "agent failed to connect\n")
    assert corpus.events[0].node == IMP


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path

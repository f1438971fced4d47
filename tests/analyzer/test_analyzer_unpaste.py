"""Pasted text a mail client or an editor reshaped is put back before it is read (:func:`analyzer.normalize.unpaste`):
wrapped lines joined, ``>`` quote marks and line numbers taken off; a product's own file, and the lines of a SIP or
HTTP message, are left as they are."""

from __future__ import annotations

from pathlib import Path

from analyzer.diagnose import analyze
from analyzer.normalize import unpaste

# doc 220616's Jabber line (CTI Permissions), as a mail client at 72 columns sends it in a reply
_QUOTED = """> 2023-01-23 07:49:58,561 WARN [0x000026a8]
> [rc\\deskphoneprovider\\DPProvider.cpp(598)] [csf.ecc]
> [CDPProvider::HandleEvent_ProviderOpenCompleted] - ProviderOpen failed:
> reason: 0x8ccc005f, Directory login failed - User not present in Standard
> CTI Users group.
"""


def test_a_quoted_wrapped_jabber_line_is_one_record_again(tmp_path: Path) -> None:
    text = unpaste(_QUOTED)
    assert text.strip().count("\n") == 0 and "Standard CTI Users group." in text and ">" not in text
    log = tmp_path / "mail.txt"
    log.write_text(_QUOTED)
    report = analyze([log])
    assert report.root_cause is not None and report.root_cause.id == "cti-user-not-in-standard-cti-enabled"


def test_a_products_own_lines_are_left_as_they_are() -> None:
    own = ('2024-01-01 10:00:00,100 INFO [0x00001234] [src\\d.cpp(1)] [csf.dns] [csf::dns::q] - *-----* DNS query '
           '_collab-edge._tls.example.com. has succeeded.\nshort second line\n')
    assert unpaste(own) == own


def test_the_header_lines_of_a_wrapped_sip_message_stay_lines() -> None:
    sip = ("SIP/2.0 403 Forbidden\nVia: SIP/2.0/TLS 10.5.10.121:50347;branch=z9hG4bK00005163\n"
           "From: <sip:2000@UCM2-PUB>;tag=005056867e66010a00006698-00002a32\nTo: <sip:2000@UCM2-PUB>;tag=1946377502\n"
           "CSeq: 363 REGISTER\nWarning: 399 UCM2-PUB \"SIP OAuth Registration port Mismatch\"\nContent-Length: 0\n")
    assert unpaste(sip) == sip


def test_numbered_lines_lose_their_numbers() -> None:
    assert unpaste("1: first line of a log here\n2: second line\n") == "first line of a log here\nsecond line\n"

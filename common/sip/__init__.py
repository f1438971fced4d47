"""A small, strict SIP codec (RFC 3261) and the authentication schemes the MRA registration uses.

No maintained PyPI package fits: the SIP packages there are softphone stacks (PySIPio: UDP, audio) or empty
placeholders (sip-core 0.0.1), none a sans-IO parser that answers malformed input the way RFC 3261 says. So this package
is the one place SIP bytes are read and written (ARCHITECTURE: codecs live in ``common``):

* :mod:`common.sip.message` — requests and responses, header names incl. compact forms, the mandatory-header rules;
* :mod:`common.sip.stream` — framing on a stream transport (TLS/TCP) by ``Content-Length`` (RFC 3261 §18.3);
* :mod:`common.sip.auth` — Digest (RFC 2617/7616) and Bearer (RFC 8898) challenges and credentials;
* :mod:`common.sip.proxy` — the Via/Max-Forwards work a stateful proxy does (RFC 3261 §16).
"""

"""XMPP as the MRA nodes speak it, defined once and used to write and to parse.

* :mod:`common.xmpp.xml` — namespaces and the one serializer (jabberd style: single quotes, ``xmlns`` only where the
  namespace changes), so what a node sends and what it logs are the same text;
* :mod:`common.xmpp.stream` — the sans-IO stream reader (RFC 6120 §4): bytes in, stream events out, and the stream
  errors (§4.9) that know their wire form;
* :mod:`common.xmpp.sasl` — SASL over XMPP (RFC 6120 §6) with PLAIN (RFC 4616), OAUTHBEARER (RFC 7628) and Cisco's
  CISCO-VTG-TOKEN;
* :mod:`common.xmpp.stanzas` — resource binding (RFC 6120 §7), stanza errors (§8.3), messages and presence (RFC 6121);
* :mod:`common.xmpp.xcp` — the XCP packets Expressway-E, Expressway-C and IM&P exchange (the seed's ``xdb`` and
  ``route`` lines);
* :mod:`common.xmpp.epas` — the EPAS SOAP login that gives Jabber its one-time password.
"""

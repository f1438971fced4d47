"""IM&P (Cisco Unified Communications Manager IM and Presence): the XMPP server, its XCP auth component, EPAS SOAP."""

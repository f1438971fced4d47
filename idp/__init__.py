"""The SAML identity provider node: a Shibboleth-like IdP on the internet side of the lab (docs/sso.md)."""

"""SAML assertion encryption (SAML Core §2.3.4 ``EncryptedAssertion``), done by the XML Security Library (xmlsec).

The IdP encrypts the signed assertion for the SP's encryption certificate from its metadata: a fresh AES-128-CBC key
for the ``xenc:EncryptedData``, carried RSA-OAEP-encrypted in an ``xenc:EncryptedKey`` (XML Encryption 1.0, the
algorithms AD FS uses by default). The SP decrypts with its private key. Nothing here builds or parses XML Encryption
by hand: xmlsec writes and reads it.

A decryption that fails is reported with OpenSAML's text, which is what CUCM's ssosp logs when the IdP encrypted for
a certificate it no longer has.
"""

from __future__ import annotations

from lxml import etree

from common.saml import SAML, SamlError

XENC = "http://www.w3.org/2001/04/xmlenc#"
DECRYPT_FAILED = ("Failed to decrypt EncryptedData using either EncryptedData KeyInfoCredentialResolver or "
                  "EncryptedKeyResolver + EncryptedKey KeyInfoCredentialResolver")


def encrypt_assertion(assertion: etree._Element, cert_pem: bytes) -> etree._Element:
    """Replace ``assertion`` in its tree with a ``saml:EncryptedAssertion`` for ``cert_pem``; return the new element."""
    import xmlsec

    parent = assertion.getparent()
    assert parent is not None
    wrapper = etree.Element(f"{{{SAML}}}EncryptedAssertion", nsmap={"saml": SAML})
    parent.replace(assertion, wrapper)
    wrapper.append(assertion)
    template = xmlsec.template.encrypted_data_create(wrapper, xmlsec.constants.TransformAes128Cbc,
                                                     type=xmlsec.constants.TypeEncElement, ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem, None))
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, 128, xmlsec.constants.KeyDataTypeSession)
    context.encrypt_xml(template, assertion)
    return wrapper


def decrypt_assertion(encrypted: etree._Element, key_pem: bytes) -> etree._Element:
    """The ``saml:Assertion`` inside an ``EncryptedAssertion`` (on a copy: the verified tree is not changed)."""
    import xmlsec

    copy = etree.fromstring(etree.tostring(encrypted))
    data = copy.find(f"{{{XENC}}}EncryptedData")
    if data is None:
        raise SamlError("EncryptedAssertion without EncryptedData")
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem, None))
    try:
        decrypted = xmlsec.EncryptionContext(manager).decrypt(data)
    except xmlsec.Error:
        raise SamlError(DECRYPT_FAILED) from None
    if not isinstance(decrypted, etree._Element) or decrypted.tag != f"{{{SAML}}}Assertion":
        raise SamlError("EncryptedAssertion does not hold an Assertion")
    return decrypted

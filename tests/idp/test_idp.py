"""The IdP's own parts without sockets: its pages escape what they show, its Response carries what the lab says."""

from __future__ import annotations

import time

import lxml.html
from lxml import etree

from common.logformats.shibboleth import ShibbolethLine
from common.saml import NS, Identity
from idp.pages import login_page, post_page
from idp.response import Release, build_response


def test_the_login_page_is_the_idps_own_and_escapes_what_it_shows() -> None:
    page = login_page("e1s1", 'https://sp"><script>alert(1)</script>', "bad <b>", 'x"y')
    html = lxml.html.fromstring(page)
    assert html.xpath("//form/@action") == ["/idp/profile/SAML2/Redirect/SSO"]
    assert not html.xpath("//script") and "Lab Identity Provider" in html.text_content()
    assert html.xpath("//input[@name='j_username']/@value") == ['x"y']


def test_the_post_page_submits_the_response_to_the_acs() -> None:
    form = lxml.html.fromstring(post_page("https://e.example/acs", "UkVTUA==", "relay")).forms[0]
    assert form.action == "https://e.example/acs" and form.method == "POST"
    assert dict(form.fields) == {"RelayState": "relay", "SAMLResponse": "UkVTUA=="}


def test_the_response_is_signed_twice_and_carries_uid_for_the_audience() -> None:
    key = Identity.generate("idp.lab.example", time.time())
    body = build_response(Release("_r", "https://e.example/acs", "sp-entity", "idp-entity",
                                  (("uid", "aokanlawon"),), time.time(), 300), key)
    root = etree.fromstring(body)
    assert len(root.findall(".//{http://www.w3.org/2000/09/xmldsig#}Signature")) == 2
    assert root.findtext("saml:Assertion/saml:Conditions/saml:AudienceRestriction/saml:Audience", None, NS) == \
        "sp-entity"
    assert root.findtext("saml:Assertion/saml:AttributeStatement/saml:Attribute[@Name='uid']/saml:AttributeValue",
                         None, NS) == "aokanlawon"


def test_a_shibboleth_process_log_line_parses_back() -> None:
    text = ("2020-05-01 11:36:18,124 - 10.1.1.5 - INFO [net.shibboleth.idp.authn.impl."
            "ValidateUsernamePasswordAgainstLDAP:152] - Profile Action ValidateUsernamePasswordAgainstLDAP: Login by "
            "'jdoe' succeeded")
    line = ShibbolethLine.parse(text)
    assert (line.remote, line.level, line.line) == ("10.1.1.5", "INFO", 152)
    assert line.render() == text

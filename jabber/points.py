"""Where in Jabber's source each csf-unified line comes from.

Lines marked *seed* are copied from the seed article's Jabber log; the others are modelled on Jabber's naming and
are listed as such in ``docs/flow.md``.
"""

from __future__ import annotations

from common.logformats.csf import LogPoint

_SSO = r"dependencies\csf2g\services\impl\system\SingleSignOn.cpp"
_PROFILE = r"dependencies\csf2g\services\impl\system\UserProfileManager.cpp"
_BROWSER = r"jabberwerx\plugins\webwindowplugin\browsercontroller.cpp"
_DNS = r"dependencies\csf2g\csfnetutils\src\dns\DnsUtils.cpp"
_EDGE = r"dependencies\csf2g\services\impl\edge\EdgeConfigProvider.cpp"
_UDS = r"dependencies\csf2g\services\impl\uds\UdsClient.cpp"
_OAUTH = r"dependencies\csf2g\services\impl\system\OAuthTokenManager.cpp"

TOKEN_REUSE = LogPoint(_SSO, 206, "Single-Sign-On-Logger",
                       "CSFUnified::SingleSignOn::Impl::isAuthenticatorTokenReuseEnabled")  # seed
AUTH_MODE = LogPoint(_SSO, 329, "Single-Sign-On-Logger",
                     "CSFUnified::SingleSignOn::Impl::setCredentialAuthorizationMode")  # seed
CREDENTIALS = LogPoint(_PROFILE, 153, "UserProfileManager",
                       "CSFUnified::UserProfileManager::Impl::getCredentialsForAuthenticator")  # seed
NEEDS_AUTH = LogPoint(_SSO, 2044, "Single-Sign-On-Logger",
                      "CSFUnified::SingleSignOn::Impl::currentServiceNeedsAuthorization")  # seed
NAVIGATE = LogPoint(_BROWSER, 167, "PluginUtils", "BrowserController::NavigateTo")  # seed
BROWSER_NAV = LogPoint(_BROWSER, 241, "PluginUtils", "BrowserController::OnBeforeNavigate")
BROWSER_ERROR = LogPoint(_BROWSER, 298, "PluginUtils", "BrowserController::OnNavigateError")
SSO_MODE = LogPoint(_SSO, 254, "Single-Sign-On-Logger", "CSFUnified::SingleSignOn::Impl::isSSOEnabled")
DNS = LogPoint(_DNS, 312, "csf.dns", "csf::dns::mapFromDnsResult")
# Real: shared/reference/real-logs/jabber-unresolved-host-a-record (Cisco TAC doc 221845).
DNS_WINDOWS = LogPoint(r"src\dnsutils\win32\win32DnsUtils.cpp", 47, "csf.dns", "csf::dns::mapFromWindowsDNSResult")
_HTTP = r"ls\src\http\BasicHttpClientImpl.cpp"
HTTP_RESPONSE = LogPoint(_HTTP, 675, "csf.httpclient", "csf::http::performRequest")  # real (doc 221845)
HTTP_FAILURE = LogPoint(_HTTP, 568, "csf.httpclient", "csf::http::executeImpl")  # real (doc 221845)
# Modelled: the discovery result and the certificate check (docs/transport.md, "What is modelled").
DISCOVERY = LogPoint(r"dependencies\csf2g\services\impl\discovery\ServiceDiscoveryHandler.cpp", 218,
                     "ServiceDiscoveryHandler", "CSFUnified::ServiceDiscoveryHandlerImpl::onServiceDiscoveryResult")
CERT = LogPoint(r"dependencies\csf2g\csfnetutils\src\cert\BaseCertVerifier.cpp", 302, "csf.cert",
                "csf::cert::BaseCertVerifier::verifyCertificate")
AUTH_CODE = LogPoint(_SSO, 1187, "Single-Sign-On-Logger", "CSFUnified::SingleSignOn::Impl::onAuthorizationCodeReceived")
TOKENS = LogPoint(_OAUTH, 421, "Single-Sign-On-Logger", "CSFUnified::OAuthTokenManager::Impl::handleTokenResponse")
EDGE_CONFIG = LogPoint(_EDGE, 268, "EdgeConfigProvider", "CSFUnified::EdgeConfigProvider::Impl::handleEdgeConfig")
UDS = LogPoint(_UDS, 590, "UdsClient", "CSFUnified::UdsClient::Impl::onResponse")
FAILURE = LogPoint(_EDGE, 512, "EdgeConfigProvider", "CSFUnified::EdgeConfigProvider::Impl::handleFailure")
REFRESH = LogPoint(_OAUTH, 512, "Single-Sign-On-Logger", "CSFUnified::OAuthTokenManager::Impl::refreshAccessToken")
REFRESH_FAILURE = LogPoint(_SSO, 1633, "Single-Sign-On-Logger",
                           "CSFUnified::SingleSignOn::Impl::handleRefreshTokenFailure")

_TRI = r"jwcpp\xmppcore\patch\TriClient.cpp"
_GLOOX = r"rwerx\jwcpp\xmppcore\src\client.cpp"
_XMPP = r"dependencies\csf2g\services\impl\presence\XmppConnectionManager.cpp"
XMPP_RECV = LogPoint(_TRI, 1636, "csf.jwcpp", "gloox::CTriClient::HandleXmlTag")  # seed
SASL_TOKEN = LogPoint(_TRI, 1110, "csf.jwcpp", "gloox::CTriClient::HandleStreamFeatures")  # seed
SASL_MECHANISM = LogPoint(_TRI, 1111, "csf.jwcpp", "gloox::CTriClient::HandleStreamFeatures")  # seed
NO_MECHANISM = LogPoint(_GLOOX, 192, "csf.jwcpp", "gloox::Client::handleNormalNode")  # seed
XMPP_SEND = LogPoint(_TRI, 1702, "csf.jwcpp", "gloox::CTriClient::send")
XMPP_STATE = LogPoint(_XMPP, 318, "XmppConnectionManager", "CSFUnified::XmppConnectionManager::onConnectionState")
EPAS = LogPoint(_XMPP, 244, "XmppConnectionManager", "CSFUnified::XmppConnectionManager::loginEpas")

# SIP (phone services), Cisco TAC 215572 "Cisco Jabber and SIP OAuth Mode": every location there is from the article.
_ECC = r"src\callcontrol\ServicesManager.cpp"
_CERTHELPER = r"src\callcontrol\config\CertificateVerificationHelper.cpp"
_SIPCONN = r"\sipcc\core\sipstack\sip_transport_connection.c"
_CCAPP = r"\sipcc\core\ccapp\config\config_parser.c"
DEVICE_CONFIG = LogPoint(_ECC, 993, "csf.ecc", "csf::ecc::ServicesManager::fetchDeviceConfig")  # TAC 215572
SIP_OAUTH_MODE = LogPoint(_CERTHELPER, 35, "csf.ecc", "csf::ecc::CertificateVerificationHelper::setSipOauthMode")
CCM_PROPERTIES = LogPoint(_CCAPP, 1491, "csf.sip-call-control", "config_process_ccm_properties")  # TAC 215572
SIP_CONNECTION = LogPoint(_SIPCONN, 431, "csf.sip-call-control", "sip_create_transport_connection")  # TAC 215572
# modelled: the registration outcome as the call control layer reports it
REGISTRATION = LogPoint(r"src\callcontrol\CallControlManagerImpl.cpp", 1878, "csf.ecc",
                        "csf::ecc::CallControlManagerImpl::onRegistrationStateChange")

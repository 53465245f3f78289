//! TLS for MS-KKDCP with rustls (ring provider): clients trust the system roots plus any extra
//! CA files (`--ca-file`, `SSL_CERT_FILE`, krb5.conf `http_anchors`) and verify host names;
//! the proxy server loads a PEM certificate chain and key ([`ServerIdentity`]). rustls's own
//! types stay inside this crate.
//!
//! A certificate the user named as trusted is accepted as the server's own even when WebPKI
//! would refuse it as an end entity (OpenSSL's `req -x509` marks it CA:TRUE), as MIT krb5, curl
//! and Python do: its host name and dates must still fit, and the handshake must prove its key.

use keyless_krb::Error;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| Error::Config(format!("{}: not a PEM certificate file ({e})", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!("{}: no certificate in it", path.display())));
    }
    Ok(certs)
}

/// A client configuration: system roots (when available) plus `extra_cas` and
/// `SSL_CERT_FILE` (PEM files).
///
/// # Errors
/// [`Error::Config`] for an unreadable CA file or no trusted root at all.
pub(crate) fn client_config(extra_cas: &[PathBuf]) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert); // a malformed system root must not stop us
    }
    let mut named = Vec::new();
    // SSL_CERT_FILE names one more, as for curl and Python (and its certificates are trusted
    // as a server's own, like --ca-file's).
    let env_ca = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    for ca in extra_cas.iter().chain(env_ca.as_ref()) {
        for cert in certs(ca)? {
            roots.add(cert.clone()).map_err(|e| Error::Config(format!("{}: {e}", ca.display())))?;
            named.push(cert);
        }
    }
    if roots.is_empty() {
        return Err(Error::Config(
            "no trusted CA certificates: the system has none (ca-certificates) and none was named".into(),
        ));
    }
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NamedOrWebPki { named, webpki }))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// WebPKI path validation, or else the server's certificate is byte for byte one the user
/// named as trusted (then its name and dates are checked here; the handshake signature is
/// checked against its key as always).
#[derive(Debug)]
struct NamedOrWebPki {
    named: Vec<CertificateDer<'static>>,
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for NamedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refused = match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        if !self.named.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return Err(refused);
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        match validity(end_entity.as_ref()) {
            Some((not_before, not_after)) if (not_before..=not_after).contains(&now.as_secs()) => {
                Ok(ServerCertVerified::assertion())
            }
            Some((not_before, _)) if now.as_secs() < not_before => {
                Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidYet))
            }
            Some(_) => Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Expired)),
            None => Err(rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The certificate's notBefore and notAfter in Unix seconds (RFC 5280 4.1: Certificate ::=
/// SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
/// issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... }).
fn validity(der: &[u8]) -> Option<(u64, u64)> {
    let (_, cert, _) = der_element(der)?;
    let (_, mut tbs, _) = der_element(cert)?;
    let (tag, _, rest) = der_element(tbs)?;
    if tag == 0xA0 {
        tbs = rest;
    }
    for _ in 0..3 {
        tbs = der_element(tbs)?.2; // serialNumber, signature, issuer
    }
    let (_, validity, _) = der_element(tbs)?;
    let (tag, not_before, rest) = der_element(validity)?;
    let not_before = der_time(tag, not_before)?;
    let (tag, not_after, _) = der_element(rest)?;
    Some((not_before, der_time(tag, not_after)?))
}

/// One DER element: (tag, contents, what follows). Single-byte tags, definite lengths.
fn der_element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, mut b) = b.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, rest) = b.split_at_checked(n)?;
        b = rest;
        bytes.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x))
    };
    let (contents, rest) = b.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// UTCTime (0x17, YYMMDDHHMMSSZ; years 50..99 are 19xx) or GeneralizedTime (0x18,
/// YYYYMMDDHHMMSSZ) in Unix seconds.
fn der_time(tag: u8, text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let full = match (tag, text.len()) {
        (0x17, 12) => format!("{}{text}", if text[..2].parse::<u8>().ok()? >= 50 { "19" } else { "20" }),
        (0x18, 14) => text.to_string(),
        _ => return None,
    };
    let t = chrono::NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S").ok()?;
    u64::try_from(t.and_utc().timestamp()).ok()
}

/// A TLS server's identity, its certificate chain and private key, as the KDC proxy serves
/// it (TLS 1.2 and 1.3, ring's suites).
#[derive(Clone)]
pub struct ServerIdentity(pub(crate) Arc<rustls::ServerConfig>);

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerIdentity(..)")
    }
}

impl ServerIdentity {
    /// From a PEM certificate chain and a PEM private key.
    ///
    /// # Errors
    /// [`Error::Config`] for unreadable or mismatched files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, Error> {
        let chain = certs(cert)?;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| Error::Config(format!("{}: not a PEM private key ({e})", key.display())))?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| Error::Config(format!("TLS certificate and key: {e}")))?;
        Ok(Self(Arc::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_time_forms_and_refuses_others() {
        assert_eq!(der_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(der_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(der_time(0x18, b"20500101000000Z"), Some(2_524_608_000));
        assert_eq!(der_time(0x18, b"2050010100000Z"), None);
        assert_eq!(der_time(0x17, b"491231235959+0100"), None);
        assert_eq!(der_time(0x04, b"491231235959Z"), None);
    }

    #[test]
    fn truncated_certificates_have_no_validity() {
        assert_eq!(validity(&[]), None);
        assert_eq!(validity(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]), None);
        assert_eq!(validity(&[0x30, 0x03, 0x30, 0x01]), None);
    }
}

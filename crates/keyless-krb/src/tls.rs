//! TLS for MS-KKDCP with rustls (ring provider): clients trust the system roots plus any extra
//! CA files (`--ca-file`, `SSL_CERT_FILE`, krb5.conf `http_anchors`) and verify host names;
//! the proxy server loads a PEM certificate chain and key.

use crate::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
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

/// A client configuration: system roots (when available) plus `extra_cas` (PEM files).
///
/// # Errors
/// [`Error::Config`] for an unreadable CA file or no trusted root at all.
pub fn client_config(extra_cas: &[PathBuf]) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert); // a malformed system root must not stop us
    }
    for ca in extra_cas {
        for cert in certs(ca)? {
            roots.add(cert).map_err(|e| Error::Config(format!("{}: {e}", ca.display())))?;
        }
    }
    if roots.is_empty() {
        return Err(Error::Config("no trusted CA certificates: install ca-certificates or give --ca-file".into()));
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A server configuration from a PEM certificate chain and a PEM private key.
///
/// # Errors
/// [`Error::Config`] for unreadable or mismatched files.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain = certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::Config(format!("{}: not a PEM private key ({e})", key.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Config(format!("TLS certificate and key: {e}")))?;
    Ok(Arc::new(config))
}

//! The clients' TLS: Mozilla's root certificates unless the user gives a configuration.

use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;

/// Trusts the roots of `webpki-roots` (Mozilla's list); made once per process.
pub(crate) fn default_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            Arc::new(
                ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}

//! A certificate for `localhost` made in the test: the server's configuration, a client
//! configuration trusting only it, and its PEM for clients that read a file (curl).

use std::sync::Arc;

use rpc_runtime::tls::{rustls, tls_config_from_pem};

pub struct Certificate {
    pub server: Arc<rustls::ServerConfig>,
    pub client: Arc<rustls::ClientConfig>,
    pub pem: String,
}

pub fn certificate() -> Certificate {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let server = tls_config_from_pem(
        made.cert.pem().as_bytes(),
        made.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Certificate {
        server,
        client: Arc::new(client),
        pem: made.cert.pem(),
    }
}

//! Kafka with TLS and SASL for tests: a TLS listener in front of tansu,
//! presenting certificates from [`Certs::for_kafka`].
//!
//! Why a TLS front rather than tansu's own TLS: tansu 0.6 has `--cert` and
//! `--key`, but puts both in one clap group, which makes them exclude each
//! other ("the argument '--cert' cannot be used with '--key'"), and it turns
//! TLS on only when it has both. So the TLS server here is rustls (the
//! crate Sluice's MySQL side uses), terminating TLS on its own port and
//! relaying the bytes to tansu, which advertises that port to clients.
//! Sluice's librdkafka does a real OpenSSL handshake against it.
//!
//! What tansu 0.6's `--authentication` does, from its source and tried by
//! hand: every request but ApiVersions and the SASL ones is refused until
//! the connection logs in; it offers SCRAM-SHA-256 and SCRAM-SHA-512 (PLAIN
//! is not built in: the handshake ends with the connection closed) and
//! checks SCRAM against users stored with AlterUserScramCredentials. But
//! users can only be stored over a logged-in connection (`tansu user
//! create` is refused with NotAuthenticated), and its storage is memory
//! only, so no first user can ever exist: every login is refused. Without
//! `--authentication`, tansu answers every SASL handshake with "Unsupported
//! SASL mechanism". So tansu shows Sluice's SASL refusals for real, never a
//! SASL login that succeeds; librdkafka's mock cluster has no SASL either.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{ensure, Context as _};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::certs::Certs;
use super::{Tansu, TansuOptions};

/// A TLS listener that relays every connection, once the handshake is done,
/// to a plaintext port.
pub struct TlsFront {
    port: u16,
    listener: Option<TcpListener>,
    rt: Option<tokio::runtime::Runtime>,
}

impl TlsFront {
    /// Takes a port now, so a broker can be told to advertise it before
    /// [`TlsFront::serve`] starts relaying to that broker.
    pub fn bind() -> anyhow::Result<TlsFront> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        Ok(TlsFront {
            port: listener.local_addr()?.port(),
            listener: Some(listener),
            rt: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Presents `cert` (PEM chain) with `key` and relays to `backend`.
    pub fn serve(&mut self, cert: &Path, key: &Path, backend: u16) -> anyhow::Result<()> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .with_context(|| format!("reading {}", cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("reading {}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = self.listener.take().context("already serving")?;
        listener.set_nonblocking(true)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut back) = tokio::net::TcpStream::connect(("127.0.0.1", backend)).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut back).await;
                });
            }
        });
        self.rt = Some(rt);
        Ok(())
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        // Not a blocking shutdown: the front may be dropped inside a test's
        // own runtime.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A tansu reached through a [`TlsFront`]; with `authentication`, clients
/// must also log in (SASL over TLS), which none can (see above).
pub struct TlsTansu {
    pub front: TlsFront,
    pub tansu: Tansu,
}

impl TlsTansu {
    /// The front presents `certs`' `cert_name` certificate (`server` or
    /// `elsewhere`).
    pub fn start(certs: &Certs, cert_name: &str, authentication: bool) -> anyhow::Result<TlsTansu> {
        let mut front = TlsFront::bind()?;
        let tansu = Tansu::start_with(TansuOptions {
            authentication,
            advertised_port: Some(front.port()),
            host: None,
        })?;
        front.serve(
            &certs.cert_file(cert_name),
            &certs.key_file(cert_name),
            tansu.port(),
        )?;
        Ok(TlsTansu { front, tansu })
    }

    pub fn brokers(&self) -> String {
        self.front.brokers()
    }
}

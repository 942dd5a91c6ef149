//! TLS to the source: the connection attempts each `[source] tls` mode
//! makes, a failed handshake explained as what to change, and what the
//! server says about the encryption of a session.

use std::fmt;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, IoError, TlsError};
use rustls::{AlertDescription, CertificateError};

use super::endpoint::{Attempt, Endpoint, TlsMode};
use super::BinlogError;

/// MySQL's `ER_SECURE_TRANSPORT_REQUIRED`: a plaintext login refused by a
/// server with `require_secure_transport = ON` (MariaDB says "access
/// denied" instead: see [`requires_tls`]).
const ER_SECURE_TRANSPORT_REQUIRED: u16 = 3159;
/// `ER_ACCESS_DENIED_ERROR`: a login refused.
const ER_ACCESS_DENIED: u16 = 1045;

/// Connects to `source` the way its TLS mode says (without a timeout:
/// `reader::connect` puts one around all the attempts).
pub(crate) async fn connect(source: &Endpoint) -> Result<Conn, BinlogError> {
    let mode = source.tls().mode;
    let first = Attempt {
        tls: mode != TlsMode::Disabled,
        server_name: None,
    };
    let err = match Conn::new(source.opts(&first)).await {
        Ok(conn) => return Ok(conn),
        Err(e) => e,
    };
    if mode == TlsMode::Disabled && requires_tls(source, &err).await {
        return Err(BinlogError::Tls {
            url: source.url().to_string(),
            mode,
            reason: Problem::Required.explain(source),
        });
    }
    let retry = match problem(&err) {
        Some(Problem::NotOffered) if mode == TlsMode::Preferred => {
            tracing::warn!(server = source.url(), "the server does not offer TLS: connecting without encryption ([source] tls = \"preferred\"); set tls = \"required\" or stronger to refuse that");
            Attempt::default()
        }
        // mysql_async skips the name check of `verify_ca` by looking for
        // "NotValidForName" in the text of rustls's error, which rustls
        // 0.23 no longer writes, so the check fails. rustls has verified
        // the chain to the CA before it compares names: connect again,
        // checking the certificate against a name it holds. (Should a
        // later mysql_async match the error properly, the first attempt
        // succeeds and this is never reached.)
        Some(Problem::NameMismatch { presented, .. }) if mode == TlsMode::VerifyCa => {
            match presented.iter().find_map(|n| usable_name(n)) {
                Some(name) => Attempt {
                    tls: true,
                    server_name: Some(name),
                },
                None => return Err(failure(source, err)),
            }
        }
        _ => return Err(failure(source, err)),
    };
    Conn::new(source.opts(&retry))
        .await
        .map_err(|e| failure(source, e))
}

/// Whether a plaintext login refused as "access denied" is accepted over
/// TLS. MariaDB with `require_secure_transport = ON` refuses a plaintext
/// login with the same error as a wrong password (MySQL has an error of
/// its own, which [`problem`] knows); the same login tried over TLS tells
/// the two apart. That connection is closed at once.
async fn requires_tls(source: &Endpoint, err: &mysql_async::Error) -> bool {
    if !matches!(err, mysql_async::Error::Server(s) if s.code == ER_ACCESS_DENIED) {
        return false;
    }
    let probe = Attempt {
        tls: true,
        server_name: None,
    };
    match Conn::new(source.opts(&probe)).await {
        Ok(conn) => {
            let _ = conn.disconnect().await;
            true
        }
        Err(_) => false,
    }
}

/// A failed connection as the error to report: a TLS problem is definite
/// (only a change of the config or of the server fixes it), anything else
/// is a connection failure, retried.
fn failure(source: &Endpoint, e: mysql_async::Error) -> BinlogError {
    let mode = source.tls().mode;
    match problem(&e) {
        Some(p) => BinlogError::Tls {
            url: source.url().to_string(),
            mode,
            reason: p.explain(source),
        },
        None => BinlogError::Connect {
            url: source.url().to_string(),
            reason: e.to_string(),
        },
    }
}

/// What went wrong with TLS, as far as it is TLS's doing.
#[derive(Debug, PartialEq)]
enum Problem {
    /// The server has no certificate configured.
    NotOffered,
    /// Plaintext refused: `require_secure_transport = ON`.
    Required,
    /// Signed by a CA Sluice does not trust.
    UnknownIssuer,
    NameMismatch {
        expected: String,
        /// As rustls-webpki writes them: `DnsName("db.example")`,
        /// `IpAddress(10.0.0.1)`.
        presented: Vec<String>,
    },
    /// Expired, not yet valid, revoked, badly encoded...: rustls's words.
    Certificate(String),
    /// The server sent a fatal alert: it refused our certificate, or has
    /// no protocol version or cipher in common with us.
    Alert(AlertDescription),
    /// No TLS version, cipher or key exchange in common.
    Incompatible(String),
    /// A certificate or key file could not be used.
    Files(String),
    /// Anything else rustls reported.
    Other(String),
}

fn problem(e: &mysql_async::Error) -> Option<Problem> {
    match e {
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => {
            Some(Problem::NotOffered)
        }
        mysql_async::Error::Driver(DriverError::NoKeyFound) => Some(Problem::Files(
            "client_key_file holds no private key".into(),
        )),
        mysql_async::Error::Server(s)
            if s.code == ER_SECURE_TRANSPORT_REQUIRED
                || s.message.contains("require_secure_transport") =>
        {
            Some(Problem::Required)
        }
        mysql_async::Error::Io(IoError::Tls(t)) => Some(match t {
            TlsError::Tls(r) => from_rustls(r),
            TlsError::Pem(p) => Problem::Files(format!("a PEM file could not be read: {p:?}")),
            TlsError::InvalidDnsName(_) => Problem::Files(
                "the URL's host is not a valid DNS name for TLS (use tls = \"verify_ca\", or connect by the name in the certificate)".into(),
            ),
            TlsError::VerifierBuilderError(v) => Problem::Files(format!("{v}")),
        }),
        // The handshake runs inside tokio-rustls, which hands rustls's
        // error over in an io::Error.
        mysql_async::Error::Io(IoError::Io(io)) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .map(from_rustls),
        _ => None,
    }
}

fn from_rustls(e: &rustls::Error) -> Problem {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => Problem::UnknownIssuer,
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => Problem::NameMismatch {
                expected: expected.to_str().into_owned(),
                presented: presented.clone(),
            },
            CertificateError::NotValidForName => Problem::NameMismatch {
                expected: String::new(),
                presented: Vec::new(),
            },
            other => Problem::Certificate(other.to_string()),
        },
        rustls::Error::AlertReceived(a) => Problem::Alert(*a),
        rustls::Error::PeerIncompatible(p) => Problem::Incompatible(format!("{p:?}")),
        other => Problem::Other(other.to_string()),
    }
}

/// A name from rustls-webpki's list that the certificate is valid for and
/// that can stand for the server in a new handshake: a DNS name (a
/// wildcard's `*` replaced by a label it matches) or an IP address.
fn usable_name(presented: &str) -> Option<String> {
    if let Some(dns) = presented
        .strip_prefix("DnsName(\"")
        .and_then(|r| r.strip_suffix("\")"))
    {
        return Some(match dns.strip_prefix("*.") {
            Some(rest) => format!("sluice.{rest}"),
            None => dns.to_string(),
        });
    }
    presented
        .strip_prefix("IpAddress(")
        .and_then(|r| r.strip_suffix(')'))
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_string)
}

/// The names as a person reads them: `db.example, 10.0.0.1`.
fn shown_names(presented: &[String]) -> String {
    let names: Vec<String> = presented
        .iter()
        .map(|n| {
            n.strip_prefix("DnsName(\"")
                .and_then(|r| r.strip_suffix("\")"))
                .or_else(|| {
                    n.strip_prefix("IpAddress(")
                        .and_then(|r| r.strip_suffix(')'))
                })
                .unwrap_or(n)
                .to_string()
        })
        .collect();
    names.join(", ")
}

impl Problem {
    /// The cause and what to change, for the error message.
    fn explain(&self, source: &Endpoint) -> String {
        let tls = source.tls();
        let ca = match &tls.ca_file {
            Some(f) => format!(
                "the CA in ca_file ({}) did not sign it: give the CA that did",
                f.display()
            ),
            None => "give `ca_file` = the CA certificate (PEM) that signed it (without ca_file only public CAs are trusted)".into(),
        };
        match self {
            Problem::NotOffered => "the server does not offer TLS (it has no certificate: ssl_cert and ssl_key are not set, SHOW VARIABLES LIKE 'have_ssl' says DISABLED). Configure a certificate on the server, or set tls = \"preferred\" to connect without encryption when it offers none".into(),
            Problem::Required => "the server requires TLS (require_secure_transport = ON) and refused the plaintext login: set tls = \"verify_identity\" with ca_file (or \"verify_ca\", \"required\", \"preferred\")".into(),
            Problem::UnknownIssuer => format!("certificate not trusted: {ca}"),
            Problem::NameMismatch { expected, presented } => {
                let names = if presented.is_empty() {
                    String::new()
                } else {
                    format!("; the certificate is for {}", shown_names(presented))
                };
                format!("hostname mismatch: the server's certificate is not for {}{names}. Connect by a name the certificate holds (in [source] url), or use tls = \"verify_ca\" to check only that a trusted CA signed it", if expected.is_empty() { "the host in the URL" } else { expected })
            }
            Problem::Certificate(why) => format!("the server's certificate was refused: {why}; renew or fix it on the server"),
            Problem::Alert(a) => match a {
                AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateRequired
                | AlertDescription::CertificateUnknown
                | AlertDescription::AccessDenied => format!(
                    "the server refused the handshake ({a:?}): {}",
                    match tls.client_cert {
                        Some(_) => "it does not accept client_cert_file: it must be signed by a CA in the server's ssl_ca",
                        None => "it wants a client certificate: set client_cert_file and client_key_file",
                    }
                ),
                AlertDescription::ProtocolVersion | AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => format!("the server refused the handshake ({a:?}): no TLS version or cipher in common; Sluice speaks TLS 1.2 and 1.3 with modern ciphers: allow them on the server (tls_version, ssl_cipher)"),
                other => format!("the server ended the handshake with the alert {other:?}"),
            },
            Problem::Incompatible(why) => format!("no TLS version or cipher in common ({why}); Sluice speaks TLS 1.2 and 1.3 with modern ciphers: allow them on the server (tls_version, ssl_cipher)"),
            Problem::Files(why) => format!("{why}; check ca_file, client_cert_file and client_key_file"),
            Problem::Other(why) => why.clone(),
        }
    }
}

/// Whether a session is encrypted, as the server reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Encryption {
    /// `Ssl_version`, e.g. `TLSv1.3`; `None` for plaintext (or a Unix socket).
    pub version: Option<String>,
    /// `Ssl_cipher`, e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher: Option<String>,
}

impl fmt::Display for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.version, &self.cipher) {
            (Some(v), Some(c)) => write!(f, "encrypted ({v}, {c})"),
            (Some(v), None) => write!(f, "encrypted ({v})"),
            _ => f.write_str("not encrypted"),
        }
    }
}

/// The `tls` line of `sluice check`: what the session is, and what the
/// mode checked.
pub(crate) fn describe(e: &Encryption, mode: TlsMode) -> String {
    if e.version.is_none() {
        return match mode {
            TlsMode::Disabled => format!("{e} (tls = \"{mode}\")"),
            TlsMode::Preferred => format!("{e}: the server offers no TLS (tls = \"{mode}\"); set tls = \"required\" or stronger to insist on it"),
            // A Unix socket given in the URL: mysql_async does not put TLS
            // on one, and the server counts it as secure.
            _ => format!("{e}: a Unix socket, which TLS does not cover (tls = \"{mode}\")"),
        };
    }
    let checked = match mode {
        TlsMode::VerifyIdentity => "certificate trusted and issued for this host",
        TlsMode::VerifyCa => "certificate signed by a trusted CA (host name not checked)",
        _ => "certificate not checked",
    };
    format!("{e}; tls = \"{mode}\": {checked}")
}

/// The session's `Ssl_version` and `Ssl_cipher` (empty when plaintext).
pub(crate) async fn encryption(conn: &mut Conn) -> Encryption {
    let rows: Vec<(String, String)> = conn
        .query("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
        .await
        .unwrap_or_default();
    let get = |name: &str| {
        rows.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    Encryption {
        version: get("Ssl_version"),
        cipher: get("Ssl_cipher"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::endpoint::TlsSettings;
    use rustls::pki_types::ServerName;

    fn source(mode: TlsMode) -> Endpoint {
        let tls = TlsSettings {
            mode,
            ..Default::default()
        };
        Endpoint::new("mysql://u@db.example:3306".into(), None, tls).unwrap()
    }

    fn in_handshake(e: rustls::Error) -> mysql_async::Error {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        mysql_async::Error::Io(IoError::Io(io))
    }

    #[test]
    fn a_name_mismatch_names_what_the_certificate_is_for() {
        let e = in_handshake(
            CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("db.example").unwrap().to_owned(),
                presented: vec![
                    "DnsName(\"wrong.example\")".into(),
                    "IpAddress(10.0.0.9)".into(),
                ],
            }
            .into(),
        );
        let err = failure(&source(TlsMode::VerifyIdentity), e).to_string();
        assert!(err.starts_with("TLS to MySQL at mysql://u@db.example:3306 failed (tls = \"verify_identity\"): hostname mismatch: the server's certificate is not for db.example; the certificate is for wrong.example, 10.0.0.9"), "{err}");
        assert!(err.contains("verify_ca"), "{err}");
    }

    #[test]
    fn each_problem_says_what_to_change() {
        let s = source(TlsMode::VerifyCa);
        let unknown = in_handshake(CertificateError::UnknownIssuer.into());
        assert!(failure(&s, unknown)
            .to_string()
            .contains("certificate not trusted: give `ca_file`"));
        let not_offered = mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer);
        assert!(failure(&s, not_offered)
            .to_string()
            .contains("the server does not offer TLS"));
        let required = mysql_async::Error::Server(mysql_async::ServerError {
            code: 3159,
            message: "Connections using insecure transport are prohibited while --require_secure_transport=ON.".into(),
            state: "08004".into(),
        });
        let err = failure(&source(TlsMode::Disabled), required);
        assert!(!err.is_transient());
        assert!(
            err.to_string()
                .contains("the server requires TLS (require_secure_transport = ON)"),
            "{err}"
        );
        let refused = in_handshake(rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired,
        ));
        assert!(failure(&s, refused)
            .to_string()
            .contains("set client_cert_file and client_key_file"));
    }

    #[test]
    fn other_failures_stay_connection_failures() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = failure(
            &source(TlsMode::Required),
            mysql_async::Error::Io(IoError::Io(refused)),
        );
        assert!(matches!(err, BinlogError::Connect { .. }), "{err}");
        assert!(err.is_transient());
    }

    #[test]
    fn names_for_a_second_handshake() {
        assert_eq!(
            usable_name("DnsName(\"db.example\")").as_deref(),
            Some("db.example")
        );
        assert_eq!(
            usable_name("DnsName(\"*.db.example\")").as_deref(),
            Some("sluice.db.example")
        );
        assert_eq!(
            usable_name("IpAddress(127.0.0.1)").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(usable_name("DirectoryName"), None);
    }

    #[test]
    fn encryption_reads_as_a_sentence() {
        let e = Encryption {
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS_AES_256_GCM_SHA384".into()),
        };
        assert_eq!(e.to_string(), "encrypted (TLSv1.3, TLS_AES_256_GCM_SHA384)");
        assert_eq!(Encryption::default().to_string(), "not encrypted");
    }
}

//! How Sluice reaches the source server: its URL (kept without a password,
//! so it can be shown anywhere), the password apart as a [`Secret`], and
//! the TLS settings. Every connection Sluice makes to the source (the
//! binlog stream, preflight and `sluice check`, the snapshot reader,
//! `sluice snapshot`) is built by [`Endpoint::opts`] through
//! `reader::connect`, so they all log in and encrypt the same way.

use std::fmt;
use std::path::PathBuf;

use mysql_async::{ClientIdentity, Opts, OptsBuilder, SslOpts};

use crate::secret::Secret;

/// `[source] tls`: how much of TLS Sluice insists on. The names and their
/// meaning are those of the `mysql` client's `--ssl-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plaintext, even when the server offers TLS.
    Disabled,
    /// TLS when the server offers it, plaintext when it does not; the
    /// certificate is not checked.
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    Required,
    /// TLS with a certificate signed by a trusted CA, for any host name.
    VerifyCa,
    /// TLS with a trusted certificate issued for the host Sluice connects to.
    VerifyIdentity,
}

/// Encrypt whenever the server can (every MySQL 8+ and every cloud
/// database can) and still work against a server without a certificate,
/// as the `mysql` client and Debezium do by default; docs/CONFIG.md says
/// why this and not a stricter default.
pub(crate) const DEFAULT_TLS: TlsMode = TlsMode::Preferred;

impl TlsMode {
    pub(crate) const ALL: [TlsMode; 5] = [
        TlsMode::Disabled,
        TlsMode::Preferred,
        TlsMode::Required,
        TlsMode::VerifyCa,
        TlsMode::VerifyIdentity,
    ];

    /// The name written in the config file.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Preferred => "preferred",
            TlsMode::Required => "required",
            TlsMode::VerifyCa => "verify_ca",
            TlsMode::VerifyIdentity => "verify_identity",
        }
    }

    pub fn from_name(name: &str) -> Option<TlsMode> {
        TlsMode::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether the server's certificate is checked against the CAs.
    pub fn verifies(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyIdentity)
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The TLS part of `[source]`, already checked: files exist and hold what
/// they should, and each is only set where the mode uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: TlsMode,
    /// The CA certificates (PEM) the server's certificate must be signed
    /// by; only with `verify_ca` and `verify_identity`. Without it the
    /// public CAs built into Sluice (Mozilla's list) are trusted.
    pub ca_file: Option<PathBuf>,
    /// A certificate and key Sluice logs in with, for a user created
    /// `REQUIRE X509` or `REQUIRE SUBJECT`.
    pub client_cert: Option<ClientCert>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            mode: DEFAULT_TLS,
            ca_file: None,
            client_cert: None,
        }
    }
}

/// `client_cert_file` and `client_key_file` (PEM), always both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// The source server and how to log in to it. `Debug` shows the URL
/// (which has no password) and the TLS settings, never the password.
#[derive(Clone, PartialEq)]
pub struct Endpoint {
    /// `mysql://user@host:port/...`, without a password.
    url: String,
    /// Parsed from `url` once, so connecting cannot fail on the URL.
    base: Opts,
    password: Option<Secret>,
    tls: TlsSettings,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("password", &self.password)
            .field("tls", &self.tls)
            .finish()
    }
}

/// URL parameters of mysql_async that would set TLS behind `[source] tls`.
pub(crate) const TLS_URL_PARAMETERS: [&str; 4] = [
    "require_ssl",
    "verify_ca",
    "verify_identity",
    "built_in_roots",
];

impl Endpoint {
    /// `url` must not hold a password (it is shown in messages): the
    /// config takes it out and passes it as `password`.
    pub fn new(
        url: String,
        password: Option<Secret>,
        tls: TlsSettings,
    ) -> Result<Endpoint, String> {
        match url::Url::parse(&url) {
            Ok(u) if u.password().is_none() => {}
            _ => return Err("the URL must not hold the password".into()),
        }
        let base = Opts::from_url(&url).map_err(|e| e.to_string())?;
        Ok(Endpoint {
            url,
            base,
            password,
            tls,
        })
    }

    /// The URL to show: it has no password.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// The options for one connection attempt.
    pub(crate) fn opts(&self, attempt: &Attempt) -> Opts {
        let mut b = OptsBuilder::from_opts(self.base.clone());
        if let Some(p) = &self.password {
            b = b.pass(Some(p.expose()));
        }
        if !attempt.tls {
            return b.ssl_opts(None::<SslOpts>).into();
        }
        // mysql_async moves a connection to a local server over to its Unix
        // socket after logging in, which TLS does not cover; with TLS asked
        // for, the connection stays on TCP and is encrypted.
        b.prefer_socket(false)
            .ssl_opts(self.ssl_opts(attempt))
            .into()
    }

    fn ssl_opts(&self, attempt: &Attempt) -> SslOpts {
        let t = &self.tls;
        let mut ssl = SslOpts::default()
            // `preferred` and `required` encrypt without checking who
            // answers, as the mysql client does in these modes.
            .with_danger_accept_invalid_certs(!t.mode.verifies())
            .with_danger_skip_domain_validation(t.mode != TlsMode::VerifyIdentity);
        if let Some(ca) = &t.ca_file {
            // The CA given is the only one trusted: a public CA's
            // certificate for the same name is not the server's.
            ssl = ssl
                .with_root_certs(vec![ca.clone().into()])
                .with_disable_built_in_roots(true);
        }
        if let Some(c) = &t.client_cert {
            ssl = ssl.with_client_identity(Some(ClientIdentity::new(
                c.cert_file.clone().into(),
                c.key_file.clone().into(),
            )));
        }
        if let Some(name) = &attempt.server_name {
            ssl = ssl.with_danger_tls_hostname_override(Some(name.clone()));
        }
        ssl
    }
}

/// One way of connecting; `reader::connect` tries them in turn.
#[derive(Clone, Debug, Default)]
pub(crate) struct Attempt {
    /// Ask for TLS.
    pub tls: bool,
    /// Check the certificate against this name instead of the URL's host.
    pub server_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(mode: TlsMode) -> Endpoint {
        let tls = TlsSettings {
            mode,
            ca_file: Some("/etc/ca.pem".into()),
            client_cert: None,
        };
        Endpoint::new(
            "mysql://sluice@db.example:3306".into(),
            Some(Secret::new("hunter2-sluice")),
            tls,
        )
        .unwrap()
    }

    #[test]
    fn names_read_back() {
        for m in TlsMode::ALL {
            assert_eq!(TlsMode::from_name(m.name()), Some(m));
        }
        assert_eq!(TlsMode::from_name("VERIFY_CA"), None);
    }

    #[test]
    fn debug_shows_the_url_and_never_the_password() {
        let e = endpoint(TlsMode::VerifyCa);
        let shown = format!("{e:?} {e:#?}");
        assert!(shown.contains("mysql://sluice@db.example:3306"), "{shown}");
        assert!(shown.contains("VerifyCa"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let opts = e.opts(&Attempt::default());
        assert_eq!(opts.pass(), Some("hunter2-sluice"));
        assert_eq!(opts.user(), Some("sluice"));
    }

    #[test]
    fn a_url_with_a_password_is_refused() {
        let err =
            Endpoint::new("mysql://u:pw@h:1".into(), None, TlsSettings::default()).unwrap_err();
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn each_mode_checks_what_it_says() {
        let tls = Attempt {
            tls: true,
            server_name: None,
        };
        let plain = endpoint(TlsMode::Disabled).opts(&Attempt::default());
        assert!(plain.ssl_opts().is_none());

        let opts = endpoint(TlsMode::Required).opts(&tls);
        let ssl = opts.ssl_opts().expect("TLS");
        assert!(ssl.accept_invalid_certs());
        assert!(!opts.prefer_socket());

        let opts = endpoint(TlsMode::VerifyCa).opts(&tls);
        let ssl = opts.ssl_opts().expect("TLS");
        assert!(!ssl.accept_invalid_certs() && ssl.skip_domain_validation());
        assert!(ssl.disable_built_in_roots());
        assert_eq!(ssl.root_certs().len(), 1);

        let named = Attempt {
            tls: true,
            server_name: Some("db.internal".into()),
        };
        let opts = endpoint(TlsMode::VerifyIdentity).opts(&named);
        let ssl = opts.ssl_opts().expect("TLS");
        assert!(!ssl.accept_invalid_certs() && !ssl.skip_domain_validation());
        assert_eq!(ssl.tls_hostname_override(), Some("db.internal"));
    }
}

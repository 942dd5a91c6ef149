//! How Sluice's Kafka clients connect: plaintext, TLS, SASL, or SASL over
//! TLS. [`client_config`] is where every librdkafka configuration starts,
//! so the producer, the topic admin, the probe and `sluice tail` all
//! connect the same way.
//!
//! librdkafka is built with OpenSSL, which gives it TLS and SASL SCRAM;
//! SASL PLAIN is built in. GSSAPI (Kerberos) would need libsasl2 and is not
//! built; OAUTHBEARER needs a token source Sluice does not provide.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;

use crate::secret::Secret;

/// `[kafka] security_protocol`: librdkafka's `security.protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];

    /// The name in the config file, which librdkafka takes as it is.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    /// Any case, as librdkafka accepts (`SASL_SSL` is the usual spelling in
    /// Kafka's own docs).
    pub fn from_name(name: &str) -> Option<SecurityProtocol> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// `[kafka] sasl_mechanism`: the mechanisms this build of librdkafka has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    pub const ALL: [SaslMechanism; 3] = [
        SaslMechanism::Plain,
        SaslMechanism::ScramSha256,
        SaslMechanism::ScramSha512,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<SaslMechanism> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

/// Who Sluice is to brokers that want SASL.
#[derive(Clone, Debug, PartialEq)]
pub struct SaslLogin {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: Secret,
}

/// A client certificate, for brokers that authenticate clients by TLS.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientCert {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// For an encrypted key.
    pub key_password: Option<Secret>,
}

/// How every Kafka client connects. Built by `config` from the named keys
/// of `[kafka]` and the TLS and SASL properties of `[kafka.producer]`, which
/// it has checked against each other.
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaSecurity {
    pub protocol: SecurityProtocol,
    /// Set exactly when `protocol` uses SASL.
    pub sasl: Option<SaslLogin>,
    /// The CA that signed the brokers' certificates; `None`: the system's
    /// CAs. Only with a TLS protocol.
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<ClientCert>,
    /// Whether the brokers' certificates must name the host Sluice
    /// connects to (librdkafka's `ssl.endpoint.identification.algorithm`).
    pub verify_hostname: bool,
    /// Other `ssl.*` and `sasl.*` librdkafka properties from
    /// `[kafka.producer]`, given to every client. Kept as secrets: some of
    /// them are keys or passwords (`ssl.key.pem`, `ssl.keystore.password`).
    pub extra: BTreeMap<String, Secret>,
}

impl Default for KafkaSecurity {
    fn default() -> Self {
        KafkaSecurity {
            protocol: super::settings::DEFAULT_SECURITY_PROTOCOL,
            sasl: None,
            ca_file: None,
            client_cert: None,
            verify_hostname: super::settings::DEFAULT_SSL_VERIFY_HOSTNAME,
            extra: BTreeMap::new(),
        }
    }
}

impl KafkaSecurity {
    /// Sets the librdkafka properties for these settings on `cc`.
    fn apply(&self, cc: &mut ClientConfig) {
        cc.set("security.protocol", self.protocol.name());
        if let Some(sasl) = &self.sasl {
            cc.set("sasl.mechanism", sasl.mechanism.name());
            cc.set("sasl.username", &sasl.username);
            cc.set("sasl.password", sasl.password.expose());
        }
        if self.protocol.tls() {
            if let Some(ca) = &self.ca_file {
                cc.set("ssl.ca.location", ca.display().to_string());
            }
            if let Some(c) = &self.client_cert {
                cc.set(
                    "ssl.certificate.location",
                    c.cert_file.display().to_string(),
                );
                cc.set("ssl.key.location", c.key_file.display().to_string());
                if let Some(p) = &c.key_password {
                    cc.set("ssl.key.password", p.expose());
                }
            }
            cc.set(
                "ssl.endpoint.identification.algorithm",
                if self.verify_hostname {
                    "https"
                } else {
                    "none"
                },
            );
        }
        for (k, v) in &self.extra {
            cc.set(k, v.expose());
        }
    }

    /// How Sluice connects, for messages: the protocol, the mechanism and
    /// the user, never a password.
    pub fn describe(&self) -> String {
        match &self.sasl {
            Some(s) => format!(
                "security_protocol = \"{}\", sasl_mechanism = \"{}\", sasl_username = \"{}\"",
                self.protocol.name(),
                s.mechanism.name(),
                s.username
            ),
            None => format!("security_protocol = \"{}\"", self.protocol.name()),
        }
    }
}

/// A configuration for a client of `brokers`, with the security settings
/// set: every client Sluice creates starts from this.
pub(crate) fn client_config(brokers: &str, security: &KafkaSecurity) -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", brokers);
    security.apply(&mut cc);
    cc
}

/// A client creation error as a message. librdkafka's "invalid value"
/// error carries the value, which may be a password: only the property is
/// named.
pub(crate) fn creation_error(e: &KafkaError) -> String {
    match e {
        KafkaError::ClientConfig(_, desc, key, _) => {
            format!("invalid librdkafka property {key}: {}", without_value(desc))
        }
        other => other.to_string(),
    }
}

/// librdkafka's description of a bad property, with any quoted value cut
/// out ("Invalid value "x" for configuration property "y"").
fn without_value(desc: &str) -> String {
    match desc.split_once("Invalid value \"") {
        Some((before, rest)) => match rest.split_once("\" for ") {
            Some((_, after)) => format!("{before}invalid value for {after}"),
            None => format!("{before}invalid value"),
        },
        None => desc.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_in_any_case() {
        for p in SecurityProtocol::ALL {
            assert_eq!(SecurityProtocol::from_name(p.name()), Some(p));
            assert_eq!(
                SecurityProtocol::from_name(&p.name().to_uppercase()),
                Some(p)
            );
        }
        for m in SaslMechanism::ALL {
            assert_eq!(SaslMechanism::from_name(m.name()), Some(m));
            assert_eq!(SaslMechanism::from_name(&m.name().to_lowercase()), Some(m));
        }
        assert_eq!(SecurityProtocol::from_name("tls"), None);
        assert_eq!(SaslMechanism::from_name("GSSAPI"), None);
    }

    fn login() -> KafkaSecurity {
        KafkaSecurity {
            protocol: SecurityProtocol::SaslSsl,
            sasl: Some(SaslLogin {
                mechanism: SaslMechanism::ScramSha512,
                username: "sluice".into(),
                password: Secret::new("hunter2-sluice"),
            }),
            ca_file: Some("/etc/ca.pem".into()),
            client_cert: None,
            verify_hostname: false,
            extra: [("ssl.cipher.suites".to_string(), Secret::new("HIGH"))].into(),
        }
    }

    #[test]
    fn every_setting_reaches_librdkafka() {
        let cc = client_config("b:9093", &login());
        assert_eq!(cc.get("bootstrap.servers"), Some("b:9093"));
        assert_eq!(cc.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(cc.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(cc.get("sasl.username"), Some("sluice"));
        assert_eq!(cc.get("sasl.password"), Some("hunter2-sluice"));
        assert_eq!(cc.get("ssl.ca.location"), Some("/etc/ca.pem"));
        assert_eq!(
            cc.get("ssl.endpoint.identification.algorithm"),
            Some("none")
        );
        assert_eq!(cc.get("ssl.cipher.suites"), Some("HIGH"));

        let plain = client_config("b:9092", &KafkaSecurity::default());
        assert_eq!(plain.get("security.protocol"), Some("plaintext"));
        assert_eq!(plain.get("ssl.endpoint.identification.algorithm"), None);
    }

    #[test]
    fn no_password_in_descriptions_debug_or_errors() {
        let s = login();
        let shown = format!("{} {s:?} {:?}", s.describe(), client_config("b", &s));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("SCRAM-SHA-512"), "{shown}");

        // librdkafka refuses a bad value by quoting it.
        let mut cc = ClientConfig::new();
        cc.set("acks", "hunter2-sluice");
        let err = cc
            .create::<rdkafka::producer::BaseProducer>()
            .err()
            .expect("an invalid acks value");
        let msg = creation_error(&err);
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(msg.contains("acks"), "{msg}");
    }
}

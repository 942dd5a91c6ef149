//! The TLS and SASL settings of `[kafka]` -> [`KafkaSecurity`]. They can be
//! named keys (`security_protocol`, `sasl_username`, ...) or the librdkafka
//! properties themselves under `[kafka.producer]`; either way they apply to
//! every Kafka client, not only the producer. A setting given both ways is
//! refused rather than one silently winning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::input::Input;
use super::secret::{self, SecretKeys};
use super::{suggest, ConfigError};
use crate::kafka::settings::{
    ClientCert, KafkaSecurity, SaslLogin, SaslMechanism, SecurityProtocol,
    DEFAULT_SECURITY_PROTOCOL, DEFAULT_SSL_VERIFY_HOSTNAME,
};
use crate::secret::Secret;

/// The named keys of `[kafka]` this module reads, as written.
#[derive(Debug, Default)]
pub(super) struct NamedKeys {
    pub security_protocol: Option<String>,
    pub sasl_mechanism: Option<String>,
    pub sasl_username: Option<String>,
    pub sasl_password: SecretKeys,
    pub ssl_ca_file: Option<String>,
    pub ssl_cert_file: Option<String>,
    pub ssl_key_file: Option<String>,
    pub ssl_key_password: SecretKeys,
    pub ssl_verify_hostname: Option<bool>,
}

/// The librdkafka properties that have a named key: (property, key).
const NAMED_PROPERTIES: &[(&str, &str)] = &[
    ("security.protocol", "security_protocol"),
    ("sasl.mechanism", "sasl_mechanism"),
    ("sasl.mechanisms", "sasl_mechanism"),
    ("sasl.username", "sasl_username"),
    ("sasl.password", "sasl_password"),
    ("ssl.ca.location", "ssl_ca_file"),
    ("ssl.certificate.location", "ssl_cert_file"),
    ("ssl.key.location", "ssl_key_file"),
    ("ssl.key.password", "ssl_key_password"),
    (
        "ssl.endpoint.identification.algorithm",
        "ssl_verify_hostname",
    ),
];

/// Whether a librdkafka property is about TLS or SASL, and so belongs to
/// every client rather than to the producer alone.
fn is_security_property(name: &str) -> bool {
    name == "security.protocol"
        || ["ssl.", "sasl.", "enable.ssl.", "enable.sasl."]
            .iter()
            .any(|p| name.starts_with(p))
}

/// One setting and the key it came from, for messages.
struct Given {
    value: String,
    key: String,
}

/// A secret as given: a property, or the named key's three ways. It is
/// read (a file, a variable) only once the other settings show it is used.
enum SecretGiven {
    Property(Given),
    Named(SecretKeys),
}

impl SecretGiven {
    /// The key it is set by, if it is set (`name` is the named key).
    fn key(&self, name: &str) -> Option<String> {
        match self {
            SecretGiven::Property(g) => Some(g.key.clone()),
            SecretGiven::Named(s) => [
                (s.inline.is_some(), ""),
                (s.file.is_some(), "_file"),
                (s.env.is_some(), "_env"),
            ]
            .into_iter()
            .find(|(set, _)| *set)
            .map(|(_, suffix)| format!("kafka.{name}{suffix}")),
        }
    }

    fn resolve(self, name: &str, input: &Input) -> Result<Option<Secret>, ConfigError> {
        match self {
            SecretGiven::Property(g) => Ok(Some(Secret::new(g.value))),
            SecretGiven::Named(s) => secret::resolve(&format!("kafka.{name}"), s, input),
        }
    }
}

/// Takes the TLS and SASL properties out of `producer` and checks them
/// together with the named keys.
pub(super) fn security(
    named: NamedKeys,
    producer: &mut BTreeMap<String, String>,
    input: &Input,
) -> Result<KafkaSecurity, ConfigError> {
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    producer.retain(|k, v| {
        let security = is_security_property(k);
        if security {
            props.insert(k.clone(), std::mem::take(v));
        }
        !security
    });
    let mut take = |key: &str, named_set: bool| -> Result<Option<Given>, ConfigError> {
        let mut found: Option<Given> = None;
        for (prop, _) in NAMED_PROPERTIES.iter().filter(|(_, k)| *k == key) {
            let Some(value) = props.remove(*prop) else {
                continue;
            };
            let here = format!("kafka.producer.\"{prop}\"");
            if let Some(first) = &found {
                return Err(input.in_file(
                    &here,
                    format!("{} and {here} are both set; keep one", first.key),
                ));
            }
            if named_set {
                return Err(input.in_file(
                    &here,
                    format!(
                        "also set as kafka.{key}; give it one way only (the named key is the usual one)"
                    ),
                ));
            }
            found = Some(Given { value, key: here });
        }
        Ok(found)
    };
    let named_given = |v: Option<String>, key: &str| {
        v.map(|value| Given {
            value,
            key: format!("kafka.{key}"),
        })
    };
    let secret_set = |s: &SecretKeys| s.inline.is_some() || s.file.is_some() || s.env.is_some();

    let protocol = match take("security_protocol", named.security_protocol.is_some())?
        .or_else(|| named_given(named.security_protocol, "security_protocol"))
    {
        None => None,
        Some(g) => Some((protocol(&g, input)?, g.key)),
    };
    // Values are checked before any secret is read: a misspelt mechanism
    // is the error to see, not a variable that is not exported yet.
    let mechanism = take("sasl_mechanism", named.sasl_mechanism.is_some())?
        .or_else(|| named_given(named.sasl_mechanism, "sasl_mechanism"))
        .map(|g| sasl_mechanism(&g, input).map(|m| (m, g.key)))
        .transpose()?;
    let username = take("sasl_username", named.sasl_username.is_some())?
        .or_else(|| named_given(named.sasl_username, "sasl_username"));
    let password = match take("sasl_password", secret_set(&named.sasl_password))? {
        Some(g) => SecretGiven::Property(g),
        None => SecretGiven::Named(named.sasl_password),
    };
    let ca = take("ssl_ca_file", named.ssl_ca_file.is_some())?
        .or_else(|| named_given(named.ssl_ca_file, "ssl_ca_file"));
    let cert = take("ssl_cert_file", named.ssl_cert_file.is_some())?
        .or_else(|| named_given(named.ssl_cert_file, "ssl_cert_file"));
    let key = take("ssl_key_file", named.ssl_key_file.is_some())?
        .or_else(|| named_given(named.ssl_key_file, "ssl_key_file"));
    let key_password = match take("ssl_key_password", secret_set(&named.ssl_key_password))? {
        Some(g) => SecretGiven::Property(g),
        None => SecretGiven::Named(named.ssl_key_password),
    };
    let verify = match take("ssl_verify_hostname", named.ssl_verify_hostname.is_some())? {
        Some(g) => Some((verify_algorithm(&g, input)?, g.key)),
        None => named
            .ssl_verify_hostname
            .map(|v| (v, "kafka.ssl_verify_hostname".to_string())),
    };
    // What is left has no named key: passed on as it is.
    let extra: BTreeMap<String, Secret> = props
        .into_iter()
        .map(|(k, v)| (k, Secret::new(v)))
        .collect();

    let (protocol, protocol_key) =
        protocol.unwrap_or((DEFAULT_SECURITY_PROTOCOL, "kafka.security_protocol".into()));
    let shown = protocol.name();

    let sasl = if protocol.sasl() {
        let missing = |what: &str| {
            input.in_file(
                &protocol_key,
                format!("security_protocol = \"{shown}\" needs {what} under [kafka]"),
            )
        };
        let (mechanism, _) = mechanism.ok_or_else(|| {
            missing("sasl_mechanism = \"PLAIN\", \"SCRAM-SHA-256\" or \"SCRAM-SHA-512\"")
        })?;
        let username = username.ok_or_else(|| missing("sasl_username"))?;
        if username.value.is_empty() {
            return Err(input.in_file(&username.key, "is empty"));
        }
        let password = password.resolve("sasl_password", input)?.ok_or_else(|| {
            missing("a password: sasl_password, sasl_password_file or sasl_password_env")
        })?;
        Some(SaslLogin {
            mechanism,
            username: username.value,
            password,
        })
    } else {
        let stray = [
            mechanism.map(|(_, k)| k),
            username.map(|g| g.key),
            password.key("sasl_password"),
        ];
        if let Some(key) = stray.into_iter().flatten().next() {
            return Err(input.in_file(
                &key,
                format!(
                    "is set, but security_protocol = \"{shown}\" does not use SASL; set security_protocol = \"sasl_ssl\" (or \"sasl_plaintext\") under [kafka]"
                ),
            ));
        }
        None
    };

    if !protocol.tls() {
        let stray = [
            ca.as_ref().map(|g| g.key.clone()),
            cert.as_ref().map(|g| g.key.clone()),
            key.as_ref().map(|g| g.key.clone()),
            key_password.key("ssl_key_password"),
            verify.as_ref().map(|(_, k)| k.clone()),
        ];
        if let Some(key) = stray.into_iter().flatten().next() {
            let tls = if protocol.sasl() { "sasl_ssl" } else { "ssl" };
            return Err(input.in_file(
                &key,
                format!(
                    "is set, but security_protocol = \"{shown}\" does not use TLS; set security_protocol = \"{tls}\" under [kafka]"
                ),
            ));
        }
    }

    let ca_file = ca.map(|g| readable(&g, input)).transpose()?;
    let client_cert = match (cert, key) {
        (None, None) => {
            if let Some(k) = key_password.key("ssl_key_password") {
                return Err(input.in_file(&k, "is set without ssl_key_file"));
            }
            None
        }
        (Some(c), None) => {
            return Err(input.in_file(
                &c.key,
                "a client certificate needs its private key: set ssl_key_file too",
            ))
        }
        (None, Some(k)) => {
            return Err(input.in_file(
                &k.key,
                "a private key needs its client certificate: set ssl_cert_file too",
            ))
        }
        (Some(c), Some(k)) => Some(ClientCert {
            cert_file: readable(&c, input)?,
            key_file: readable(&k, input)?,
            key_password: key_password.resolve("ssl_key_password", input)?,
        }),
    };
    Ok(KafkaSecurity {
        protocol,
        sasl,
        ca_file,
        client_cert,
        verify_hostname: verify.map_or(DEFAULT_SSL_VERIFY_HOSTNAME, |(v, _)| v),
        extra,
    })
}

fn protocol(g: &Given, input: &Input) -> Result<SecurityProtocol, ConfigError> {
    SecurityProtocol::from_name(&g.value).ok_or_else(|| {
        let names: Vec<&str> = SecurityProtocol::ALL.iter().map(|p| p.name()).collect();
        let hint = suggest(&g.value.to_lowercase(), &names)
            .map(|s| format!("did you mean \"{s}\"? "))
            .unwrap_or_default();
        input.in_file(
            &g.key,
            format!(
                "\"{}\" is not a security protocol; {hint}use \"plaintext\", \"ssl\" (TLS), \"sasl_plaintext\" or \"sasl_ssl\" (SASL over TLS)",
                g.value
            ),
        )
    })
}

fn sasl_mechanism(g: &Given, input: &Input) -> Result<SaslMechanism, ConfigError> {
    if let Some(m) = SaslMechanism::from_name(&g.value) {
        return Ok(m);
    }
    let why = match g.value.to_ascii_uppercase().as_str() {
        "GSSAPI" => "GSSAPI (Kerberos) is not built into Sluice: its librdkafka has no libsasl2; "
            .to_string(),
        "OAUTHBEARER" => {
            "OAUTHBEARER is not supported: Sluice has no OAuth token source; ".to_string()
        }
        upper => {
            let names: Vec<&str> = SaslMechanism::ALL.iter().map(|m| m.name()).collect();
            let hint = suggest(upper, &names)
                .map(|s| format!("did you mean \"{s}\"? "))
                .unwrap_or_default();
            format!("\"{}\" is not a SASL mechanism; {hint}", g.value)
        }
    };
    Err(input.in_file(
        &g.key,
        format!("{why}use \"PLAIN\", \"SCRAM-SHA-256\" or \"SCRAM-SHA-512\""),
    ))
}

/// `ssl.endpoint.identification.algorithm`: `https` checks the host name,
/// `none` does not.
fn verify_algorithm(g: &Given, input: &Input) -> Result<bool, ConfigError> {
    match g.value.to_ascii_lowercase().as_str() {
        "https" => Ok(true),
        "none" => Ok(false),
        _ => Err(input.in_file(
            &g.key,
            format!("\"{}\" is neither \"https\" nor \"none\"", g.value),
        )),
    }
}

/// A certificate or key file (or, for `ssl.ca.location`, a directory of
/// CAs or librdkafka's `probe`) that Sluice can read now: a wrong path is
/// reported at start, not as a TLS failure later.
fn readable(g: &Given, input: &Input) -> Result<PathBuf, ConfigError> {
    let path = Path::new(&g.value);
    if g.value == "probe" && g.key.contains("ssl.ca.location") {
        return Ok(path.to_owned());
    }
    let check = if path.is_dir() {
        std::fs::read_dir(path).map(|_| ())
    } else {
        std::fs::File::open(path).map(|_| ())
    };
    check.map_err(|e| {
        input.in_file(
            &g.key,
            format!(
                "cannot read {}: {e}; check the path (relative paths are from the working directory) and that Sluice may read it",
                path.display()
            ),
        )
    })?;
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError};

    const BASE: &str =
        "[source]\nurl = \"mysql://root@127.0.0.1:3306\"\n[kafka]\nbrokers = \"b:9093\"\n";

    fn parse(kafka: &str, producer: &str) -> Result<Config, ConfigError> {
        let text = format!("{BASE}{kafka}\n[kafka.producer]\n{producer}\n");
        let env = |k: &str| (k == "KAFKA_PW").then(|| "from-env-pw".to_string());
        Config::parse(Path::new("sluice.toml"), &text, &env)
    }

    fn err(kafka: &str, producer: &str) -> String {
        parse(kafka, producer).unwrap_err().to_string()
    }

    #[test]
    fn named_keys_and_producer_properties_give_the_same_settings() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let ca = ca.display();
        let named = parse(
            &format!(
                "security_protocol = \"SASL_SSL\"\nsasl_mechanism = \"scram-sha-512\"\nsasl_username = \"sluice\"\nsasl_password_env = \"KAFKA_PW\"\nssl_ca_file = \"{ca}\"\nssl_verify_hostname = false\n"
            ),
            "\"linger.ms\" = 5\n\"ssl.cipher.suites\" = \"HIGH\"\n",
        )
        .unwrap()
        .kafka;
        let props = parse(
            "",
            &format!(
                "\"linger.ms\" = 5\n\"ssl.cipher.suites\" = \"HIGH\"\n\"security.protocol\" = \"sasl_ssl\"\n\"sasl.mechanisms\" = \"SCRAM-SHA-512\"\n\"sasl.username\" = \"sluice\"\n\"sasl.password\" = \"from-env-pw\"\n\"ssl.ca.location\" = \"{ca}\"\n\"ssl.endpoint.identification.algorithm\" = \"none\"\n"
            ),
        )
        .unwrap()
        .kafka;
        assert_eq!(named.security, props.security);
        let s = &named.security;
        assert_eq!(s.protocol.name(), "sasl_ssl");
        assert_eq!(s.sasl.as_ref().unwrap().password.expose(), "from-env-pw");
        assert!(!s.verify_hostname);
        assert_eq!(s.extra["ssl.cipher.suites"].expose(), "HIGH");
        // Security properties left the producer's own list.
        assert_eq!(props.producer.keys().collect::<Vec<_>>(), vec!["linger.ms"]);
        // Nothing set: plaintext, as before.
        let plain = parse("", "").unwrap().kafka.security;
        assert_eq!(plain, Default::default());
    }

    #[test]
    fn no_secret_in_the_settings_debug_output() {
        let c = parse(
            "security_protocol = \"sasl_ssl\"\nsasl_mechanism = \"PLAIN\"\nsasl_username = \"u\"",
            "\"sasl.password\" = \"hunter2-sluice\"\n\"ssl.keystore.password\" = \"hunter3-sluice\"",
        )
        .unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("hunter"), "{shown}");
        assert_eq!(
            c.kafka.security.sasl.unwrap().password.expose(),
            "hunter2-sluice"
        );
    }

    #[test]
    fn a_setting_given_both_ways_is_refused() {
        let e = err(
            "security_protocol = \"ssl\"",
            "\"security.protocol\" = \"ssl\"",
        );
        assert!(
            e.contains("kafka.producer.\"security.protocol\": also set as kafka.security_protocol"),
            "{e}"
        );
        let e = err(
            "security_protocol = \"sasl_ssl\"\nsasl_mechanism = \"PLAIN\"\nsasl_username = \"u\"\nsasl_password_env = \"KAFKA_PW\"",
            "\"sasl.password\" = \"hunter2-sluice\"",
        );
        assert!(e.contains("also set as kafka.sasl_password"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = err(
            "",
            "\"sasl.mechanism\" = \"PLAIN\"\n\"sasl.mechanisms\" = \"PLAIN\"",
        );
        assert!(e.contains("are both set; keep one"), "{e}");
    }

    #[test]
    fn sasl_needs_its_protocol_its_mechanism_and_a_login() {
        let e = err("sasl_mechanism = \"PLAIN\"", "");
        assert!(
            e.contains("kafka.sasl_mechanism: is set, but security_protocol = \"plaintext\" does not use SASL; set security_protocol = \"sasl_ssl\""),
            "{e}"
        );
        // Said before the variable is looked for.
        let e = err("sasl_password_env = \"NOT_EXPORTED\"", "");
        assert!(
            e.contains("kafka.sasl_password_env: is set, but security_protocol = \"plaintext\" does not use SASL"),
            "{e}"
        );
        let e = err("security_protocol = \"sasl_ssl\"", "");
        assert!(e.contains("needs sasl_mechanism"), "{e}");
        let e = err(
            "security_protocol = \"sasl_ssl\"\nsasl_mechanism = \"PLAIN\"",
            "",
        );
        assert!(e.contains("needs sasl_username"), "{e}");
        let e = err(
            "security_protocol = \"sasl_plaintext\"\nsasl_mechanism = \"PLAIN\"\nsasl_username = \"u\"",
            "",
        );
        assert!(
            e.contains("needs a password: sasl_password, sasl_password_file or sasl_password_env"),
            "{e}"
        );
        let e = err(
            "security_protocol = \"sasl_plaintext\"\nsasl_mechanism = \"PLAIN\"\nsasl_username = \"u\"\nsasl_password = \"hunter2-sluice\"\nsasl_password_env = \"KAFKA_PW\"",
            "",
        );
        assert!(e.contains("give the secret one way only"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn unknown_values_get_a_suggestion_or_the_reason() {
        let e = err("security_protocol = \"sasl-ssl\"", "");
        assert!(
            e.contains("\"sasl-ssl\" is not a security protocol; did you mean \"sasl_ssl\"?"),
            "{e}"
        );
        let login =
            "sasl_username = \"u\"\nsasl_password = \"p\"\nsecurity_protocol = \"sasl_ssl\"";
        let e = err(&format!("{login}\nsasl_mechanism = \"SCRAM-SHA256\""), "");
        assert!(e.contains("did you mean \"SCRAM-SHA-256\"?"), "{e}");
        let e = err(&format!("{login}\nsasl_mechanism = \"GSSAPI\""), "");
        assert!(e.contains("Kerberos) is not built into Sluice"), "{e}");
        let e = err(
            "security_protocol = \"ssl\"",
            "\"ssl.endpoint.identification.algorithm\" = \"yes\"",
        );
        assert!(e.contains("neither \"https\" nor \"none\""), "{e}");
    }

    #[test]
    fn tls_files_need_tls_and_must_be_readable() {
        let e = err("ssl_ca_file = \"/etc/hostname\"", "");
        assert!(
            e.contains("kafka.ssl_ca_file: is set, but security_protocol = \"plaintext\" does not use TLS; set security_protocol = \"ssl\""),
            "{e}"
        );
        let e = err(
            "security_protocol = \"ssl\"\nssl_ca_file = \"/nonexistent/ca.pem\"",
            "",
        );
        assert!(e.contains("cannot read /nonexistent/ca.pem"), "{e}");
        let e = err(
            "security_protocol = \"ssl\"\nssl_cert_file = \"/etc/hostname\"",
            "",
        );
        assert!(e.contains("set ssl_key_file too"), "{e}");
        let e = err(
            "security_protocol = \"ssl\"",
            "\"ssl.key.location\" = \"/etc/hostname\"",
        );
        assert!(
            e.contains(
                "kafka.producer.\"ssl.key.location\": a private key needs its client certificate"
            ),
            "{e}"
        );
        // librdkafka's own way to find the system's CAs.
        let ok = parse(
            "security_protocol = \"ssl\"",
            "\"ssl.ca.location\" = \"probe\"",
        );
        assert!(ok.is_ok(), "{:?}", ok.err());
    }
}

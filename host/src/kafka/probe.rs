//! Whether Kafka answers and accepts Sluice's TLS and SASL settings: a
//! metadata request, nothing produced. `sluice check` and `sluice tail`
//! report what it finds, and every `run` session starts with it, so a
//! certificate or a password the brokers refuse stops Sluice at once with
//! the fix, instead of librdkafka trying again forever.
//!
//! librdkafka tells of a refused handshake or login only through its error
//! callback ("SSL handshake failed: ...", "SASL authentication error:
//! ...") or, for some, only in its log; the metadata request itself just
//! times out. So the probe watches both while it asks.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;

use super::security::{client_config, creation_error, KafkaSecurity, SecurityProtocol};
use super::KafkaSettings;

/// How long the probe waits for the brokers' metadata.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("Kafka at {brokers} refused the connection ({security}): {reason}; {fix}")]
    Refused {
        brokers: String,
        /// [`KafkaSecurity::describe`]: protocol, mechanism, user.
        security: String,
        /// What librdkafka said.
        reason: String,
        fix: String,
    },
    #[error("Kafka at {brokers} did not answer ({security}){}; {}", last_reason(.reasons), hint(.reasons))]
    Unreachable {
        brokers: String,
        security: String,
        /// What librdkafka said meanwhile, if anything.
        reasons: Vec<String>,
    },
    #[error("cannot create a Kafka client for {brokers}: {reason}; check [kafka]'s TLS and SASL keys and the [kafka.producer] properties")]
    Client { brokers: String, reason: String },
}

fn last_reason(reasons: &[String]) -> String {
    reasons.last().map(|r| format!(": {r}")).unwrap_or_default()
}

/// What to check when nothing answered. A listener that takes the
/// connection and hangs up at the first request is most often one that
/// wants TLS or SASL; librdkafka does not say so (it only logs the
/// disconnection), and a load balancer with no broker behind it does the
/// same, so it is a hint and not a refusal.
fn hint(reasons: &[String]) -> &'static str {
    let hung_up = reasons.iter().any(|r| {
        r.contains("Disconnected")
            && (r.contains("in state APIVERSION_QUERY") || r.contains("in state UP"))
    });
    let no_tls = reasons
        .iter()
        .any(|r| r.contains("timed out in state SSL_HANDSHAKE"));
    if hung_up {
        "the brokers took the connection and closed it at the first request: if their listener expects TLS or SASL, set security_protocol (and the sasl_* keys) under [kafka] to match it"
    } else if no_tls {
        "the brokers never finished the TLS handshake: if this listener does not speak TLS, connect to their TLS listener or set security_protocol = \"plaintext\" (or \"sasl_plaintext\") under [kafka]"
    } else {
        "check [kafka] brokers, and that the brokers run and this host may reach them"
    }
}

/// The number of brokers the cluster at `brokers` reports, once connected
/// with `security`. Blocking: call it off the async runtime.
pub(crate) fn probe(
    brokers: &str,
    security: &KafkaSecurity,
    timeout: Duration,
) -> Result<usize, ProbeError> {
    let refused = match attempt(brokers, security, timeout)? {
        Outcome::Answered(n) => return Ok(n),
        Outcome::Silent(reasons) => {
            return Err(ProbeError::Unreachable {
                brokers: brokers.to_string(),
                security: security.describe(),
                reasons,
            })
        }
        Outcome::Refused(r) => r,
    };
    let mut fix = fix(&refused, security);
    // "certificate verify failed" is the same error for a CA Sluice does
    // not trust and for a certificate issued to another host: connecting
    // once more without the host name check tells which.
    if refused.reason.contains("certificate verify failed") && security.verify_hostname {
        let relaxed = KafkaSecurity {
            verify_hostname: false,
            ..security.clone()
        };
        if let Ok(Outcome::Answered(_)) = attempt(brokers, &relaxed, timeout) {
            fix = format!(
                "the brokers' certificate is signed by a trusted CA but not issued for the host Sluice connects to ({brokers}): connect by a name the certificate lists (its subject alternative names), or set ssl_verify_hostname = false under [kafka]"
            );
        }
    }
    Err(ProbeError::Refused {
        brokers: brokers.to_string(),
        security: security.describe(),
        reason: refused.reason,
        fix,
    })
}

/// Before a `run` session streams: a refusal ends Sluice; brokers that do
/// not answer are only reported, since the producer waits for them as it
/// always has (Kafka may simply be starting).
pub(crate) fn before_streaming(settings: &KafkaSettings) -> Result<(), ProbeError> {
    match probe(&settings.brokers, &settings.security, PROBE_TIMEOUT) {
        Ok(n) => {
            tracing::debug!(brokers = %settings.brokers, count = n, security = %settings.security.describe(), "Kafka answered");
            Ok(())
        }
        Err(e @ ProbeError::Unreachable { .. }) => {
            tracing::warn!(error = %e, "Kafka is not answering yet; messages wait for it");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

enum Outcome {
    /// Metadata came back, from this many brokers.
    Answered(usize),
    /// A TLS or SASL failure: asking again will not help.
    Refused(Refusal),
    /// No metadata in time; librdkafka's errors meanwhile.
    Silent(Vec<String>),
}

struct Refusal {
    code: RDKafkaErrorCode,
    reason: String,
}

fn attempt(
    brokers: &str,
    security: &KafkaSecurity,
    timeout: Duration,
) -> Result<Outcome, ProbeError> {
    let mut cc = client_config(brokers, security);
    // A listener that never finishes the handshake (TLS at a plaintext
    // port that waits for more bytes) is given up on inside the probe's
    // time, so its failure is in the report.
    let setup = (timeout / 2).as_millis().max(1000);
    cc.set("socket.connection.setup.timeout.ms", setup.to_string());
    let producer: ThreadedProducer<Watch> =
        cc.create_with_context(Watch::default())
            .map_err(|e| ProbeError::Client {
                brokers: brokers.to_string(),
                reason: creation_error(&e),
            })?;
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Short requests, so a refusal reported meanwhile is seen at once.
        let step = left.min(Duration::from_millis(300));
        if let Ok(md) = producer.client().fetch_metadata(None, step) {
            if !md.brokers().is_empty() {
                return Ok(Outcome::Answered(md.brokers().len()));
            }
        }
        let seen = producer.context().seen.lock().unwrap();
        let refusal = seen.iter().find_map(|(code, reason)| {
            refusal_kind(*code, reason).map(|code| Refusal {
                code,
                reason: reason.clone(),
            })
        });
        if let Some(r) = refusal {
            return Ok(Outcome::Refused(r));
        }
        let down = Some(RDKafkaErrorCode::AllBrokersDown);
        if seen.iter().any(|(c, _)| *c == down) || Instant::now() >= deadline {
            let mut reasons: Vec<String> = seen
                .iter()
                .filter(|(c, _)| *c != down)
                .map(|(_, r)| r.clone())
                .collect();
            reasons.dedup();
            return Ok(Outcome::Silent(reasons));
        }
    }
}

/// Whether a failure is one connecting again will not fix: the TLS
/// handshake, the SASL login, or a plaintext client at a listener that
/// wants TLS or SASL (librdkafka then names `security.protocol`). `code` is
/// `None` for a failure librdkafka only logged, which it does for some
/// handshake failures (depending on where OpenSSL noticed): the message
/// tells then. Returns the code the fix is chosen by.
fn refusal_kind(code: Option<RDKafkaErrorCode>, reason: &str) -> Option<RDKafkaErrorCode> {
    use RDKafkaErrorCode::*;
    match code {
        Some(
            c @ (SSL
            | Authentication
            | SaslAuthenticationFailed
            | UnsupportedSASLMechanism
            | IllegalSASLState),
        ) => Some(c),
        Some(BrokerTransportFailure) | None if reason.contains("security.protocol") => {
            Some(BrokerTransportFailure)
        }
        None if reason.contains("SASL")
            && (reason.contains("authentication") || reason.contains("mechanism")) =>
        {
            Some(Authentication)
        }
        None if reason.contains("SSL handshake failed")
            || reason.contains("certificate verify failed") =>
        {
            Some(SSL)
        }
        _ => None,
    }
}

/// What to do about a refusal, in the terms of the config file.
fn fix(r: &Refusal, security: &KafkaSecurity) -> String {
    use RDKafkaErrorCode::*;
    let reason = r.reason.as_str();
    let mechanism = security.sasl.as_ref().map_or("", |s| s.mechanism.name());
    match r.code {
        UnsupportedSASLMechanism => format!(
            "the brokers do not offer sasl_mechanism = \"{mechanism}\": set it under [kafka] to one they list"
        ),
        Authentication | SaslAuthenticationFailed | IllegalSASLState
            if reason.contains("Unsupported SASL mechanism")
                || reason.contains("mechanism handshake failed") =>
        {
            format!(
                "the brokers do not accept sasl_mechanism = \"{mechanism}\": set it under [kafka] to one they offer (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
            )
        }
        Authentication | SaslAuthenticationFailed | IllegalSASLState => format!(
            "check sasl_username and the password (sasl_password, sasl_password_file or sasl_password_env) under [kafka], and that the user exists on the brokers for {mechanism}"
        ),
        SSL if reason.contains("certificate verify failed") => {
            "the brokers' certificate is not signed by a CA Sluice trusts: give that CA's certificate as ssl_ca_file under [kafka] (without it, the system's CAs are used)".into()
        }
        SSL if reason.contains("client SSL authentication") => {
            "the brokers want a client certificate: set ssl_cert_file and ssl_key_file under [kafka]".into()
        }
        SSL if reason.contains("PLAINTEXT") || reason.contains("Disconnected") => format!(
            "the brokers do not speak TLS on this port: connect to their TLS listener, or set security_protocol = \"{}\" under [kafka]",
            if security.protocol.sasl() { "sasl_plaintext" } else { "plaintext" }
        ),
        SSL => "check ssl_ca_file, ssl_cert_file and ssl_key_file under [kafka] against the brokers' TLS listener".into(),
        _ => format!(
            "the listener at these brokers expects TLS or SASL, which security_protocol = \"{}\" does not use: set security_protocol under [kafka] to what the listener speaks ({})",
            security.protocol.name(),
            SecurityProtocol::ALL
                .iter()
                .filter(|p| **p != security.protocol)
                .map(|p| format!("\"{}\"", p.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Collects what librdkafka's error callback reports (with its code), and
/// the connection failures it only logs (without).
#[derive(Default)]
struct Watch {
    seen: Mutex<Vec<(Option<RDKafkaErrorCode>, String)>>,
}

impl ClientContext for Watch {
    fn error(&self, error: KafkaError, reason: &str) {
        if let Some(code) = error.rdkafka_error_code() {
            self.seen
                .lock()
                .unwrap()
                .push((Some(code), reason.to_string()));
        }
    }

    /// The probe reports what matters itself; librdkafka's own lines about
    /// the same failure are for debugging.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        tracing::debug!(target: "librdkafka", ?level, "{fac} {message}");
        if fac == "FAIL" {
            self.seen.lock().unwrap().push((None, message.to_string()));
        }
    }
}

impl ProducerContext for Watch {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::settings::{SaslLogin, SaslMechanism};
    use crate::secret::Secret;

    fn scram() -> KafkaSecurity {
        KafkaSecurity {
            protocol: SecurityProtocol::SaslSsl,
            sasl: Some(SaslLogin {
                mechanism: SaslMechanism::ScramSha256,
                username: "sluice".into(),
                password: Secret::new("hunter2-sluice"),
            }),
            ..KafkaSecurity::default()
        }
    }

    fn refusal(code: RDKafkaErrorCode, reason: &str) -> Refusal {
        Refusal {
            code,
            reason: reason.into(),
        }
    }

    #[test]
    fn refusals_are_told_from_outages() {
        use RDKafkaErrorCode::*;
        let kind = |code, reason| refusal_kind(code, reason);
        assert_eq!(
            kind(Some(SSL), "SSL handshake failed: certificate verify failed"),
            Some(SSL)
        );
        assert_eq!(
            kind(Some(Authentication), "SASL authentication error"),
            Some(Authentication)
        );
        assert_eq!(
            kind(
                Some(BrokerTransportFailure),
                "Disconnected while requesting ApiVersion: might be caused by incorrect security.protocol configuration"
            ),
            Some(BrokerTransportFailure)
        );
        // Only logged: told by the message.
        assert_eq!(
            kind(
                None,
                "ssl://b:9093/bootstrap: error:0A000086:SSL routines::certificate verify failed (after 0ms in state SSL_HANDSHAKE)"
            ),
            Some(SSL)
        );
        assert_eq!(
            kind(
                None,
                "b:9093/bootstrap: SASL authentication error: Authentication failed"
            ),
            Some(Authentication)
        );
        assert_eq!(
            kind(
                Some(BrokerTransportFailure),
                "Connect to ipv4#127.0.0.1:1 failed: Connection refused"
            ),
            None
        );
        assert_eq!(
            kind(
                None,
                "b:9093/bootstrap: Disconnected (after 0ms in state UP)"
            ),
            None
        );
        assert_eq!(kind(Some(AllBrokersDown), "1/1 brokers are down"), None);
    }

    #[test]
    fn each_refusal_names_its_fix() {
        use RDKafkaErrorCode::*;
        let s = scram();
        let login = fix(
            &refusal(
                Authentication,
                "SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
            ),
            &s,
        );
        assert!(
            login.contains("check sasl_username and the password"),
            "{login}"
        );
        let ca = fix(
            &refusal(
                SSL,
                "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed",
            ),
            &s,
        );
        assert!(ca.contains("ssl_ca_file"), "{ca}");
        let plain = fix(
            &refusal(
                SSL,
                "SSL handshake failed: Disconnected: connecting to a PLAINTEXT broker listener?",
            ),
            &s,
        );
        assert!(
            plain.contains("security_protocol = \"sasl_plaintext\""),
            "{plain}"
        );
        let wrong = fix(
            &refusal(BrokerTransportFailure, "might be caused by incorrect security.protocol configuration (connecting to a SSL listener?)"),
            &KafkaSecurity::default(),
        );
        assert!(
            wrong.contains("\"ssl\", \"sasl_plaintext\", \"sasl_ssl\""),
            "{wrong}"
        );
        let mechanism = fix(
            &refusal(Authentication, "SASL SCRAM-SHA-256 mechanism handshake failed: Broker: Unsupported SASL mechanism: broker's supported mechanisms: PLAIN"),
            &s,
        );
        assert!(
            mechanism.contains("do not accept sasl_mechanism = \"SCRAM-SHA-256\""),
            "{mechanism}"
        );
    }

    #[test]
    fn a_listener_that_hangs_up_gets_the_protocol_hint() {
        let hung_up = ["b:9093/bootstrap: Disconnected: connection closed by peer: receive 0 after POLLIN (after 0ms in state APIVERSION_QUERY)".to_string()];
        assert!(hint(&hung_up).contains("expects TLS or SASL"));
        let refused = [
            "b:9093/bootstrap: Connect to ipv4#127.0.0.1:9093 failed: Connection refused"
                .to_string(),
        ];
        assert!(hint(&refused).contains("check [kafka] brokers"));
        let waited = ["ssl://b:9092/bootstrap: Connection setup timed out in state SSL_HANDSHAKE (after 5004ms in state SSL_HANDSHAKE)".to_string()];
        assert!(hint(&waited).contains("never finished the TLS handshake"));
    }

    #[test]
    fn a_closed_port_is_an_outage_reported_quickly() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let brokers = format!("127.0.0.1:{port}");
        let began = Instant::now();
        let err = probe(&brokers, &scram(), Duration::from_secs(20)).unwrap_err();
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "{:?}",
            began.elapsed()
        );
        let msg = err.to_string();
        assert!(matches!(err, ProbeError::Unreachable { .. }), "{msg}");
        assert!(msg.contains(&brokers) && msg.contains("sasl_ssl"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }
}

//! `[source]` -> [`SourceSettings`].

use std::path::Path;
use std::time::Duration;

use super::input::Input;
use super::raw::RawSource;
use super::secret::{self, SecretKeys};
use super::{suggest, ConfigError, ENV_MYSQL_URL, ENV_START};
use crate::binlog::endpoint::TLS_URL_PARAMETERS;
use crate::binlog::settings::{
    ClientCert, Endpoint, SourceSettings, Start, TlsMode, TlsSettings, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HEARTBEAT, DEFAULT_MAX_BACKOFF, DEFAULT_SERVER_ID, DEFAULT_START, DEFAULT_STOP_AT_END,
    DEFAULT_TLS,
};
use crate::secret::Secret;

pub(super) fn settings(mut raw: RawSource, input: &Input) -> Result<SourceSettings, ConfigError> {
    let secs = |v: Option<u64>, default: Duration, key: &str| {
        input
            .at_least_one(v, default.as_secs(), key)
            .map(Duration::from_secs)
    };
    Ok(SourceSettings {
        endpoint: endpoint(&mut raw, input)?,
        server_id: server_id(raw.server_id, input)?,
        start: start(raw.start, input)?,
        heartbeat: secs(
            raw.heartbeat_secs,
            DEFAULT_HEARTBEAT,
            "source.heartbeat_secs",
        )?,
        connect_timeout: secs(
            raw.connect_timeout_secs,
            DEFAULT_CONNECT_TIMEOUT,
            "source.connect_timeout_secs",
        )?,
        max_backoff: secs(
            raw.max_backoff_secs,
            DEFAULT_MAX_BACKOFF,
            "source.max_backoff_secs",
        )?,
        stop_at_end: raw.stop_at_end.unwrap_or(DEFAULT_STOP_AT_END),
    })
}

/// `url`, the password (from the URL or one of the password keys, never
/// both) and the TLS keys. Messages show the URL without its password.
fn endpoint(raw: &mut RawSource, input: &Input) -> Result<Endpoint, ConfigError> {
    let (url, origin) = input.pick(ENV_MYSQL_URL, raw.url.take());
    let url = url.ok_or_else(|| {
        input.in_file(
            "source.url",
            format!(
                "missing: set url = \"mysql://user@host:3306\" under [source], or {ENV_MYSQL_URL}"
            ),
        )
    })?;
    let shown = crate::binlog::reader::redact(&url);
    let mut parsed = match url::Url::parse(&url) {
        Ok(u) if u.scheme() == "mysql" && u.host_str().is_some() => u,
        Ok(_) => {
            return Err(input.invalid(
                &origin,
                "source.url",
                format!("`{shown}` is not a mysql:// URL; write it as mysql://user@host:3306"),
            ))
        }
        // Not shown: it may hold a password.
        Err(e) => {
            return Err(input.invalid(
                &origin,
                "source.url",
                format!("not a valid URL ({e}); write it as mysql://user@host:3306"),
            ))
        }
    };
    if let Some((param, _)) = parsed
        .query_pairs()
        .find(|(k, _)| TLS_URL_PARAMETERS.contains(&k.as_ref()))
    {
        return Err(input.invalid(
            &origin,
            "source.url",
            format!("the URL sets `{param}`: TLS is set by [source] tls (and ca_file, client_cert_file, client_key_file) instead; take it out of the URL"),
        ));
    }
    let given = SecretKeys {
        inline: raw.password.take(),
        file: raw.password_file.take(),
        env: raw.password_env.take(),
    };
    let password = match parsed.password() {
        None => secret::resolve("source.password", given, input)?,
        Some(in_url) => {
            // Refused before the key is read: its file or variable may
            // not even exist.
            let keys = [
                (given.inline.is_some(), "source.password"),
                (given.file.is_some(), "source.password_file"),
                (given.env.is_some(), "source.password_env"),
            ];
            if let Some((_, key)) = keys.iter().find(|(set, _)| *set) {
                return Err(input.in_file(
                    key,
                    format!("the password is given twice: in the URL ({origin}) and by {key}; keep one (without it the URL reads mysql://user@host:3306)"),
                ));
            }
            let decoded = percent_encoding::percent_decode_str(in_url)
                .decode_utf8()
                .map_err(|_| {
                    input.invalid(
                        &origin,
                        "source.url",
                        "the password in the URL is not valid UTF-8 once %-decoded",
                    )
                })?;
            Some(Secret::new(decoded))
        }
    };
    // The endpoint keeps the URL without its password, so that it can be
    // shown; a URL without one keeps the form the user wrote.
    let url = if parsed.password().is_some() {
        let _ = parsed.set_password(None);
        parsed.to_string()
    } else {
        url
    };
    let tls = tls(raw, input)?;
    Endpoint::new(url, password, tls)
        .map_err(|e| input.invalid(&origin, "source.url", format!("{shown}: {e}")))
}

/// `tls`, `ca_file`, `client_cert_file` and `client_key_file`, each only
/// where the mode uses it, and each file readable and of the right kind.
fn tls(raw: &mut RawSource, input: &Input) -> Result<TlsSettings, ConfigError> {
    let mode = match raw.tls.take() {
        None => DEFAULT_TLS,
        Some(name) => TlsMode::from_name(&name).ok_or_else(|| {
            let names: Vec<&str> = TlsMode::ALL.iter().map(|m| m.name()).collect();
            let hint = suggest(&name.to_ascii_lowercase(), &names)
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            input.in_file(
                "source.tls",
                format!(
                    "`{name}` is not a TLS mode: use \"{}\"{hint}",
                    names.join("\", \"")
                ),
            )
        })?,
    };
    let ca_file = raw.ca_file.take();
    if ca_file.is_some() && !mode.verifies() {
        return Err(input.in_file(
            "source.ca_file",
            format!("tls = \"{mode}\" does not check the server's certificate, so ca_file would not be used: set tls = \"verify_identity\" (or \"verify_ca\") to check it against this CA"),
        ));
    }
    if let Some(f) = &ca_file {
        pem_file(f, "CERTIFICATE", "source.ca_file", input)?;
    }
    let client_cert = match (raw.client_cert_file.take(), raw.client_key_file.take()) {
        (None, None) => None,
        (cert, None) | (cert @ None, _) => {
            let given = if cert.is_some() {
                "source.client_cert_file"
            } else {
                "source.client_key_file"
            };
            return Err(input.in_file(
                given,
                "client_cert_file and client_key_file go together: set both, or neither",
            ));
        }
        (Some(cert_file), Some(key_file)) => {
            if mode == TlsMode::Disabled {
                return Err(input.in_file(
                    "source.client_cert_file",
                    "tls = \"disabled\" sends no certificate: set tls = \"required\" or stronger to log in with it",
                ));
            }
            pem_file(&cert_file, "CERTIFICATE", "source.client_cert_file", input)?;
            pem_file(&key_file, "PRIVATE KEY", "source.client_key_file", input)?;
            Some(ClientCert {
                cert_file,
                key_file,
            })
        }
    };
    Ok(TlsSettings {
        mode,
        ca_file,
        client_cert,
    })
}

/// Refuses a file that cannot be read, or that is PEM without a block
/// whose label ends in `label` (DER, binary, is left to the TLS library).
fn pem_file(path: &Path, label: &str, key: &str, input: &Input) -> Result<(), ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| {
        input.in_file(
            key,
            format!(
                "cannot read {}: {e}; check the path and that Sluice may read it",
                path.display()
            ),
        )
    })?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(());
    };
    let found = text.lines().any(|l| {
        l.trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
            .is_some_and(|l| l.ends_with(label))
    });
    if found {
        Ok(())
    } else {
        Err(input.in_file(
            key,
            format!(
                "{} holds no PEM {label} (a -----BEGIN ...{label}----- block)",
                path.display()
            ),
        ))
    }
}

fn server_id(value: Option<u32>, input: &Input) -> Result<u32, ConfigError> {
    match value.unwrap_or(DEFAULT_SERVER_ID) {
        0 => Err(input.in_file(
            "source.server_id",
            "0 is not a valid replica id; pick a number from 1 to 4294967295 that no other replica of the server uses",
        )),
        id => Ok(id),
    }
}

fn start(file_value: Option<String>, input: &Input) -> Result<Start, ConfigError> {
    match input.pick(ENV_START, file_value) {
        (None, _) => Ok(DEFAULT_START),
        (Some(s), origin) => s.parse().map_err(|e| {
            input.invalid(
                &origin,
                "source.start",
                format!("{e}; or use \"latest\", \"earliest\" or \"gtid:<set>\""),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError, TlsMode};

    const PASSWORD: &str = "hunter2-sluice";

    fn parse(source: &str) -> Result<Config, String> {
        parse_env(source, &|_| None)
    }

    fn parse_env(source: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
        let text = format!("[source]\n{source}\n[pipeline]\nsink = \"null\"\n");
        Config::parse(Path::new("sluice.toml"), &text, env).map_err(|e: ConfigError| e.to_string())
    }

    fn no_password(err: &str) {
        assert!(!err.contains("hunter2"), "the password leaked: {err}");
    }

    #[test]
    fn a_password_in_the_url_is_taken_out_of_it() {
        let c =
            parse("url = \"mysql://sluice:hunter2-sluice@db:3306/x?prefer_socket=false\"").unwrap();
        let e = &c.source.endpoint;
        assert_eq!(e.url(), "mysql://sluice@db:3306/x?prefer_socket=false");
        no_password(&format!("{c:?}"));
        let opts = e.opts(&Default::default());
        assert_eq!(opts.pass(), Some(PASSWORD));
        // %-encoded characters arrive decoded.
        let c = parse("url = \"mysql://u:p%40ss%3Aw@db\"").unwrap();
        let opts = c.source.endpoint.opts(&Default::default());
        assert_eq!(opts.pass(), Some("p@ss:w"));
    }

    #[test]
    fn the_password_keys_give_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
        let c = parse(&format!(
            "url = \"mysql://sluice@db\"\npassword_file = \"{}\"",
            file.display()
        ))
        .unwrap();
        no_password(&format!("{c:?} {c:#?}"));
        let opts = c.source.endpoint.opts(&Default::default());
        assert_eq!(opts.pass(), Some(PASSWORD));

        let env = |k: &str| (k == "DB_PW").then(|| PASSWORD.to_string());
        let c = parse_env(
            "url = \"mysql://sluice@db\"\npassword_env = \"DB_PW\"",
            &env,
        )
        .unwrap();
        assert_eq!(
            c.source.endpoint.opts(&Default::default()).pass(),
            Some(PASSWORD)
        );
    }

    #[test]
    fn a_password_given_twice_is_refused_without_showing_it() {
        let err =
            parse("url = \"mysql://sluice:hunter2-sluice@db\"\npassword = \"hunter2-sluice-too\"")
                .unwrap_err();
        assert!(
            err.contains("source.password: the password is given twice: in the URL (sluice.toml) and by source.password;"),
            "{err}"
        );
        no_password(&err);
        let err =
            parse("url = \"mysql://u@db\"\npassword = \"a\"\npassword_env = \"X\"").unwrap_err();
        assert!(
            err.contains("source.password and source.password_env"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_url_is_shown_without_its_password() {
        let err = parse("url = \"postgres://u:hunter2-sluice@db\"").unwrap_err();
        assert!(
            err.contains("`postgres://u:***@db` is not a mysql:// URL"),
            "{err}"
        );
        no_password(&err);
        let err = parse("url = \"mysql://u:hunter2-sluice@db:notaport\"").unwrap_err();
        assert!(err.contains("not a valid URL"), "{err}");
        no_password(&err);
        let err = parse("url = \"mysql://u:hunter2-sluice@db?nonsense=1\"").unwrap_err();
        assert!(err.contains("nonsense"), "{err}");
        no_password(&err);
    }

    #[test]
    fn tls_is_set_by_its_keys_not_by_the_url() {
        let err = parse("url = \"mysql://u@db?require_ssl=true\"").unwrap_err();
        assert!(
            err.contains("the URL sets `require_ssl`: TLS is set by [source] tls"),
            "{err}"
        );
        assert_eq!(
            parse("url = \"mysql://u@db\"")
                .unwrap()
                .source
                .endpoint
                .tls()
                .mode,
            TlsMode::Preferred
        );
        let err = parse("url = \"mysql://u@db\"\ntls = \"verify-ca\"").unwrap_err();
        assert!(err.contains("`verify-ca` is not a TLS mode"), "{err}");
        assert!(err.contains("did you mean \"verify_ca\"?"), "{err}");
    }

    #[test]
    fn tls_files_are_checked_where_they_are_used() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let key = dir.path().join("key.pem");
        std::fs::write(
            &key,
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let url = "url = \"mysql://u@db\"\n";
        let c = parse(&format!(
            "{url}tls = \"verify_identity\"\nca_file = \"{}\"\nclient_cert_file = \"{}\"\nclient_key_file = \"{}\"",
            ca.display(),
            ca.display(),
            key.display()
        ))
        .unwrap();
        let tls = c.source.endpoint.tls();
        assert_eq!(tls.ca_file.as_deref(), Some(ca.as_path()));
        assert_eq!(
            tls.client_cert.as_ref().map(|c| c.key_file.as_path()),
            Some(key.as_path())
        );

        let err = parse(&format!(
            "{url}tls = \"required\"\nca_file = \"{}\"",
            ca.display()
        ))
        .unwrap_err();
        assert!(
            err.contains(
                "source.ca_file: tls = \"required\" does not check the server's certificate"
            ),
            "{err}"
        );
        let err = parse(&format!(
            "{url}tls = \"verify_ca\"\nca_file = \"/nonexistent/ca.pem\""
        ))
        .unwrap_err();
        assert!(err.contains("cannot read /nonexistent/ca.pem"), "{err}");
        let err = parse(&format!(
            "{url}tls = \"verify_ca\"\nca_file = \"{}\"",
            key.display()
        ))
        .unwrap_err();
        assert!(err.contains("holds no PEM CERTIFICATE"), "{err}");
        let err = parse(&format!("{url}client_cert_file = \"{}\"", ca.display())).unwrap_err();
        assert!(
            err.contains("client_cert_file and client_key_file go together"),
            "{err}"
        );
        let err = parse(&format!(
            "{url}tls = \"disabled\"\nclient_cert_file = \"{}\"\nclient_key_file = \"{}\"",
            ca.display(),
            key.display()
        ))
        .unwrap_err();
        assert!(
            err.contains("tls = \"disabled\" sends no certificate"),
            "{err}"
        );
    }
}

//! TLS certificates made at test time with the `openssl` command
//! (`scripts/test` installs it): a CA, certificates it signs, and a second
//! CA that signs nothing Sluice is shown.
//!
//! For MariaDB ([`Certs::for_mysql`]) the server certificate names
//! `localhost` only, not `127.0.0.1`: a connection to `localhost` matches
//! it, one to `127.0.0.1` is a hostname mismatch, which `verify_identity`
//! must refuse and `verify_ca` accept. For Kafka ([`Certs::for_kafka`]) it
//! names both, and a second one names another host only.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

pub struct Certs {
    dir: tempfile::TempDir,
}

const SERVER_AUTH: &str = "extendedKeyUsage = serverAuth\n";

impl Certs {
    /// The CA and the unrelated CA, nothing signed yet.
    fn new() -> anyhow::Result<Certs> {
        let certs = Certs {
            dir: super::instance_dir("certs-")?,
        };
        certs.ca("ca")?;
        certs.ca("other-ca")?;
        Ok(certs)
    }

    /// `server` for `localhost` only, and `client` for a user that logs in
    /// with a certificate.
    pub fn for_mysql() -> anyhow::Result<Certs> {
        let certs = Certs::new()?;
        certs.issue(
            "server",
            "localhost",
            &format!("subjectAltName = DNS:localhost\n{SERVER_AUTH}"),
        )?;
        certs.issue("client", "sluice-client", "extendedKeyUsage = clientAuth\n")?;
        Ok(certs)
    }

    /// `server` for `localhost` and `127.0.0.1`, `elsewhere` for another
    /// host only.
    pub fn for_kafka() -> anyhow::Result<Certs> {
        let certs = Certs::new()?;
        certs.issue(
            "server",
            "server",
            &format!("subjectAltName = DNS:localhost, IP:127.0.0.1\n{SERVER_AUTH}"),
        )?;
        certs.issue(
            "elsewhere",
            "elsewhere",
            &format!("subjectAltName = DNS:elsewhere.invalid\n{SERVER_AUTH}"),
        )?;
        Ok(certs)
    }

    /// The certificate `name` (PEM).
    pub fn cert_file(&self, name: &str) -> PathBuf {
        self.path(&format!("{name}.pem"))
    }

    /// The private key of the certificate `name` (PEM, PKCS#8).
    pub fn key_file(&self, name: &str) -> PathBuf {
        self.path(&format!("{name}-key.pem"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA that signed every certificate here.
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// A CA that signed neither.
    pub fn other_ca_file(&self) -> PathBuf {
        self.path("other-ca.pem")
    }

    /// mariadbd's options for TLS with the server certificate, clients'
    /// certificates checked against the CA.
    pub fn server_args(&self) -> Vec<String> {
        vec![
            format!("--ssl-ca={}", self.ca_file().display()),
            format!("--ssl-cert={}", self.cert_file("server").display()),
            format!("--ssl-key={}", self.key_file("server").display()),
        ]
    }

    fn ca(&self, name: &str) -> anyhow::Result<()> {
        openssl(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=Sluice test {name}"),
                "-addext",
                "basicConstraints = critical, CA:TRUE",
                "-addext",
                "keyUsage = critical, keyCertSign, cRLSign",
                "-keyout",
                &format!("{name}-key.pem"),
                "-out",
                &format!("{name}.pem"),
            ],
        )
    }

    /// `name.pem` and `name-key.pem`, signed by `ca.pem`, with `extensions`
    /// (an openssl extension file's lines).
    fn issue(&self, name: &str, common_name: &str, extensions: &str) -> anyhow::Result<()> {
        let ext = self.path(&format!("{name}.ext"));
        std::fs::write(
            &ext,
            format!("basicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\n{extensions}"),
        )?;
        openssl(
            self.dir.path(),
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={common_name}"),
                "-keyout",
                &format!("{name}-key.pem"),
                "-out",
                &format!("{name}.csr"),
            ],
        )?;
        openssl(
            self.dir.path(),
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        )
    }
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running openssl (is it installed? run scripts/test)")?;
    if !out.status.success() {
        bail!(
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

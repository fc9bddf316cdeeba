//! Certificates and keys for a throw-away control plane: a CA, the kube-apiserver serving certificate for
//! `127.0.0.1`/`localhost`, and the service-account token signing key.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

use crate::error::{Context as _, Result};

/// PEM files written into a stack's directory.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The CA certificate (trusted by clients; also the apiserver's `--client-ca-file`).
    pub ca_cert: PathBuf,
    /// The CA certificate as PEM text.
    pub ca_pem: String,
    /// The apiserver's serving certificate.
    pub serving_cert: PathBuf,
    /// The apiserver's serving key.
    pub serving_key: PathBuf,
    /// The service-account signing key (private, PKCS#8 ECDSA P-256).
    pub sa_key: PathBuf,
    /// The service-account verification key (public).
    pub sa_pub: PathBuf,
}

/// Generates a fresh CA, serving certificate and service-account key pair into `dir`.
pub fn generate(dir: &Path) -> Result<CertFiles> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, "aliyun-ccm e2e CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let serving_key = KeyPair::generate()?;
    let mut serving = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    serving.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    serving.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_cert = serving.signed_by(&serving_key, &ca)?;

    let sa = KeyPair::generate()?;

    let files = CertFiles {
        ca_cert: dir.join("ca.crt"),
        ca_pem: ca.pem(),
        serving_cert: dir.join("apiserver.crt"),
        serving_key: dir.join("apiserver.key"),
        sa_key: dir.join("sa.key"),
        sa_pub: dir.join("sa.pub"),
    };
    write(&files.ca_cert, &files.ca_pem)?;
    write(&files.serving_cert, &serving_cert.pem())?;
    write(&files.serving_key, &serving_key.serialize_pem())?;
    write(&files.sa_key, &sa.serialize_pem())?;
    write(&files.sa_pub, &sa.public_key_pem())?;
    Ok(files)
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).context(format!("writing {}", path.display()))
}

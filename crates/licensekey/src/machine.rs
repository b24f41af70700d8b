//! Fingerprints of the machine a license runs on.
//!
//! Hardware changes (new NIC, VM move, container restart), so a machine is
//! described by several independent component fingerprints and a license may
//! require only some of them to match. Raw values (machine id, hostname) never
//! leave the machine: only salted SHA-256 digests go into requests and licenses.
//! Collection is portable: environment variables and plain file reads that
//! simply find nothing on platforms without those files.

use std::fmt;
use std::str::FromStr;

use data_encoding::{HEXLOWER, HEXLOWER_PERMISSIVE};
use sha2::{Digest, Sha256};

use crate::encoding::with_context;
use crate::error::{Error, Result, malformed};

/// Domain-separation context for component fingerprints.
pub const FINGERPRINT_CONTEXT: &str = "LicenseDesk/fingerprint/v1";

/// A 16-byte digest of one machine component; displayed as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// Fingerprint of component `name` with raw value `value`:
    /// the first 16 bytes of SHA-256(context || u64 len || name || u64 len || value).
    pub fn of(name: &str, value: &str) -> Self {
        let mut body = Vec::with_capacity(16 + name.len() + value.len());
        for part in [name, value] {
            body.extend_from_slice(&(part.len() as u64).to_be_bytes());
            body.extend_from_slice(part.as_bytes());
        }
        let digest = Sha256::digest(with_context(FINGERPRINT_CONTEXT, &body));
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Self(out)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&HEXLOWER.encode(&self.0))
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bytes = HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .map_err(|_| malformed("fingerprint: not hex"))?;
        Ok(Self(bytes.try_into().map_err(|_| {
            malformed("fingerprint: not 32 hex digits")
        })?))
    }
}

/// One named component fingerprint, e.g. `machine-id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MachineComponent {
    /// Component name (`machine-id`, `dmi-product-uuid`, `hostname`, `cpu`, `os-arch`).
    pub name: String,
    /// Digest of the component's value.
    pub fingerprint: Fingerprint,
}

/// What this machine looks like, as far as licensing cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineInfo {
    /// Host name (from `HOSTNAME` / `COMPUTERNAME` or `/etc/hostname`), or "unknown".
    pub hostname: String,
    /// `std::env::consts::OS`.
    pub os: String,
    /// `std::env::consts::ARCH`.
    pub arch: String,
    /// Component fingerprints, sorted by name.
    pub components: Vec<MachineComponent>,
}

impl MachineInfo {
    /// Collects the fingerprint of the machine this runs on. Never fails: missing sources are skipped.
    pub fn collect() -> Self {
        let hostname = env_value("HOSTNAME")
            .or_else(|| env_value("COMPUTERNAME"))
            .or_else(|| file_value("/etc/hostname"))
            .unwrap_or_else(|| "unknown".to_owned());
        let os = std::env::consts::OS.to_owned();
        let arch = std::env::consts::ARCH.to_owned();
        let mut raw: Vec<(&str, String)> = Vec::new();
        if let Some(id) =
            file_value("/etc/machine-id").or_else(|| file_value("/var/lib/dbus/machine-id"))
        {
            raw.push(("machine-id", id));
        }
        if let Some(uuid) = file_value("/sys/class/dmi/id/product_uuid") {
            raw.push(("dmi-product-uuid", uuid.to_ascii_lowercase()));
        }
        if let Some(cpu) = cpu_model() {
            raw.push(("cpu", cpu));
        }
        raw.push(("hostname", hostname.to_ascii_lowercase()));
        raw.push(("os-arch", format!("{os}/{arch}")));
        let mut components: Vec<MachineComponent> = raw
            .into_iter()
            .map(|(name, value)| MachineComponent {
                name: name.to_owned(),
                fingerprint: Fingerprint::of(name, &value),
            })
            .collect();
        components.sort();
        Self {
            hostname,
            os,
            arch,
            components,
        }
    }

    /// Just the fingerprints, for [`crate::VerifyContext::fingerprints`].
    pub fn fingerprints(&self) -> Vec<Fingerprint> {
        self.components.iter().map(|c| c.fingerprint).collect()
    }
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn file_value(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn cpu_model() -> Option<String> {
    if let Some(cpu) = env_value("PROCESSOR_IDENTIFIER") {
        return Some(cpu);
    }
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_separates_name_from_value() {
        assert_eq!(Fingerprint::of("a", "b"), Fingerprint::of("a", "b"));
        assert_ne!(Fingerprint::of("ab", ""), Fingerprint::of("a", "b"));
        let f = Fingerprint::of("x", "y");
        assert_eq!(f.to_string().parse::<Fingerprint>().unwrap(), f);
    }

    #[test]
    fn collect_is_deterministic() {
        let a = MachineInfo::collect();
        let b = MachineInfo::collect();
        assert_eq!(a, b);
        assert!(a.components.iter().any(|c| c.name == "os-arch"));
        assert!(a.components.windows(2).all(|w| w[0].name < w[1].name));
    }
}

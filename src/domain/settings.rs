//! Settings staff choose in the Settings panel.

use serde::{Deserialize, Serialize};

/// Colour theme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    /// Follow the operating system.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// Every theme, in picker order.
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The stored and displayed name.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// Parses a stored name; anything unknown falls back to following the system.
    pub fn from_label(label: &str) -> Theme {
        Theme::ALL
            .into_iter()
            .find(|t| t.label() == label)
            .unwrap_or_default()
    }
}

/// All settings, as one value the worker saves in one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub theme: Theme,
    /// When on, no network code may run (enforced by sync).
    pub air_gapped: bool,
    /// Unlocked signing keys lock themselves after this many idle minutes.
    pub key_idle_lock_minutes: u32,
    /// Name recorded as the operator in the issuance ledger.
    pub operator: String,
    /// Take a copy of the database into the data folder's `backups/` once a day.
    pub daily_backups: bool,
    /// How many daily copies are kept (the oldest beyond that are deleted).
    pub backups_kept: u32,
    /// Sync with the portal in the background (off by default; never in air-gapped mode).
    pub sync_enabled: bool,
    /// The portal's address, `https://host[:port]` (or `http://` on a trusted network).
    pub portal_url: String,
    /// Minutes between background rounds.
    pub sync_interval_minutes: u32,
    /// A CA certificate (PEM) to trust for the portal besides the system's (a portal with a
    /// private CA or a self-signed certificate); empty for none.
    pub portal_ca_pem: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            air_gapped: false,
            key_idle_lock_minutes: 10,
            operator: String::new(),
            daily_backups: true,
            backups_kept: 7,
            sync_enabled: false,
            portal_url: String::new(),
            sync_interval_minutes: 15,
            portal_ca_pem: String::new(),
        }
    }
}

impl Settings {
    /// Checks the values a person can type.
    pub fn validate(&self) -> super::FieldErrors {
        let mut errors = super::FieldErrors::default();
        if !(1..=1440).contains(&self.key_idle_lock_minutes) {
            errors.push("Lock keys after (minutes)", "must be from 1 to 1440");
        }
        super::validation::optional_text(&mut errors, "Operator name", &self.operator, 80);
        if !(1..=365).contains(&self.backups_kept) {
            errors.push("Daily backups kept", "must be from 1 to 365");
        }
        if let Err(problem) = check_portal_url(&self.portal_url) {
            errors.push("Portal URL", problem);
        } else if self.sync_enabled && self.portal_url.trim().is_empty() {
            errors.push("Portal URL", "is needed to sync in the background");
        }
        if self.sync_enabled && self.air_gapped {
            errors.push(
                "Sync in the background",
                "cannot be on in air-gapped mode (an air-gapped desk never syncs)",
            );
        }
        if !(1..=1440).contains(&self.sync_interval_minutes) {
            errors.push("Sync every (minutes)", "must be from 1 to 1440");
        }
        if let Err(problem) = check_ca_pem(&self.portal_ca_pem) {
            errors.push("Portal CA certificate", problem);
        }
        errors
    }

    /// The portal's address as saved: see [`portal_address`].
    pub fn portal(&self) -> &str {
        portal_address(&self.portal_url)
    }

    /// The CA certificate (PEM) trusted for the portal besides the system's, if one is saved.
    pub fn portal_ca(&self) -> Option<&str> {
        Some(self.portal_ca_pem.as_str()).filter(|pem| !pem.trim().is_empty())
    }
}

/// The most a portal CA certificate file may hold.
pub const CA_PEM_MAX: usize = 64 * 1024;

/// Checks a portal CA certificate: empty (none), or PEM text holding one or more certificates
/// and nothing else that does not read.
pub fn check_ca_pem(pem: &str) -> Result<(), &'static str> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    if pem.trim().is_empty() {
        return Ok(());
    }
    if pem.len() > CA_PEM_MAX {
        return Err("is larger than 64 KiB");
    }
    let certificates: Result<Vec<CertificateDer<'_>>, _> =
        CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
    match certificates {
        Ok(found) if !found.is_empty() => Ok(()),
        Ok(_) => Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        Err(_) => Err("is not a readable PEM certificate"),
    }
}

/// A short name for a CA certificate (the first 16 hex digits of the SHA-256 of its first
/// certificate), to show which one is trusted; None when there is none.
pub fn ca_fingerprint(pem: &str) -> Option<String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use sha2::Digest;
    let first = CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()?
        .ok()?;
    Some(hex::encode(&sha2::Sha256::digest(first.as_ref())[..8]))
}

/// "minute" or "15 minutes": the interval of background sync in words.
pub fn every(minutes: u32) -> String {
    match minutes {
        1 => "minute".to_string(),
        n => format!("{n} minutes"),
    }
}

/// A portal address as typed, the way it is kept and used: trimmed, without a trailing `/`.
pub fn portal_address(text: &str) -> &str {
    text.trim().trim_end_matches('/')
}

/// Longest portal address accepted.
pub const PORTAL_URL_MAX: usize = 300;

/// Checks a portal address as typed: empty, or `http(s)://host[:port][/path]` with no spaces,
/// credentials, query or fragment (the device token is the only credential, and it is sealed).
pub fn check_portal_url(text: &str) -> Result<(), &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(());
    }
    if text.chars().count() > PORTAL_URL_MAX {
        return Err("must be at most 300 characters");
    }
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return Err("must start with https:// (or http:// on a trusted network)");
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces");
    }
    if text.contains(['?', '#']) {
        return Err("must not have a query or a fragment");
    }
    let host = rest.split('/').next().unwrap_or_default();
    if host.contains('@') {
        return Err("must not hold a user name or password (the device token is sealed apart)");
    }
    // `[v6 address]:port`, `name:port` or either without a port.
    let (name, port) = match host.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((address, "")) => (address, None),
            Some((address, rest)) => match rest.strip_prefix(':') {
                Some(port) => (address, Some(port)),
                None => return Err("has something between the IPv6 address and its port"),
            },
            None => return Err("has an IPv6 address without its closing ]"),
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    if port.is_some_and(|p| p.parse::<u16>().is_err() || p == "0") {
        return Err("has a port that is not a number from 1 to 65535");
    }
    if name.is_empty() {
        return Err("has no host name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_addresses() {
        for good in [
            "",
            "https://portal.example",
            "https://portal.example:8787/",
            "http://127.0.0.1:8787",
            "https://[::1]:8443/desk",
            "https://[::1]",
        ] {
            assert_eq!(check_portal_url(good), Ok(()), "{good}");
        }
        for (bad, problem) in [
            ("portal.example", "must start with https://"),
            ("ftp://portal.example", "must start with https://"),
            ("https://", "has no host name"),
            ("https://:8787", "has no host name"),
            ("https://portal.example:0", "has a port"),
            ("https://portal.example:99999", "has a port"),
            ("https://portal.example:x", "has a port"),
            ("https://ada:secret@portal.example", "user name or password"),
            ("https://portal.example/?token=1", "query"),
            ("https://portal .example", "spaces"),
            ("https://[::1", "closing ]"),
            ("https://[::1]x:1", "between the IPv6 address"),
        ] {
            let got = check_portal_url(bad).expect_err(bad);
            assert!(got.contains(problem), "{bad}: {got}");
        }
        assert!(check_portal_url(&format!("https://{}", "a".repeat(300))).is_err());
    }

    #[test]
    fn background_sync_needs_a_portal_and_no_air_gap() {
        let on = Settings {
            sync_enabled: true,
            ..Settings::default()
        };
        assert!(on.validate().get("Portal URL").is_some());
        let gapped = Settings {
            portal_url: "https://portal.example/".into(),
            air_gapped: true,
            ..on.clone()
        };
        assert!(gapped.validate().get("Sync in the background").is_some());
        let fine = Settings {
            air_gapped: false,
            ..gapped
        };
        assert!(fine.validate().is_empty());
        assert_eq!(fine.portal(), "https://portal.example");
    }
}

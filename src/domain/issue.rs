//! What staff fill in to issue a license, and the rules that turn it into a payload. The GUI
//! form, the CLI flags and bulk CSV rows all become an [`IssueDraft`], so the rules live here
//! once.

use super::validation::{FieldErrors, required_text};
use licensekey::{Binding, LicenseKind, LicensePayload, LicenseRequest, SECONDS_PER_DAY, Uuid};
use std::net::IpAddr;

/// Eval licenses always last this many days.
pub const EVAL_DAYS: u32 = 30;
/// Longest validity that can be typed (ten years).
pub const MAX_DAYS: u32 = 3650;

/// Parses "eval", "Dev", "PRO" (any case).
pub fn parse_kind(text: &str) -> Option<LicenseKind> {
    match text.trim().to_ascii_lowercase().as_str() {
        "eval" => Some(LicenseKind::Eval),
        "dev" => Some(LicenseKind::Dev),
        "pro" => Some(LicenseKind::Pro),
        _ => None,
    }
}

/// The issue form as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueDraft {
    pub product: String,
    pub kind: LicenseKind,
    pub customer: String,
    /// Cluster UUID (8-4-4-4-12), optional.
    pub cluster: String,
    /// IPv4 or IPv6 address, optional.
    pub ip: String,
    pub capacity_tb: String,
    pub seats: String,
    /// Comma-separated feature names.
    pub features: String,
    /// Validity in days; ignored for Eval (always 30) and when `perpetual` is set.
    pub days: String,
    pub perpetual: bool,
    /// Support period in days (blank: none).
    pub support_days: String,
    pub grace_days: String,
    /// Machine binding from a license request, if one was opened.
    pub request: Option<LicenseRequest>,
    /// How many of the request's strong machine identifiers must match (blank: all of them).
    pub min_matches: String,
}

impl Default for IssueDraft {
    fn default() -> Self {
        Self {
            product: String::new(),
            kind: LicenseKind::Pro,
            customer: String::new(),
            cluster: String::new(),
            ip: String::new(),
            capacity_tb: "0".into(),
            seats: "1".into(),
            features: String::new(),
            days: "365".into(),
            perpetual: false,
            support_days: String::new(),
            grace_days: "14".into(),
            request: None,
            min_matches: String::new(),
        }
    }
}

/// A validated issue request: everything but the license id, key and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueSpec {
    pub product: String,
    pub kind: LicenseKind,
    pub customer: String,
    pub binding: Binding,
    pub capacity_tb: u32,
    pub seats: u32,
    pub features: Vec<String>,
    /// `None` is perpetual.
    pub valid_days: Option<u32>,
    pub support_days: Option<u32>,
    pub grace_days: u16,
    /// The public key of the machine that made the license request (version 3): the machine
    /// is registered to the license and can later deactivate it offline.
    pub machine_key: Option<[u8; 32]>,
    /// What the customer calls that machine (the request's label).
    pub machine_label: String,
}

impl IssueDraft {
    /// A draft prefilled from a customer's license request: its cluster and machine binding.
    pub fn from_request(request: LicenseRequest) -> Self {
        Self {
            cluster: request.cluster.map(|c| c.to_string()).unwrap_or_default(),
            request: Some(request),
            ..Self::default()
        }
    }

    /// Every problem, each naming its field; or the spec to issue.
    pub fn validate(&self) -> Result<IssueSpec, FieldErrors> {
        let mut errors = FieldErrors::default();
        required_text(&mut errors, "Product", &self.product, 80);
        required_text(&mut errors, "Customer", &self.customer, 120);
        let cluster = match self.cluster.trim() {
            "" => None,
            text => Uuid::parse_str(text)
                .map_err(|_| {
                    errors.push(
                        "Cluster UUID",
                        format!(
                            "'{text}' is not a UUID (like 123e4567-e89b-12d3-a456-426614174000)"
                        ),
                    )
                })
                .ok(),
        };
        let ip = match self.ip.trim() {
            "" => None,
            text => text
                .parse::<IpAddr>()
                .map_err(|_| {
                    errors.push(
                        "IP address",
                        format!("'{text}' is not an IPv4 or IPv6 address"),
                    )
                })
                .ok(),
        };
        let capacity_tb = number(
            &mut errors,
            "Capacity (TB)",
            &self.capacity_tb,
            0,
            1_000_000,
        );
        let seats = number(&mut errors, "Seats", &self.seats, 1, 1_000_000);
        let features = parse_features(&mut errors, &self.features);
        let valid_days = match (self.kind, self.perpetual) {
            (LicenseKind::Eval, true) => {
                errors.push(
                    "Validity",
                    format!("Eval licenses last {EVAL_DAYS} days and cannot be perpetual"),
                );
                None
            }
            (LicenseKind::Eval, false) => Some(EVAL_DAYS),
            (_, true) => None,
            (_, false) => number(&mut errors, "Validity (days)", &self.days, 1, MAX_DAYS),
        };
        let support_days = match self.support_days.trim() {
            "" => None,
            text => number(&mut errors, "Support (days)", text, 1, MAX_DAYS),
        };
        let grace_days = number(&mut errors, "Grace (days)", &self.grace_days, 0, 365)
            .and_then(|g| u16::try_from(g).ok())
            .unwrap_or(0);
        let mut binding = Binding {
            cluster,
            ip,
            ..Binding::default()
        };
        if let Some(request) = &self.request {
            if let (Some(typed), Some(asked)) = (cluster, request.cluster)
                && typed != asked
            {
                errors.push(
                    "Cluster UUID",
                    format!("differs from the request's cluster {asked}"),
                );
            }
            let count = request.strong.len() as u32;
            let min = match self.min_matches.trim() {
                "" => None,
                text => number(
                    &mut errors,
                    "Fingerprints that must match",
                    text,
                    count.min(1),
                    count,
                )
                .and_then(|m| u16::try_from(m).ok()),
            };
            match request.binding(min) {
                Ok(request_binding) => binding.machine = request_binding.machine,
                Err(e) => errors.push("Fingerprints that must match", e.to_string()),
            }
        }
        errors.into_result()?;
        Ok(IssueSpec {
            product: self.product.trim().to_string(),
            kind: self.kind,
            customer: self.customer.trim().to_string(),
            binding,
            capacity_tb: capacity_tb.unwrap_or(0),
            seats: seats.unwrap_or(1),
            features,
            valid_days,
            support_days,
            grace_days,
            machine_key: self
                .request
                .as_ref()
                .and_then(|r| r.machine_key)
                .map(|k| k.to_bytes()),
            machine_label: self
                .request
                .as_ref()
                .map(|r| r.label.clone())
                .unwrap_or_default(),
        })
    }
}

impl IssueSpec {
    /// The payload for a license issued at `now` (unix seconds) with id `license_id`.
    pub fn payload(&self, license_id: Uuid, now: i64) -> LicensePayload {
        let mut payload =
            LicensePayload::new(license_id, &self.product, self.kind, &self.customer, now);
        payload.binding = self.binding.clone();
        payload.capacity_tb = self.capacity_tb;
        payload.seats = self.seats;
        payload.features = self.features.clone();
        payload.expires_at = self
            .valid_days
            .map(|d| now + i64::from(d) * SECONDS_PER_DAY);
        payload.support_until = self
            .support_days
            .map(|d| now + i64::from(d) * SECONDS_PER_DAY);
        payload.grace_days = self.grace_days;
        payload.normalize();
        payload
    }
}

fn number(
    errors: &mut FieldErrors,
    field: &'static str,
    text: &str,
    min: u32,
    max: u32,
) -> Option<u32> {
    match text.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.push(field, format!("must be a whole number from {min} to {max}"));
            None
        }
    }
}

fn parse_features(errors: &mut FieldErrors, text: &str) -> Vec<String> {
    let mut features = Vec::new();
    for feature in text
        .split([',', ';'])
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        let ok = feature.len() <= 64
            && feature
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if ok {
            features.push(feature.to_ascii_lowercase());
        } else {
            errors.push(
                "Features",
                format!("'{feature}' may hold only letters, digits, '-', '_' and '.' (64 at most)"),
            );
        }
    }
    features.sort();
    features.dedup();
    features
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> IssueDraft {
        IssueDraft {
            product: "Storage".into(),
            customer: "Acme".into(),
            ..IssueDraft::default()
        }
    }

    #[test]
    fn kinds_set_validity() {
        let eval = IssueDraft {
            kind: LicenseKind::Eval,
            days: "999".into(),
            ..draft()
        };
        assert_eq!(eval.validate().expect("eval").valid_days, Some(EVAL_DAYS));
        let pro = IssueDraft {
            perpetual: true,
            ..draft()
        };
        assert_eq!(pro.validate().expect("pro").valid_days, None);
        let bad = IssueDraft {
            kind: LicenseKind::Eval,
            perpetual: true,
            ..draft()
        };
        assert!(
            bad.validate()
                .expect_err("eval perpetual")
                .get("Validity")
                .is_some()
        );
        let spec = draft().validate().expect("valid");
        let payload = spec.payload(Uuid::from_bytes([1; 16]), 1_000);
        assert_eq!(payload.expires_at, Some(1_000 + 365 * SECONDS_PER_DAY));
        assert_eq!(payload.grace_days, 14);
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (
                IssueDraft {
                    product: " ".into(),
                    ..draft()
                },
                "Product",
                "is required",
            ),
            (
                IssueDraft {
                    cluster: "not-a-uuid".into(),
                    ..draft()
                },
                "Cluster UUID",
                "'not-a-uuid' is not a UUID (like 123e4567-e89b-12d3-a456-426614174000)",
            ),
            (
                IssueDraft {
                    ip: "10.0.0.300".into(),
                    ..draft()
                },
                "IP address",
                "'10.0.0.300' is not an IPv4 or IPv6 address",
            ),
            (
                IssueDraft {
                    seats: "0".into(),
                    ..draft()
                },
                "Seats",
                "must be a whole number from 1 to 1000000",
            ),
            (
                IssueDraft {
                    capacity_tb: "-5".into(),
                    ..draft()
                },
                "Capacity (TB)",
                "must be a whole number from 0 to 1000000",
            ),
            (
                IssueDraft {
                    days: "0".into(),
                    ..draft()
                },
                "Validity (days)",
                "must be a whole number from 1 to 3650",
            ),
            (
                IssueDraft {
                    features: "ok, bad feature".into(),
                    ..draft()
                },
                "Features",
                "'bad feature' may hold only letters, digits, '-', '_' and '.' (64 at most)",
            ),
        ];
        for (d, field, message) in cases {
            let errors = d.validate().expect_err(field);
            assert_eq!(errors.get(field), Some(message), "{errors}");
        }
    }

    #[test]
    fn features_and_bindings_normalize() {
        let d = IssueDraft {
            features: "Snapshots, replication;snapshots".into(),
            cluster: "123E4567-E89B-12D3-A456-426614174000".into(),
            ip: "192.0.2.7".into(),
            ..draft()
        };
        let spec = d.validate().expect("valid");
        assert_eq!(spec.features, ["replication", "snapshots"]);
        assert_eq!(
            spec.binding.cluster.map(|c| c.to_string()).as_deref(),
            Some("123e4567-e89b-12d3-a456-426614174000")
        );
        assert_eq!(parse_kind(" PRO "), Some(LicenseKind::Pro));
        assert_eq!(parse_kind("gold"), None);
    }

    #[test]
    fn a_request_prefills_the_cluster_and_binds_the_machine() {
        let cluster = Uuid::from_bytes([9; 16]);
        let request = LicenseRequest::for_this_machine(Some(cluster), 1_000).expect("request");
        let count = request.strong.len();
        let d = IssueDraft {
            product: "Storage".into(),
            customer: "Acme".into(),
            ..IssueDraft::from_request(request)
        };
        let spec = d.validate().expect("valid");
        assert_eq!(spec.binding.cluster, Some(cluster));
        let machine = spec.binding.machine.as_ref().expect("machine binding");
        assert_eq!(machine.strong.len(), count);
        assert_eq!(usize::from(machine.min_strong_matches), count);
        let other = IssueDraft {
            cluster: Uuid::from_bytes([8; 16]).to_string(),
            ..d
        };
        assert!(
            other
                .validate()
                .expect_err("mismatch")
                .get("Cluster UUID")
                .is_some()
        );
    }
}

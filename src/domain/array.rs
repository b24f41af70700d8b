//! Arrays: a customer's storage cluster, known by its UUID, with one license at a time.
//!
//! An array belongs to an account and its name is unique within that account (without regard
//! to case). Its license is Eval (30 days, free, once per cluster), Dev (free) or Pro (one Pro
//! license entitlement taken from the account's wallet, plus the capacity in TB taken from the
//! wallet's TB entitlements). The rules of what a change takes from the wallet, gives back,
//! and does to the serial already generated live here, once; the service applies them in one
//! transaction.

use super::validation::{FieldErrors, required_text};
use licensekey::{LicenseKind, LicenseRequest, Uuid};

/// Longest array name accepted.
pub const MAX_NAME_CHARS: usize = 80;
/// The product an array's license is for, unless the array says otherwise.
pub const DEFAULT_PRODUCT: &str = "Storage OS";
/// A Dev license (free, for development and testing) lasts a year; generate a new one then.
pub const DEV_DAYS: u32 = 365;
/// A Pro license whose purchased term is not known lasts a year.
pub const PRO_DEFAULT_DAYS: u32 = 365;
/// Most capacity one array can hold.
pub const MAX_CAPACITY_TB: u32 = 1_000_000;

/// Validates an array name as typed.
pub fn validate_name(name: &str) -> FieldErrors {
    let mut errors = FieldErrors::default();
    required_text(&mut errors, "Array name", name, MAX_NAME_CHARS);
    errors
}

/// The name as stored: trimmed, inner runs of whitespace folded to one space.
pub fn normalize_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A cluster UUID as pasted: blank is "not known yet"; anything else must be a UUID in its
/// hyphenated form (any case, spaces around it ignored), and not the nil UUID.
pub fn parse_cluster(text: &str) -> Result<Option<Uuid>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let shown: String = text.chars().take(60).collect();
    match Uuid::try_parse(text) {
        Ok(uuid) if text.len() == 36 && !uuid.is_nil() => Ok(Some(uuid)),
        Ok(_) if text.len() == 36 => Err("the nil UUID names no cluster".into()),
        _ => Err(format!(
            "'{shown}' is not a cluster UUID (like 123e4567-e89b-12d3-a456-426614174000: 32 hex digits in groups of 8-4-4-4-12)"
        )),
    }
}

/// The license kind's name as people see it in the array forms.
pub fn kind_label(kind: Option<LicenseKind>) -> &'static str {
    match kind {
        None => "No license",
        Some(LicenseKind::Eval) => "Eval",
        Some(LicenseKind::Dev) => "Dev",
        Some(LicenseKind::Pro) => "Pro",
    }
}

/// The "Edit array" form as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayEdit {
    pub name: String,
    pub product: String,
    /// Cluster UUID as pasted.
    pub cluster: String,
    /// The license request file made on the cluster, if one was opened: the license is then
    /// bound to that machine as well.
    pub request: Option<LicenseRequest>,
    pub kind: Option<LicenseKind>,
    /// Capacity taken from the wallet (Pro only).
    pub capacity_tb: u32,
}

impl Default for ArrayEdit {
    fn default() -> Self {
        Self {
            name: String::new(),
            product: DEFAULT_PRODUCT.into(),
            cluster: String::new(),
            request: None,
            kind: None,
            capacity_tb: 0,
        }
    }
}

/// A validated edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArraySpec {
    pub name: String,
    pub product: String,
    pub cluster: Option<Uuid>,
    pub request: Option<LicenseRequest>,
    pub kind: Option<LicenseKind>,
    pub capacity_tb: u32,
}

impl ArrayEdit {
    /// Every problem, each naming its field; or the spec to save.
    pub fn validate(&self) -> Result<ArraySpec, FieldErrors> {
        let mut errors = validate_name(&self.name);
        required_text(&mut errors, "Product", &self.product, 80);
        let cluster = match parse_cluster(&self.cluster) {
            Ok(cluster) => cluster,
            Err(message) => {
                errors.push("Cluster UUID", message);
                None
            }
        };
        if let Some(request) = &self.request {
            match (cluster, request.cluster) {
                (Some(typed), Some(asked)) if typed != asked => errors.push(
                    "Cluster UUID",
                    format!("differs from the request file's cluster {asked}"),
                ),
                (None, _) if errors.get("Cluster UUID").is_none() => errors.push(
                    "Cluster UUID",
                    "is required with a request file (the file names none: paste it)",
                ),
                _ => {}
            }
        }
        if self.kind.is_some() && cluster.is_none() && errors.get("Cluster UUID").is_none() {
            errors.push(
                "Cluster UUID",
                "is required to license the array: paste it, or open the request file made on the cluster",
            );
        }
        if self.capacity_tb > MAX_CAPACITY_TB {
            errors.push("Capacity (TB)", format!("at most {MAX_CAPACITY_TB} TB"));
        } else if self.capacity_tb > 0 && self.kind != Some(LicenseKind::Pro) {
            errors.push(
                "Capacity (TB)",
                "comes with a Pro license: Eval and Dev licenses take no capacity from the wallet",
            );
        }
        errors.into_result()?;
        Ok(ArraySpec {
            name: normalize_name(&self.name),
            product: self.product.trim().to_string(),
            cluster,
            request: self.request.clone(),
            kind: self.kind,
            capacity_tb: self.capacity_tb,
        })
    }
}

/// What an array holds from its account's wallet: a Pro license while it is Pro, and its
/// capacity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holding {
    pub pro: bool,
    pub capacity_tb: u32,
}

impl Holding {
    /// What an array of `kind` with `capacity_tb` holds.
    pub fn of(kind: Option<LicenseKind>, capacity_tb: u32) -> Holding {
        Holding {
            pro: kind == Some(LicenseKind::Pro),
            capacity_tb,
        }
    }
}

/// Wallet entries a change needs: Pro licenses and TB to assign (positive) or release
/// (negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalletMoves {
    pub pro: i64,
    pub capacity_tb: i64,
}

impl WalletMoves {
    /// From what the array holds now to what it will hold.
    pub fn between(before: Holding, after: Holding) -> WalletMoves {
        WalletMoves {
            pro: i64::from(after.pro) - i64::from(before.pro),
            capacity_tb: i64::from(after.capacity_tb) - i64::from(before.capacity_tb),
        }
    }

    /// True when the change gives anything back to the wallet.
    pub fn releases(&self) -> bool {
        self.pro < 0 || self.capacity_tb < 0
    }
}

/// What a license generated for an array says, to compare with what the array now is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licensed {
    pub product: String,
    pub kind: LicenseKind,
    pub cluster: Option<Uuid>,
    pub capacity_tb: u32,
    pub machine_bound: bool,
}

/// What the array is, for that comparison.
pub fn describes(spec: &ArraySpec) -> Option<Licensed> {
    Some(Licensed {
        product: spec.product.clone(),
        kind: spec.kind?,
        cluster: spec.cluster,
        capacity_tb: spec.capacity_tb,
        machine_bound: spec.request.is_some(),
    })
}

/// Whether a change from `before` (with its serial `current`) to `after` must withdraw that
/// serial at once (delete it, which puts it on the revocation list): when the change gives a
/// Pro license or capacity back to the wallet, or moves the array to another cluster, product
/// or machine — otherwise the old serial would keep working beside what the wallet gives to
/// someone else. A change that only adds (more TB, Eval to Pro) keeps the serial until a new
/// one replaces it.
pub fn withdraws(moves: WalletMoves, current: &Licensed, after: &ArraySpec) -> bool {
    moves.releases()
        || after.kind.is_none()
        || current.cluster != after.cluster
        || current.product != after.product
        || current.machine_bound != after.request.is_some()
}

/// Days a license generated now for an array of `kind` is valid: Eval 30, Dev a year, Pro the
/// term of the Pro license taken from the wallet (`pro_days`), or a year when it is not known.
pub fn validity_days(kind: LicenseKind, pro_days: Option<u32>) -> u32 {
    match kind {
        LicenseKind::Eval => super::issue::EVAL_DAYS,
        LicenseKind::Dev => DEV_DAYS,
        LicenseKind::Pro => pro_days.filter(|d| *d > 0).unwrap_or(PRO_DEFAULT_DAYS),
    }
}

/// Where an array's serial stands, as the list and details show it (with the word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialState {
    /// No license kind chosen: the array can be assigned one.
    Unassigned,
    /// Pro taken from the wallet, no serial generated yet (the license list's "Ordered").
    Ordered,
    /// Eval or Dev chosen, no serial yet.
    NotGenerated,
    /// The serial matches the array and is valid.
    Active,
    /// The serial no longer says what the array is (more capacity, another kind).
    OutOfDate,
    /// The serial has expired.
    Expired,
}

impl SerialState {
    /// The word on the chip.
    pub fn label(self) -> &'static str {
        match self {
            SerialState::Unassigned => "Unassigned",
            SerialState::Ordered => "Ordered",
            SerialState::NotGenerated => "No serial yet",
            SerialState::Active => "Active",
            SerialState::OutOfDate => "Serial out of date",
            SerialState::Expired => "Expired",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str = "123e4567-e89b-12d3-a456-426614174000";

    fn edit(kind: Option<LicenseKind>, cluster: &str, tb: u32) -> ArrayEdit {
        ArrayEdit {
            name: "  Rack   A ".into(),
            cluster: cluster.into(),
            kind,
            capacity_tb: tb,
            ..ArrayEdit::default()
        }
    }

    #[test]
    fn cluster_uuids_are_checked_with_a_clear_message() {
        assert_eq!(parse_cluster(""), Ok(None));
        assert_eq!(
            parse_cluster(&format!("  {}  ", CLUSTER.to_uppercase()))
                .unwrap_or_default()
                .map(|u| u.to_string()),
            Some(CLUSTER.to_string())
        );
        for bad in [
            "not-a-uuid",
            "123e4567e89b12d3a456426614174000",
            "{123e4567-e89b-12d3-a456-426614174000}",
            "123e4567-e89b-12d3-a456-42661417400g",
        ] {
            let message = parse_cluster(bad).expect_err(bad);
            assert!(message.contains("is not a cluster UUID"), "{message}");
        }
        assert_eq!(
            parse_cluster("00000000-0000-0000-0000-000000000000"),
            Err("the nil UUID names no cluster".into())
        );
    }

    #[test]
    fn an_edit_names_each_problem_at_its_field() {
        let spec = edit(Some(LicenseKind::Pro), CLUSTER, 5)
            .validate()
            .expect("valid");
        assert_eq!(spec.name, "Rack A");
        assert_eq!(spec.capacity_tb, 5);
        let cases = [
            (
                edit(Some(LicenseKind::Pro), "", 0),
                "Cluster UUID",
                "is required to license the array: paste it, or open the request file made on the cluster",
            ),
            (
                edit(Some(LicenseKind::Dev), CLUSTER, 2),
                "Capacity (TB)",
                "comes with a Pro license: Eval and Dev licenses take no capacity from the wallet",
            ),
            (
                ArrayEdit {
                    name: " ".into(),
                    ..edit(None, "", 0)
                },
                "Array name",
                "is required",
            ),
        ];
        for (form, field, message) in cases {
            let errors = form.validate().expect_err(field);
            assert_eq!(errors.get(field), Some(message), "{errors}");
        }
        assert!(edit(None, "", 0).validate().is_ok(), "a name is enough");
    }

    #[test]
    fn a_request_file_must_agree_with_the_pasted_cluster() {
        let asked = Uuid::from_bytes([9; 16]);
        let request = LicenseRequest::for_this_machine(Some(asked), 1_000).expect("request");
        let mut form = edit(Some(LicenseKind::Dev), CLUSTER, 0);
        form.request = Some(request);
        let errors = form.validate().expect_err("mismatch");
        assert_eq!(
            errors.get("Cluster UUID"),
            Some(format!("differs from the request file's cluster {asked}").as_str())
        );
        form.cluster = asked.to_string();
        assert!(form.validate().is_ok());
    }

    #[test]
    fn wallet_moves_and_withdrawals() {
        let pro5 = Holding::of(Some(LicenseKind::Pro), 5);
        let pro7 = Holding::of(Some(LicenseKind::Pro), 7);
        let dev = Holding::of(Some(LicenseKind::Dev), 0);
        assert_eq!(
            WalletMoves::between(Holding::default(), pro5),
            WalletMoves {
                pro: 1,
                capacity_tb: 5
            }
        );
        assert_eq!(
            WalletMoves::between(pro5, pro7),
            WalletMoves {
                pro: 0,
                capacity_tb: 2
            }
        );
        assert!(WalletMoves::between(pro7, pro5).releases());
        assert!(WalletMoves::between(pro5, dev).releases());
        assert!(!WalletMoves::between(dev, pro5).releases());

        let spec = |kind, tb, cluster: &str| edit(kind, cluster, tb).validate().expect("valid");
        let current = describes(&spec(Some(LicenseKind::Pro), 5, CLUSTER)).expect("licensed");
        let other = "223e4567-e89b-12d3-a456-426614174000";
        // More capacity keeps the serial until a new one replaces it; less withdraws it.
        assert!(!withdraws(
            WalletMoves::between(pro5, pro7),
            &current,
            &spec(Some(LicenseKind::Pro), 7, CLUSTER)
        ));
        assert!(withdraws(
            WalletMoves::between(pro7, pro5),
            &current,
            &spec(Some(LicenseKind::Pro), 5, CLUSTER)
        ));
        assert!(withdraws(
            WalletMoves::default(),
            &current,
            &spec(Some(LicenseKind::Pro), 5, other)
        ));
        assert!(withdraws(
            WalletMoves::default(),
            &current,
            &spec(None, 0, CLUSTER)
        ));
    }

    #[test]
    fn validity_by_kind() {
        assert_eq!(validity_days(LicenseKind::Eval, Some(1000)), 30);
        assert_eq!(validity_days(LicenseKind::Dev, None), 365);
        assert_eq!(validity_days(LicenseKind::Pro, Some(1096)), 1096);
        assert_eq!(validity_days(LicenseKind::Pro, None), 365);
        assert_eq!(validity_days(LicenseKind::Pro, Some(0)), 365);
    }
}

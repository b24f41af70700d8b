//! What identifies the machine a license runs on, and how a license is bound to it.
//!
//! A machine is described by named components. **Strong** identifiers are
//! random 128-bit values the operating system or firmware assigns once per
//! installation or board: `machine-id` (Linux `/etc/machine-id`, else
//! `/var/lib/dbus/machine-id`), `dmi-product-uuid` (Linux
//! `/sys/class/dmi/id/product_uuid`, often readable only by root),
//! `windows-machine-guid` (`HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid`)
//! and `macos-platform-uuid` (`IOPlatformUUID` from `ioreg`). **Weak** parts
//! are guessable and change with hardware: `hostname` (from the operating
//! system) and `cpu` (the CPU model). OS and architecture are not an identity
//! and are not used (except to keep version 1 licenses verifying).
//!
//! Nothing here is read from an environment variable, and external programs
//! are run by absolute path, so a user cannot make this machine look like
//! another one by setting variables. A root user who rewrites
//! `/etc/machine-id` (or the registry) can still impersonate a machine whose
//! identifiers they know: binding stops copying a license, not the owner of
//! the target machine.
//!
//! Raw values never leave the machine. A request carries salted 16-byte
//! digests ([`Fingerprint::salted`]) under a random salt per request, so one
//! dictionary of host names and CPU models cannot reverse every request; the
//! weak parts of a single request can still be guessed one by one, which is
//! one more reason they are weak. The matching rule is in
//! [`MachineBinding`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use data_encoding::{HEXLOWER, HEXLOWER_PERMISSIVE};
use sha2::{Digest, Sha256};

use crate::encoding::with_context;
use crate::error::{Error, Result, malformed};

/// Domain-separation context of version 1 (unsalted) fingerprints.
pub const FINGERPRINT_CONTEXT_V1: &str = "LicenseDesk/fingerprint/v1";

/// Domain-separation context of salted fingerprints (requests and licenses of version 2).
pub const FINGERPRINT_CONTEXT: &str = "LicenseDesk/fingerprint/v2";

/// Bytes of the random salt of a request (and of the binding made from it).
pub const SALT_LEN: usize = 16;

/// Names of the strong identifiers, in ascending byte order.
pub const STRONG_COMPONENTS: [&str; 4] = [
    "dmi-product-uuid",
    "machine-id",
    "macos-platform-uuid",
    "windows-machine-guid",
];

/// Names of the weak parts, in ascending byte order.
pub const WEAK_COMPONENTS: [&str; 2] = ["cpu", "hostname"];

/// A component that only version 1 licenses use (`<os>/<arch>`).
const LEGACY_OS_ARCH: &str = "os-arch";

/// Names version 1 licenses were made from.
const LEGACY_COMPONENTS: [&str; 5] = [
    "cpu",
    "dmi-product-uuid",
    "hostname",
    "machine-id",
    "os-arch",
];

/// How much a component says about which machine this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strength {
    /// A random identifier assigned once (machine-id, DMI UUID, MachineGuid, IOPlatformUUID).
    Strong,
    /// A guessable, changeable part (host name, CPU model).
    Weak,
}

impl Strength {
    /// The strength of a component name, or `None` for names this format does not know.
    pub fn of(name: &str) -> Option<Self> {
        if STRONG_COMPONENTS.contains(&name) {
            Some(Self::Strong)
        } else if WEAK_COMPONENTS.contains(&name) {
            Some(Self::Weak)
        } else {
            None
        }
    }
}

/// A 16-byte digest of one machine component; displayed as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// The salted fingerprint of component `name` with raw value `value`:
    /// the first 16 bytes of
    /// `SHA-256(0x1a || "LicenseDesk/fingerprint/v2" || salt || u64 len || name || u64 len || value)`.
    pub fn salted(salt: &[u8; SALT_LEN], name: &str, value: &str) -> Self {
        Self::digest(FINGERPRINT_CONTEXT, salt, name, value)
    }

    /// The unsalted fingerprint that version 1 requests and licenses carry:
    /// the first 16 bytes of
    /// `SHA-256(0x1a || "LicenseDesk/fingerprint/v1" || u64 len || name || u64 len || value)`.
    pub fn legacy(name: &str, value: &str) -> Self {
        Self::digest(FINGERPRINT_CONTEXT_V1, &[], name, value)
    }

    fn digest(context: &str, salt: &[u8], name: &str, value: &str) -> Self {
        let mut body = Vec::with_capacity(16 + salt.len() + name.len() + value.len());
        body.extend_from_slice(salt);
        for part in [name, value] {
            body.extend_from_slice(&(part.len() as u64).to_be_bytes());
            body.extend_from_slice(part.as_bytes());
        }
        let digest = Sha256::digest(with_context(context, &body));
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
    /// Component name, one of [`STRONG_COMPONENTS`] or [`WEAK_COMPONENTS`].
    pub name: String,
    /// Salted digest of the component's value.
    pub fingerprint: Fingerprint,
}

/// How a version 2 license is bound to one machine.
///
/// The rule: at least `min_strong_matches` of the `strong` identifiers must
/// match (the issuer's default is all of them; it may lower the minimum, never
/// below 1), **and** at most one of the `weak` parts may differ. A component
/// matches when this machine has a value for that name whose salted
/// fingerprint under `salt` equals the license's; a component the machine
/// lacks does not match. So a clone with another machine-id fails however
/// many weak parts it copies, and a new CPU (one weak part) still passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineBinding {
    /// The salt of the request the binding was made from.
    pub salt: [u8; SALT_LEN],
    /// Strong identifiers, names strictly ascending; at least one.
    pub strong: Vec<MachineComponent>,
    /// How many of `strong` must match: 1 to `strong.len()`.
    pub min_strong_matches: u16,
    /// Weak parts, names strictly ascending; at most one may differ.
    pub weak: Vec<MachineComponent>,
}

/// How many weak parts of a [`MachineBinding`] may differ.
pub const MAX_WEAK_MISMATCHES: usize = 1;

impl MachineBinding {
    /// Sorts both lists by name (the canonical order).
    pub(crate) fn normalize(&mut self) {
        self.strong.sort();
        self.weak.sort();
    }

    /// Why the binding cannot be encoded, if it cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.strong.is_empty() {
            return Some("a machine binding needs at least one strong identifier".into());
        }
        if !names_ok(&self.strong, Strength::Strong) {
            return Some(format!(
                "strong identifiers must be named from {STRONG_COMPONENTS:?}, strictly ascending"
            ));
        }
        if !names_ok(&self.weak, Strength::Weak) {
            return Some(format!(
                "weak parts must be named from {WEAK_COMPONENTS:?}, strictly ascending"
            ));
        }
        let min = usize::from(self.min_strong_matches);
        if min == 0 || min > self.strong.len() {
            return Some(format!(
                "min strong matches must be 1 to {} (the number of strong identifiers), not {min}",
                self.strong.len()
            ));
        }
        None
    }

    /// Checks this machine against the binding; the error says what did not match.
    pub(crate) fn check(&self, machine: Option<&MachineInfo>) -> std::result::Result<(), String> {
        let Some(machine) = machine else {
            return Err("bound to a machine, and this machine's identifiers were not given".into());
        };
        let matches = |c: &MachineComponent| {
            machine
                .value(&c.name)
                .is_some_and(|v| Fingerprint::salted(&self.salt, &c.name, v) == c.fingerprint)
        };
        let strong = self.strong.iter().filter(|c| matches(c)).count();
        if strong < usize::from(self.min_strong_matches) {
            return Err(format!(
                "{strong} of {} strong machine identifiers match, {} required",
                self.strong.len(),
                self.min_strong_matches
            ));
        }
        let differing = self.weak.iter().filter(|c| !matches(c)).count();
        if differing > MAX_WEAK_MISMATCHES {
            return Err(format!(
                "{differing} of {} weak machine parts differ, at most {MAX_WEAK_MISMATCHES} may",
                self.weak.len()
            ));
        }
        Ok(())
    }
}

fn names_ok(components: &[MachineComponent], strength: Strength) -> bool {
    components.windows(2).all(|w| w[0].name < w[1].name)
        && components
            .iter()
            .all(|c| Strength::of(&c.name) == Some(strength))
}

/// The raw identifiers of a machine, kept in memory only (never encoded).
///
/// [`Self::collect`] reads them from the operating system;
/// [`Self::from_values`] takes them as given (tests, or a product that
/// collects its own).
#[derive(Clone, PartialEq, Eq)]
pub struct MachineInfo {
    /// Strong and weak components by name.
    values: BTreeMap<String, String>,
    /// The values version 1 licenses were fingerprinted from (names in `LEGACY_COMPONENTS`).
    legacy: BTreeMap<String, String>,
}

impl fmt::Debug for MachineInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Raw values stay out of logs.
        f.debug_struct("MachineInfo")
            .field("components", &self.values.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl MachineInfo {
    /// Reads this machine's identifiers from the operating system. Never fails:
    /// sources that are missing or unreadable are left out.
    ///
    /// Each value is trimmed of ASCII whitespace (space, tab, LF, FF, CR) at
    /// both ends and dropped if that leaves it empty; identifiers and the host
    /// name are lowercased (ASCII letters only); the CPU model keeps its case.
    pub fn collect() -> Self {
        let os = os::collect();
        let mut values = BTreeMap::new();
        let mut legacy = BTreeMap::new();
        let put = |map: &mut BTreeMap<String, String>, name: &str, value: Option<String>| {
            if let Some(value) = value.as_deref().and_then(clean) {
                map.insert(name.to_owned(), value.to_owned());
            }
        };
        let lower = |v: Option<String>| v.map(|v| v.to_ascii_lowercase());
        put(&mut values, "machine-id", lower(os.machine_id.clone()));
        put(&mut values, "dmi-product-uuid", lower(os.dmi_uuid.clone()));
        put(&mut values, "windows-machine-guid", lower(os.windows_guid));
        put(&mut values, "macos-platform-uuid", lower(os.macos_uuid));
        put(&mut values, "hostname", lower(os.hostname.clone()));
        put(&mut values, "cpu", os.cpu);
        // Version 1 read these sources (its environment variables are gone for good).
        put(&mut legacy, "machine-id", os.machine_id);
        put(&mut legacy, "dmi-product-uuid", lower(os.dmi_uuid));
        put(&mut legacy, "cpu", os.legacy_cpu);
        let legacy_host = os
            .legacy_hostname
            .as_deref()
            .and_then(clean)
            .or_else(|| os.hostname.as_deref().and_then(clean))
            .unwrap_or("unknown")
            .to_ascii_lowercase();
        legacy.insert("hostname".into(), legacy_host);
        legacy.insert(
            LEGACY_OS_ARCH.into(),
            format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        );
        Self { values, legacy }
    }

    /// A machine with exactly these `(name, raw value)` components, used as given.
    ///
    /// Names are the strong and weak names, plus `os-arch`, which only version
    /// 1 licenses use; version 1 licenses see every value under its own name.
    /// An unknown name is [`Error::Invalid`].
    pub fn from_values<N: Into<String>, V: Into<String>>(
        components: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Self> {
        let mut values = BTreeMap::new();
        let mut legacy = BTreeMap::new();
        for (name, value) in components {
            let (name, value) = (name.into(), value.into());
            if Strength::of(&name).is_none() && name != LEGACY_OS_ARCH {
                return Err(Error::Invalid(format!(
                    "unknown machine component '{name}'"
                )));
            }
            if LEGACY_COMPONENTS.contains(&name.as_str()) {
                legacy.insert(name.clone(), value.clone());
            }
            if name != LEGACY_OS_ARCH {
                values.insert(name, value);
            }
        }
        Ok(Self { values, legacy })
    }

    /// The raw value of a strong or weak component, if this machine has one.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Names of the strong and weak components found, ascending.
    pub fn component_names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// True when at least one strong identifier was found (a machine binding needs one).
    pub fn has_strong_identifier(&self) -> bool {
        self.values
            .keys()
            .any(|n| Strength::of(n) == Some(Strength::Strong))
    }

    /// Salted fingerprints of every component of one strength, sorted by name.
    pub(crate) fn salted(
        &self,
        salt: &[u8; SALT_LEN],
        strength: Strength,
    ) -> Vec<MachineComponent> {
        self.values
            .iter()
            .filter(|(name, _)| Strength::of(name) == Some(strength))
            .map(|(name, value)| MachineComponent {
                name: name.clone(),
                fingerprint: Fingerprint::salted(salt, name, value),
            })
            .collect()
    }

    /// The unsalted fingerprints a version 1 license is matched against.
    pub(crate) fn legacy_fingerprints(&self) -> Vec<Fingerprint> {
        self.legacy
            .iter()
            .map(|(name, value)| Fingerprint::legacy(name, value))
            .collect()
    }
}

/// Trims ASCII whitespace; `None` when nothing is left.
fn clean(value: &str) -> Option<&str> {
    Some(value.trim_ascii()).filter(|v| !v.is_empty())
}

/// Raw sources, per operating system. Values are untrimmed.
#[derive(Debug, Default)]
struct OsValues {
    machine_id: Option<String>,
    dmi_uuid: Option<String>,
    windows_guid: Option<String>,
    macos_uuid: Option<String>,
    hostname: Option<String>,
    cpu: Option<String>,
    /// What version 1 read for `hostname` (`/etc/hostname`, or the NetBIOS name on Windows).
    legacy_hostname: Option<String>,
    /// What version 1 read for `cpu` (`/proc/cpuinfo`, or `PROCESSOR_IDENTIFIER`'s value on Windows).
    legacy_cpu: Option<String>,
}

#[cfg_attr(windows, allow(dead_code))]
fn read_file(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn os_hostname() -> Option<String> {
    gethostname::gethostname().into_string().ok()
}

/// The first `model name` in `/proc/cpuinfo`.
#[cfg_attr(any(windows, target_os = "macos"), allow(dead_code))]
fn cpuinfo_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.to_owned())
}

/// `"IOPlatformUUID" = "XXXXXXXX-...."` from `ioreg -rd1 -c IOPlatformExpertDevice`.
#[cfg_attr(not(any(target_os = "macos", test)), allow(dead_code))]
fn platform_uuid(ioreg: &str) -> Option<String> {
    ioreg.lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        (key.trim_ascii() == "\"IOPlatformUUID\"")
            .then(|| value.trim_ascii().trim_matches('"').to_owned())
    })
}

#[cfg(not(any(windows, target_os = "macos")))]
mod os {
    use super::*;

    pub(super) fn collect() -> OsValues {
        let cpu = read_file("/proc/cpuinfo").and_then(|c| cpuinfo_model(&c));
        OsValues {
            machine_id: read_file("/etc/machine-id")
                .filter(|v| clean(v).is_some())
                .or_else(|| read_file("/var/lib/dbus/machine-id")),
            dmi_uuid: read_file("/sys/class/dmi/id/product_uuid"),
            hostname: os_hostname(),
            legacy_hostname: read_file("/etc/hostname").filter(|v| clean(v).is_some()),
            legacy_cpu: cpu.clone(),
            cpu,
            ..OsValues::default()
        }
    }
}

#[cfg(windows)]
mod os {
    use super::*;
    use winreg::RegKey;
    use winreg::enums::{HKEY_LOCAL_MACHINE, KEY_READ, KEY_WOW64_64KEY};

    /// A string value under HKLM, read from the 64-bit view also in a 32-bit process.
    fn hklm(path: &str, value: &str) -> Option<String> {
        RegKey::predef(HKEY_LOCAL_MACHINE)
            .open_subkey_with_flags(path, KEY_READ | KEY_WOW64_64KEY)
            .ok()?
            .get_value::<String, _>(value)
            .ok()
    }

    pub(super) fn collect() -> OsValues {
        const CPU: &str = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0";
        // Version 1 read PROCESSOR_IDENTIFIER, which Windows builds from these two values.
        let legacy_cpu = match (hklm(CPU, "Identifier"), hklm(CPU, "VendorIdentifier")) {
            (Some(id), Some(vendor)) => {
                Some(format!("{}, {}", id.trim_ascii(), vendor.trim_ascii()))
            }
            _ => None,
        };
        OsValues {
            windows_guid: hklm(r"SOFTWARE\Microsoft\Cryptography", "MachineGuid"),
            hostname: os_hostname(),
            cpu: hklm(CPU, "ProcessorNameString"),
            legacy_hostname: hklm(
                r"SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName",
                "ComputerName",
            ),
            legacy_cpu,
            ..OsValues::default()
        }
    }
}

#[cfg(target_os = "macos")]
mod os {
    use super::*;
    use std::process::{Command, Stdio};

    /// Runs a system tool by absolute path (never looked up in `PATH`).
    fn run(program: &str, args: &[&str]) -> Option<String> {
        let out = Command::new(program)
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()
    }

    pub(super) fn collect() -> OsValues {
        let ioreg = run("/usr/sbin/ioreg", &["-rd1", "-c", "IOPlatformExpertDevice"]);
        OsValues {
            macos_uuid: ioreg.as_deref().and_then(platform_uuid),
            hostname: os_hostname(),
            cpu: run("/usr/sbin/sysctl", &["-n", "machdep.cpu.brand_string"]),
            legacy_hostname: read_file("/etc/hostname").filter(|v| clean(v).is_some()),
            ..OsValues::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fingerprints_are_stable_salted_and_separate_name_from_value() {
        assert_eq!(Fingerprint::legacy("a", "b"), Fingerprint::legacy("a", "b"));
        assert_ne!(Fingerprint::legacy("ab", ""), Fingerprint::legacy("a", "b"));
        let f = Fingerprint::legacy("x", "y");
        assert_eq!(f.to_string().parse::<Fingerprint>().unwrap(), f);
        let (s1, s2) = ([1u8; 16], [2u8; 16]);
        assert_ne!(
            Fingerprint::salted(&s1, "hostname", "h"),
            Fingerprint::salted(&s2, "hostname", "h")
        );
        assert_ne!(
            Fingerprint::salted(&[0; 16], "hostname", "h"),
            Fingerprint::legacy("hostname", "h")
        );
        assert_eq!(FINGERPRINT_CONTEXT.len(), FINGERPRINT_CONTEXT_V1.len());
    }

    #[test]
    fn collect_is_deterministic_and_reads_no_environment() {
        let a = MachineInfo::collect();
        assert_eq!(a, MachineInfo::collect());
        assert!(a.legacy.contains_key("os-arch"));
        assert!(a.legacy.contains_key("hostname"));
        assert!(a.component_names().all(|n| Strength::of(n).is_some()));
        // The variables version 1 honoured change nothing now.
        let before = (
            a.value("hostname").map(str::to_owned),
            a.value("cpu").map(str::to_owned),
        );
        let probe = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "machine::tests::print_collected", "--nocapture"])
            .env("HOSTNAME", "spoofed-host")
            .env("COMPUTERNAME", "SPOOFED")
            .env("PROCESSOR_IDENTIFIER", "Spoofed CPU")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&probe.stdout);
        assert!(!out.contains("spoofed"), "{out}");
        assert!(!out.contains("Spoofed"), "{out}");
        if let Some(host) = before.0 {
            assert!(out.contains(&format!("hostname={host}")), "{out}");
        }
    }

    /// On Linux the values come from the documented files and the kernel's host name.
    #[cfg(target_os = "linux")]
    #[test]
    fn collect_reads_the_documented_linux_sources() {
        let m = MachineInfo::collect();
        let file = |p: &str| read_file(p).as_deref().and_then(clean).map(str::to_owned);
        let id = file("/etc/machine-id").or_else(|| file("/var/lib/dbus/machine-id"));
        assert_eq!(
            m.value("machine-id"),
            id.map(|v| v.to_ascii_lowercase()).as_deref()
        );
        assert_eq!(
            m.value("dmi-product-uuid"),
            file("/sys/class/dmi/id/product_uuid")
                .map(|v| v.to_ascii_lowercase())
                .as_deref()
        );
        assert_eq!(
            m.value("hostname"),
            file("/proc/sys/kernel/hostname")
                .map(|v| v.to_ascii_lowercase())
                .as_deref()
        );
        let cpu = read_file("/proc/cpuinfo")
            .and_then(|c| cpuinfo_model(&c))
            .as_deref()
            .and_then(clean)
            .map(str::to_owned);
        assert_eq!(m.value("cpu"), cpu.as_deref());
        assert_eq!(m.legacy.get("cpu"), cpu.as_ref());
        let legacy_host = file("/etc/hostname")
            .or_else(|| file("/proc/sys/kernel/hostname"))
            .unwrap_or_else(|| "unknown".into())
            .to_ascii_lowercase();
        assert_eq!(m.legacy.get("hostname"), Some(&legacy_host));
        assert!(m.value("windows-machine-guid").is_none());
        assert!(m.value("macos-platform-uuid").is_none());
    }

    /// Run as a child by the test above, with spoofing variables set.
    #[test]
    fn print_collected() {
        let m = MachineInfo::collect();
        for name in m.component_names() {
            println!("{name}={}", m.value(name).unwrap());
        }
        for (name, value) in &m.legacy {
            println!("legacy {name}={value}");
        }
    }

    #[test]
    fn from_values_classifies_names() {
        let m = MachineInfo::from_values([
            ("machine-id", "abc"),
            ("hostname", "h"),
            ("os-arch", "linux/x86_64"),
        ])
        .unwrap();
        assert!(m.has_strong_identifier());
        assert_eq!(
            m.component_names().collect::<Vec<_>>(),
            ["hostname", "machine-id"]
        );
        assert_eq!(m.legacy_fingerprints().len(), 3);
        assert!(MachineInfo::from_values([("mac-address", "x")]).is_err());
        assert!(
            !MachineInfo::from_values([("cpu", "x")])
                .unwrap()
                .has_strong_identifier()
        );
        let debug = format!("{m:?}");
        assert!(
            !debug.contains("abc"),
            "raw values stay out of Debug: {debug}"
        );
        assert!(
            debug.contains("MachineInfo") && debug.contains("machine-id"),
            "{debug}"
        );
    }

    #[test]
    fn cpuinfo_and_trimming() {
        let info = "processor\t: 0\nmodel name\t: AMD EPYC 7302 16-Core Processor  \nmodel name\t: other\n";
        assert_eq!(
            clean(&cpuinfo_model(info).unwrap()),
            Some("AMD EPYC 7302 16-Core Processor")
        );
        assert_eq!(clean(" \t\r\n\x0c"), None);
        // Only ASCII whitespace is trimmed: a no-break space stays part of the value.
        assert_eq!(clean("\u{a0}x\n"), Some("\u{a0}x"));
        let ioreg = "+-o J314sAP  <class IOPlatformExpertDevice>\n    {\n      \"IOPlatformSerialNumber\" = \"C02XXXX\"\n      \"IOPlatformUUID\" = \"0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9\"\n    }\n";
        assert_eq!(
            platform_uuid(ioreg).as_deref(),
            Some("0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9")
        );
        assert_eq!(platform_uuid("nothing here"), None);
    }

    fn binding(min: u16) -> (MachineBinding, [u8; 16]) {
        let salt = [7u8; 16];
        let fp = |n: &str, v: &str| MachineComponent {
            name: n.into(),
            fingerprint: Fingerprint::salted(&salt, n, v),
        };
        (
            MachineBinding {
                salt,
                strong: vec![fp("dmi-product-uuid", "d1"), fp("machine-id", "m1")],
                min_strong_matches: min,
                weak: vec![fp("cpu", "EPYC"), fp("hostname", "node-a")],
            },
            salt,
        )
    }

    fn machine(pairs: &[(&str, &str)]) -> MachineInfo {
        MachineInfo::from_values(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn binding_rule() {
        let (all, _) = binding(2);
        let (one, _) = binding(1);
        let same = machine(&[
            ("dmi-product-uuid", "d1"),
            ("machine-id", "m1"),
            ("cpu", "EPYC"),
            ("hostname", "node-a"),
        ]);
        assert_eq!(all.check(Some(&same)), Ok(()));
        // Hardware change: a new CPU (one weak part) still passes.
        let new_cpu = machine(&[
            ("dmi-product-uuid", "d1"),
            ("machine-id", "m1"),
            ("cpu", "Xeon"),
            ("hostname", "node-a"),
        ]);
        assert_eq!(all.check(Some(&new_cpu)), Ok(()));
        // Both weak parts changed: refused.
        let renamed = machine(&[
            ("dmi-product-uuid", "d1"),
            ("machine-id", "m1"),
            ("cpu", "Xeon"),
            ("hostname", "node-b"),
        ]);
        assert!(
            all.check(Some(&renamed))
                .unwrap_err()
                .contains("2 of 2 weak")
        );
        // A clone: another machine-id and DMI UUID, same host name and CPU: refused.
        let clone = machine(&[
            ("dmi-product-uuid", "d2"),
            ("machine-id", "m2"),
            ("cpu", "EPYC"),
            ("hostname", "node-a"),
        ]);
        assert!(
            all.check(Some(&clone))
                .unwrap_err()
                .contains("0 of 2 strong")
        );
        assert!(one.check(Some(&clone)).is_err());
        // Reinstalled OS (new machine-id, same board): only with the minimum lowered to 1.
        let reinstalled = machine(&[
            ("dmi-product-uuid", "d1"),
            ("machine-id", "m9"),
            ("cpu", "EPYC"),
            ("hostname", "node-a"),
        ]);
        assert!(all.check(Some(&reinstalled)).is_err());
        assert_eq!(one.check(Some(&reinstalled)), Ok(()));
        // DMI unreadable (not root): a missing identifier does not match.
        let no_dmi = machine(&[
            ("machine-id", "m1"),
            ("cpu", "EPYC"),
            ("hostname", "node-a"),
        ]);
        assert!(all.check(Some(&no_dmi)).is_err());
        assert_eq!(one.check(Some(&no_dmi)), Ok(()));
        assert!(all.check(None).is_err());
    }

    #[test]
    fn binding_problems() {
        let (mut b, _) = binding(2);
        assert_eq!(b.problem(), None);
        b.min_strong_matches = 3;
        assert!(b.problem().is_some());
        b.min_strong_matches = 0;
        assert!(b.problem().is_some());
        let (mut b, _) = binding(1);
        b.strong.clear();
        assert!(b.problem().is_some());
        let (mut b, _) = binding(1);
        b.weak.swap(0, 1);
        assert!(b.problem().is_some());
        b.normalize();
        assert_eq!(b.problem(), None);
        let (mut b, _) = binding(1);
        b.strong[0].name = "machine-id".into();
        assert!(b.problem().is_some(), "a name appears once");
        let (mut b, _) = binding(1);
        b.strong[0].name = "hostname".into();
        b.normalize();
        assert!(b.problem().is_some(), "a weak part cannot be made strong");
    }
}

//! The `license-desk` binary run against a temporary data directory, with the passphrase in
//! `LICENSE_DESK_PASSPHRASE`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_license-desk");
pub const PASSPHRASE: &str = "correct horse battery staple";

/// One data directory and the binary run against it.
pub struct Desk {
    pub dir: tempfile::TempDir,
}

impl Desk {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("test setup"),
        }
    }

    /// A desk with one signing key named `ops`.
    pub fn with_key() -> Self {
        let desk = Self::new();
        desk.ok(&["keys", "new", "--name", "ops"]);
        desk
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn database(&self) -> PathBuf {
        license_desk::paths::database_path(self.dir.path())
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env_remove("LICENSE_DESK_DATA")
            .env("LICENSE_DESK_PASSPHRASE", PASSPHRASE)
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("test setup")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("test setup")
    }

    /// Issues a Pro license for Acme with `extra` flags; returns (license id, serial, file).
    pub fn issue(&self, file: &str, extra: &[&str]) -> (String, String, PathBuf) {
        let out = self.path(file);
        let mut args = vec![
            "issue",
            "--product",
            "Storage",
            "--kind",
            "pro",
            "--customer",
            "Acme",
            "--out",
            out.to_str().expect("test setup"),
        ];
        args.extend_from_slice(extra);
        let stdout = self.ok(&args);
        (
            stdout_field(&stdout, "License id:"),
            stdout_field(&stdout, "Serial:"),
            out,
        )
    }

    /// Exports the public key `key` in `format` to a file and returns its path.
    pub fn export(&self, key: &str, format: &str) -> PathBuf {
        let out = self.path(&format!("{key}.{format}"));
        self.ok(&[
            "keys",
            "export",
            key,
            "--format",
            format,
            "--out",
            out.to_str().expect("test setup"),
        ]);
        out
    }

    pub fn ledger_count(&self) -> i64 {
        let conn = super::raw_connection(&self.database());
        conn.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))
            .expect("test setup")
    }
}

/// The value after `label` on its line.
pub fn stdout_field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no '{label}' in:\n{stdout}"))
        .trim()
        .to_string()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("test setup")
}

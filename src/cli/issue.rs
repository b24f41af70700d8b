//! `license-desk issue`: one license from flags, or a CSV file of them. Both go through
//! [`IssueDraft::validate`], the rules the GUI form uses, so the messages are the same.

use super::passphrase::{self, Purpose};
use super::progress::Bar;
use super::{IssueArgs, OutArg, now, open_store};
use crate::domain::FieldErrors;
use crate::domain::ids::AccountId;
use crate::domain::issue::{IssueDraft, IssueSpec, parse_kind};
use crate::domain::time::rfc3339;
use crate::files;
use crate::outln;
use crate::services::{self, licensing};
use crate::store::Store;
use crate::store::keys::KeyRow;
use anyhow::Context as _;
use licensekey::{SignedLicense, SigningKey};
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

/// Shown under `issue --help`.
pub const CSV_HELP: &str = "\
Bulk issue: --csv FILE --out FILE.csv
  The input has a header row. Required columns: product, kind (eval|dev|pro), customer.
  Optional: cluster, ip, capacity_tb, seats, features (separated by ';'), days,
  perpetual (true/false, yes/no, 1/0), support_days, grace_days. Blank cells take the defaults.
  Every row is checked first; if any is bad, the file is refused with one line per problem
  (\"row N: Field: problem\", rows counted from 1 after the header) and nothing is issued.
  The output CSV has: license_id, customer, kind, expires_at, serial.
  A run that was stopped (Ctrl-C, a crash, a full disk) is resumed by running the same
  command again: rows are known by the file's content and their number, so only the rows not
  issued yet are issued, and the output is complete. While it runs, FILE.csv.partial holds
  every row committed so far. --new-batch issues the whole file again on purpose.

Passphrase: --passphrase-file FILE, else LICENSE_DESK_PASSPHRASE, else a prompt in a terminal.";

/// Columns accepted in a bulk CSV.
const COLUMNS: [&str; 12] = [
    "product",
    "kind",
    "customer",
    "cluster",
    "ip",
    "capacity_tb",
    "seats",
    "features",
    "days",
    "perpetual",
    "support_days",
    "grace_days",
];

pub fn run(args: &IssueArgs, database: &Path) -> anyhow::Result<ExitCode> {
    match &args.csv {
        Some(csv) => bulk(args, csv, database),
        None => single(args, database),
    }
}

/// One message per line, each naming its field.
fn lines(errors: &FieldErrors, prefix: &str) -> Vec<String> {
    errors
        .iter()
        .map(|e| format!("{prefix}{}: {}", e.field, e.message))
        .collect()
}

fn single(args: &IssueArgs, database: &Path) -> anyhow::Result<ExitCode> {
    let mut draft = match &args.request {
        Some(path) => {
            let request =
                licensing::load_request(path).map_err(|e| anyhow::anyhow!("--request {e}"))?;
            IssueDraft::from_request(request)
        }
        None => IssueDraft::default(),
    };
    draft.product = args.product.clone().unwrap_or_default();
    draft.kind = args.kind.map(Into::into).unwrap_or(draft.kind);
    draft.customer = args.customer.clone().unwrap_or_default();
    let set = |field: &mut String, value: &Option<String>| {
        if let Some(value) = value {
            field.clone_from(value);
        }
    };
    set(&mut draft.cluster, &args.cluster);
    set(&mut draft.ip, &args.ip);
    set(&mut draft.capacity_tb, &args.capacity_tb);
    set(&mut draft.seats, &args.seats);
    set(&mut draft.days, &args.days);
    set(&mut draft.support_days, &args.support_days);
    set(&mut draft.grace_days, &args.grace_days);
    set(&mut draft.min_matches, &args.min_matches);
    draft.features = args.features.join(",");
    draft.perpetual = args.perpetual;
    let spec = draft
        .validate()
        .map_err(|errors| anyhow::anyhow!("{}", lines(&errors, "").join("\n")))?;
    let out = OutArg::new(args.out.as_deref(), args.force);
    out.check(database)?;

    let mut store = open_store(database)?;
    let account = account_id(&store, args.account.as_deref())?;
    let (_, key, operator) = unlock_active(&store, &args.passphrase)?;
    let license = licensing::issue(&mut store, &key, &spec, account, &operator, now())?;
    let payload = license.payload();
    // The file first: a closed standard output must not lose it.
    if let Some(path) = out.path {
        files::write(
            path,
            license.to_license_file().as_bytes(),
            out.output(database, false),
        )
        .with_context(|| {
            format!(
                "license {} was issued (it is in the ledger), but its file could not be written",
                payload.license_id
            )
        })?;
    }
    outln!("License id: {}", payload.license_id);
    outln!("Serial:     {}", license.to_serial());
    outln!("Expires:    {}", expiry(payload.expires_at));
    if let Some(path) = out.path {
        outln!("License file: {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn expiry(expires_at: Option<i64>) -> String {
    expires_at.map_or_else(|| "never (perpetual)".to_string(), rfc3339)
}

/// The account's id for `--account WALLET_ID`.
fn account_id(store: &Store, wallet: Option<&str>) -> anyhow::Result<Option<AccountId>> {
    let Some(wallet) = wallet else {
        return Ok(None);
    };
    let account = services::accounts::by_wallet_id(store, wallet)
        .map_err(|e| anyhow::anyhow!("--account: {e}"))?;
    Ok(Some(account.id))
}

/// Unlocks the active key and resolves the operator recorded in the ledger.
pub(super) fn unlock_active(
    store: &Store,
    args: &super::PassphraseArgs,
) -> anyhow::Result<(KeyRow, SigningKey, String)> {
    let row = services::keys::active(store.conn())?;
    let key = unlock(store, &row, args, "")?;
    let operator = licensing::operator(store)?;
    Ok((row, key, operator))
}

/// Unlocks the signing key `row` with its passphrase (`why` is said after its name when asked).
pub(super) fn unlock(
    store: &Store,
    row: &KeyRow,
    args: &super::PassphraseArgs,
    why: &str,
) -> anyhow::Result<SigningKey> {
    let pass = passphrase::read(
        args,
        Purpose::Unlock,
        &format!("the signing key '{}'{why}", row.name),
    )?;
    services::keys::unlock(store.conn(), row, &pass)
        .with_context(|| format!("unlocking the signing key '{}' ({})", row.name, row.key_id))
}

/// Reads and validates every row; either all specs, or every problem as "row N: ..." lines.
fn read_rows(text: &str) -> Result<Vec<IssueSpec>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
        Err(e) => return Err(vec![format!("header: {e}")]),
    };
    let mut problems = Vec::new();
    for name in &headers {
        if !COLUMNS.contains(&name.as_str()) {
            problems.push(format!(
                "header: unknown column '{name}' (known: {})",
                COLUMNS.join(", ")
            ));
        }
    }
    for required in ["product", "kind", "customer"] {
        if !headers.iter().any(|h| h == required) {
            problems.push(format!("header: the column '{required}' is missing"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("row {row}: {e}"));
                continue;
            }
        };
        let cells: HashMap<&str, &str> = headers
            .iter()
            .map(String::as_str)
            .zip(record.iter())
            .collect();
        let cell = |name: &str| cells.get(name).copied().unwrap_or("").trim();
        let mut draft = IssueDraft {
            product: cell("product").to_string(),
            customer: cell("customer").to_string(),
            cluster: cell("cluster").to_string(),
            ip: cell("ip").to_string(),
            features: cell("features").to_string(),
            support_days: cell("support_days").to_string(),
            ..IssueDraft::default()
        };
        for (name, field) in [
            ("capacity_tb", &mut draft.capacity_tb),
            ("seats", &mut draft.seats),
            ("days", &mut draft.days),
            ("grace_days", &mut draft.grace_days),
        ] {
            if !cell(name).is_empty() {
                *field = cell(name).to_string();
            }
        }
        let mut row_problems = Vec::new();
        match parse_kind(cell("kind")) {
            Some(kind) => draft.kind = kind,
            None => row_problems.push(format!(
                "row {row}: Kind: '{}' is not eval, dev or pro",
                cell("kind")
            )),
        }
        match cell("perpetual").to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" => {}
            "true" | "yes" | "1" => draft.perpetual = true,
            other => row_problems.push(format!(
                "row {row}: Perpetual: '{other}' is not true or false"
            )),
        }
        match draft.validate() {
            Ok(spec) if row_problems.is_empty() => rows.push(spec),
            Ok(_) => {}
            Err(errors) => row_problems.extend(lines(&errors, &format!("row {row}: "))),
        }
        problems.extend(row_problems);
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push("the file has no rows after the header".into());
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

fn bulk(args: &IssueArgs, csv_path: &Path, database: &Path) -> anyhow::Result<ExitCode> {
    let out_path = args
        .out
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--csv needs --out FILE.csv"))?;
    let out = OutArg::new(Some(out_path), args.force);
    out.check(database)?;
    let text = files::read_text(csv_path, files::CSV).map_err(|e| anyhow::anyhow!("--csv {e}"))?;
    // Spreadsheets often save UTF-8 with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let specs = read_rows(text).map_err(|problems| {
        anyhow::anyhow!(
            "{}: refused, nothing was issued:\n{}",
            csv_path.display(),
            problems.join("\n")
        )
    })?;

    let batch_id: crate::store::bulk::BatchId = if args.new_batch {
        crate::store::bulk::new_batch_id()
    } else {
        use sha2::Digest as _;
        sha2::Sha256::digest(text.as_bytes()).into()
    };
    let rows: Vec<(u32, IssueSpec)> = (1..).zip(specs).collect();
    let mut store = open_store(database)?;
    let account = account_id(&store, args.account.as_deref())?;
    let (_, key, operator) = unlock_active(&store, &args.passphrase)?;
    let mut bar = Bar::counting("Issuing");
    let mut partial = Partial::create(out_path)?;
    let outcome = licensing::issue_batch(
        &mut store,
        &key,
        &licensing::Batch {
            id: Some(batch_id),
            rows: &rows,
        },
        account,
        &operator,
        now(),
        &mut bar,
        |chunk| {
            partial
                .push(chunk)
                .map_err(|e| licensing::LicensingError::Output(e.to_string()))
        },
    )?;
    // The licenses are issued (with their ledger entries); the list takes them in now.
    bar.phase("Indexing for the license list");
    licensing::index_list(&mut store, &mut bar)?;
    drop(bar);
    let issued = crate::store::bulk::issued(store.conn(), &batch_id)?;
    write_output(out, database, &issued).with_context(|| {
        format!(
            "the licenses were issued (see the ledger, and {}), but the output CSV could not be written; run the same command again to write it",
            partial.path.display()
        )
    })?;
    partial.remove();
    if outcome.earlier > 0 {
        outln!(
            "Issued {} licenses ({} already issued by an earlier run of this file); wrote {}",
            outcome.issued,
            outcome.earlier,
            out_path.display()
        );
    } else {
        outln!(
            "Issued {} licenses; wrote {}",
            outcome.issued,
            out_path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The output rows committed so far, appended (and synced) as each transaction commits, so
/// that what was handed out is on disk even if the run is stopped before the end.
struct Partial {
    path: std::path::PathBuf,
    file: std::io::BufWriter<std::fs::File>,
}

impl Partial {
    fn create(out: &Path) -> anyhow::Result<Self> {
        let mut name = out.as_os_str().to_owned();
        name.push(".partial");
        let path = std::path::PathBuf::from(name);
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut partial = Self {
            path,
            file: std::io::BufWriter::new(file),
        };
        partial.line(&output_header())?;
        Ok(partial)
    }

    /// Appends one committed chunk and makes it durable before the run moves on.
    fn push(&mut self, chunk: &[(u32, SignedLicense)]) -> anyhow::Result<()> {
        for (_, license) in chunk {
            self.line(&output_record(license))?;
        }
        use std::io::Write as _;
        self.file.flush()?;
        self.file.get_ref().sync_data()?;
        Ok(())
    }

    fn line(&mut self, fields: &[String]) -> anyhow::Result<()> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(fields)?;
        let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        use std::io::Write as _;
        self.file.write_all(&bytes)?;
        Ok(())
    }

    fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn output_header() -> Vec<String> {
    ["license_id", "customer", "kind", "expires_at", "serial"]
        .map(String::from)
        .to_vec()
}

fn output_record(license: &SignedLicense) -> Vec<String> {
    let p = license.payload();
    vec![
        p.license_id.to_string(),
        p.customer.clone(),
        p.kind.name().to_ascii_lowercase(),
        p.expires_at.map(rfc3339).unwrap_or_default(),
        license.to_serial(),
    ]
}

/// Writes the batch's licenses, in row order, to `--out` (atomically).
fn write_output(out: OutArg<'_>, database: &Path, issued: &[(u32, Vec<u8>)]) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(output_header())?;
    for (_, artifact) in issued {
        let license = SignedLicense::from_bytes(artifact)?;
        writer.write_record(output_record(&license))?;
    }
    let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(path) = out.path {
        files::write(path, &bytes, out.output(database, false))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_row_is_named() {
        let text = "product,kind,customer,seats\nStorage,pro,Acme,5\nStorage,gold,,0\n";
        let problems = read_rows(text).expect_err("bad rows");
        assert!(
            problems.contains(&"row 2: Kind: 'gold' is not eval, dev or pro".to_string()),
            "{problems:?}"
        );
        assert!(
            problems.contains(&"row 2: Customer: is required".to_string()),
            "{problems:?}"
        );
        assert!(
            problems
                .contains(&"row 2: Seats: must be a whole number from 1 to 1000000".to_string())
        );
        assert!(problems.iter().all(|p| !p.starts_with("row 1")));
    }

    #[test]
    fn headers_are_checked() {
        let problems = read_rows("product,kind,colour\n").expect_err("bad header");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("unknown column 'colour'"))
        );
        assert!(problems.iter().any(|p| p.contains("'customer' is missing")));
        let rows =
            read_rows("Product,Kind,Customer,features,perpetual\nS,dev,A,a;b,yes\n").expect("ok");
        assert_eq!(rows[0].features, ["a", "b"]);
        assert_eq!(rows[0].valid_days, None);
    }
}

//! Facts about the machine the tests run on: whether a PostgreSQL server answers on the local
//! socket (`postgres_probe.rs`).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=postgres_probe.rs");
    probe_postgres();
}

include!("postgres_probe.rs");

//! Field-by-field merging of a conflict's two versions: the fields (paths into nested objects,
//! like `details.city`) in which this desk's and the other desk's versions differ, and this
//! desk's version with the fields staff chose taken from the other desk's. Pure: what the
//! merged version means is checked by applying it (`sync::apply`), like any other version.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One field in which the two versions differ, with each side's value as JSON text (none:
/// that side does not have it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChoice {
    /// The field's path: object keys joined by dots.
    pub path: String,
    pub mine: Option<String>,
    pub theirs: Option<String>,
}

/// Why two versions cannot be merged field by field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("a version is not a JSON object")]
    NotObjects,
    #[error("'{0}' is not a field in which the two versions differ")]
    UnknownField(String),
}

fn leaves(value: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(inner, &path, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn objects(mine: &str, theirs: &str) -> Result<(Value, Value), MergeError> {
    let read = |text: &str| match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(MergeError::NotObjects),
    };
    Ok((read(mine)?, read(theirs)?))
}

/// The fields in which `mine` and `theirs` (two versions of one entity, JSON objects) differ,
/// in path order.
pub fn differing(mine: &str, theirs: &str) -> Result<Vec<FieldChoice>, MergeError> {
    let (mine, theirs) = objects(mine, theirs)?;
    let (mut ours, mut other) = (BTreeMap::new(), BTreeMap::new());
    leaves(&mine, "", &mut ours);
    leaves(&theirs, "", &mut other);
    let paths: std::collections::BTreeSet<&String> = ours.keys().chain(other.keys()).collect();
    Ok(paths
        .into_iter()
        .filter(|path| ours.get(*path) != other.get(*path))
        .map(|path| FieldChoice {
            path: path.clone(),
            mine: ours.get(path).map(Value::to_string),
            theirs: other.get(path).map(Value::to_string),
        })
        .collect())
}

/// This desk's version with each field of `from_theirs` as the other desk's version has it
/// (removed where that version has none). Every field named must be one the versions differ in.
pub fn merged(mine: &str, theirs: &str, from_theirs: &[String]) -> Result<String, MergeError> {
    let differ = differing(mine, theirs)?;
    let (mut result, theirs) = objects(mine, theirs)?;
    let mut other = BTreeMap::new();
    leaves(&theirs, "", &mut other);
    for path in from_theirs {
        if !differ.iter().any(|f| &f.path == path) {
            return Err(MergeError::UnknownField(path.clone()));
        }
        set(&mut result, path, other.get(path).cloned());
    }
    Ok(result.to_string())
}

/// Sets (or, with `None`, removes) the field at `path`, making the objects on the way.
fn set(root: &mut Value, path: &str, value: Option<Value>) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut here = root;
    for part in parts {
        let Value::Object(map) = here else { return };
        here = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !here.is_object() {
            *here = Value::Object(Map::new());
        }
    }
    if let Value::Object(map) = here {
        match value {
            Some(value) => {
                map.insert(last.to_string(), value);
            }
            None => {
                map.remove(last);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MINE: &str =
        r#"{"account_id":"a","details":{"company":"Acme GmbH","city":"Berlin","vat_id":""}}"#;
    const THEIRS: &str =
        r#"{"account_id":"a","details":{"company":"Acme AG","city":"Hamburg","extra":1}}"#;

    #[test]
    fn the_differing_fields_are_found_inside_nested_objects() {
        let fields = differing(MINE, THEIRS).unwrap();
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "details.city",
                "details.company",
                "details.extra",
                "details.vat_id"
            ]
        );
        assert_eq!(fields[0].mine.as_deref(), Some(r#""Berlin""#));
        assert_eq!(fields[0].theirs.as_deref(), Some(r#""Hamburg""#));
        assert_eq!(fields[2].mine, None);
        assert!(differing(MINE, MINE).unwrap().is_empty());
    }

    #[test]
    fn a_merge_takes_the_chosen_fields_from_the_other_version_only() {
        let out = merged(
            MINE,
            THEIRS,
            &["details.city".into(), "details.vat_id".into()],
        )
        .unwrap();
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["details"]["city"], "Hamburg");
        assert_eq!(value["details"]["company"], "Acme GmbH");
        assert!(value["details"].get("vat_id").is_none(), "theirs has none");
        assert!(value["details"].get("extra").is_none(), "not chosen");
        assert_eq!(
            merged(MINE, THEIRS, &[]).unwrap(),
            serde_json::from_str::<Value>(MINE).unwrap().to_string()
        );
        assert_eq!(
            merged(MINE, THEIRS, &["account_id".into()]),
            Err(MergeError::UnknownField("account_id".into()))
        );
        assert_eq!(merged("[1]", THEIRS, &[]), Err(MergeError::NotObjects));
    }
}

//! The one table of what the portal accepts: entity names, the operations each takes, the form
//! of its ids and the body versions the portal knows. `docs/sync-protocol.md` prints the same
//! table (a test checks the two agree). A new entity or body version is a new row here and a
//! portal release, made before desks send it.

use crate::protocol::Op;

/// The text form an entity id must have. Ids are compared as text, so each id has exactly one
/// accepted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdForm {
    /// A UUID, lower-case hyphenated (36 characters).
    Uuid,
    /// A per-desk sequence number, qualified by the desk that counts it:
    /// `<desk_id>:<n>` (lower-case UUID, `:`, decimal without leading zeros); the desk id must
    /// be the envelope's, so two desks' counters never collide.
    DeskSeq,
    /// Any 1–128 characters from `A–Z a–z 0–9 . _ : / -`.
    Text,
}

impl IdForm {
    /// The word used in the documentation's table.
    pub fn as_str(self) -> &'static str {
        match self {
            IdForm::Uuid => "uuid",
            IdForm::DeskSeq => "desk_seq",
            IdForm::Text => "text",
        }
    }
}

/// One row of the entity table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityKind {
    pub name: &'static str,
    pub ops: &'static [Op],
    pub id: IdForm,
    /// The newest body version the portal accepts (versions 1..=max_version).
    pub max_version: u32,
}

use IdForm::{DeskSeq, Text, Uuid};
use Op::{Delete, Insert, Upsert};

/// Every entity a desk may push.
pub const ENTITIES: &[EntityKind] = &[
    EntityKind {
        name: "account",
        ops: &[Upsert, Delete],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "billing_details",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "payment_method",
        ops: &[Upsert, Delete],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "public_key",
        ops: &[Upsert],
        id: Text,
        max_version: 1,
    },
    EntityKind {
        name: "license",
        ops: &[Insert, Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "revocation_list",
        ops: &[Insert],
        id: DeskSeq,
        max_version: 1,
    },
    EntityKind {
        name: "ledger_entry",
        ops: &[Insert],
        id: DeskSeq,
        max_version: 1,
    },
    EntityKind {
        name: "price_list",
        ops: &[Insert],
        id: Text,
        max_version: 1,
    },
    EntityKind {
        name: "vat_validation",
        ops: &[Insert],
        id: DeskSeq,
        max_version: 1,
    },
    EntityKind {
        name: "quote",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "order",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "invoice_draft",
        ops: &[Upsert, Delete],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "invoice",
        ops: &[Insert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "invoice_status",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "credit_note",
        ops: &[Insert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "wallet_entry",
        ops: &[Insert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "seat_contract",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "seat_change",
        ops: &[Insert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "seat_assignment",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "renewal_setting",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "renewal",
        ops: &[Insert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "license_admin",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "deactivation",
        ops: &[Insert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "license_transfer",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "array",
        ops: &[Upsert, Delete],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "referral",
        ops: &[Upsert],
        id: Uuid,
        max_version: 1,
    },
    EntityKind {
        name: "referral_reward",
        ops: &[Insert],
        id: Uuid,
        max_version: 1,
    },
];

/// The row for `name`, if the portal knows the entity.
pub fn find(name: &str) -> Option<&'static EntityKind> {
    ENTITIES.iter().find(|e| e.name == name)
}

/// Whether `text` is a UUID in its one accepted text (lower-case, hyphenated).
pub fn is_canonical_uuid(text: &str) -> bool {
    text.len() == 36
        && uuid::Uuid::try_parse(text).is_ok_and(|u| u.hyphenated().to_string() == text)
}

/// Whether `entity_id` has the form `form` (for a change made by `desk_id`).
pub fn id_fits(form: IdForm, entity_id: &str, desk_id: &uuid::Uuid) -> bool {
    match form {
        IdForm::Uuid => is_canonical_uuid(entity_id),
        IdForm::DeskSeq => {
            let Some((desk, seq)) = entity_id.split_once(':') else {
                return false;
            };
            desk == desk_id.hyphenated().to_string()
                && !seq.is_empty()
                && seq.len() <= 19
                && seq.bytes().all(|b| b.is_ascii_digit())
                && (seq == "0" || !seq.starts_with('0'))
                && seq.parse::<u64>().is_ok()
        }
        IdForm::Text => {
            (1..=128).contains(&entity_id.len())
                && entity_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_entity_takes_an_op() {
        for (i, e) in ENTITIES.iter().enumerate() {
            assert!(!e.ops.is_empty(), "{}", e.name);
            assert!(e.max_version >= 1, "{}", e.name);
            assert!(
                ENTITIES[i + 1..].iter().all(|o| o.name != e.name),
                "{}",
                e.name
            );
        }
        assert_eq!(find("ledger_entry").map(|e| e.ops), Some(&[Insert][..]));
        assert!(find("Ledger_entry").is_none());
    }

    #[test]
    fn id_forms_accept_one_text_each() {
        let desk = uuid::Uuid::now_v7();
        let other = uuid::Uuid::now_v7();
        let id = uuid::Uuid::now_v7().to_string();
        assert!(id_fits(Uuid, &id, &desk));
        assert!(!id_fits(Uuid, &id.to_uppercase(), &desk));
        assert!(!id_fits(Uuid, &id.replace('-', ""), &desk));
        assert!(!id_fits(Uuid, "", &desk));
        assert!(id_fits(DeskSeq, &format!("{desk}:0"), &desk));
        assert!(id_fits(DeskSeq, &format!("{desk}:17"), &desk));
        assert!(!id_fits(DeskSeq, &format!("{desk}:017"), &desk));
        assert!(!id_fits(DeskSeq, &format!("{desk}:-1"), &desk));
        assert!(!id_fits(DeskSeq, &format!("{desk}:"), &desk));
        assert!(!id_fits(DeskSeq, "17", &desk));
        assert!(
            !id_fits(DeskSeq, &format!("{other}:17"), &desk),
            "another desk's counter"
        );
        assert!(!id_fits(
            DeskSeq,
            &format!("{desk}:99999999999999999999"),
            &desk
        ));
        assert!(id_fits(Text, "3f2a9c1b0d4e5f60", &desk));
        assert!(id_fits(Text, &format!("{id}/3"), &desk));
        assert!(!id_fits(Text, "a b", &desk));
        assert!(!id_fits(Text, "é", &desk));
        assert!(!id_fits(Text, &"a".repeat(129), &desk));
    }

    /// The table in docs/sync-protocol.md is this table.
    #[test]
    fn the_documented_table_is_this_table() {
        let doc = include_str!("../../../docs/sync-protocol.md");
        let rows: Vec<Vec<String>> = doc
            .lines()
            .skip_while(|l| !l.starts_with("| entity | ops | entity_id | versions |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().trim_matches('`').to_string())
                    .collect()
            })
            .collect();
        let expected: Vec<Vec<String>> = ENTITIES
            .iter()
            .map(|e| {
                vec![
                    e.name.to_string(),
                    e.ops
                        .iter()
                        .map(|o| o.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    e.id.as_str().to_string(),
                    if e.max_version == 1 {
                        "1".to_string()
                    } else {
                        format!("1–{}", e.max_version)
                    },
                ]
            })
            .collect();
        assert_eq!(rows, expected);
    }
}

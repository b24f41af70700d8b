//! ISO 3166 countries (from `celes`): what staff may type in a Country field and the
//! two-letter code that is stored.

use celes::Country;

/// A country people can pick: its alpha-2 code and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountryEntry {
    /// ISO 3166-1 alpha-2 code, stored in the database.
    pub code: &'static str,
    /// The official short name, shown on screen.
    pub name: &'static str,
}

/// Every ISO 3166-1 country, sorted by name.
pub fn all() -> Vec<CountryEntry> {
    let mut list: Vec<_> = Country::get_countries()
        .iter()
        .map(|c| CountryEntry {
            code: c.alpha2,
            name: c.long_name,
        })
        .collect();
    list.sort_by_key(|c| c.name);
    list
}

/// Resolves what was typed — an alpha-2 or alpha-3 code, a name, or a common alias, in any
/// case — to a country.
pub fn resolve(input: &str) -> Option<CountryEntry> {
    let input = input.trim();
    if input.is_empty() {
        return None;
    }
    let found = match input.len() {
        2 => Country::from_alpha2(input.to_ascii_uppercase()).ok(),
        3 if input.chars().all(|c| c.is_ascii_alphabetic()) => {
            Country::from_alpha3(input.to_ascii_uppercase()).ok()
        }
        _ => None,
    }
    .or_else(|| {
        // celes keys names and aliases in lower case without spaces or punctuation.
        let key: String = input
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        Country::from_name(&key)
            .or_else(|_| Country::from_alias(&key))
            .or_else(|_| Country::from_name(format!("the{key}")))
            .ok()
    })
    .or_else(|| {
        Country::get_countries()
            .into_iter()
            .find(|c| c.long_name.eq_ignore_ascii_case(input))
    })?;
    Some(CountryEntry {
        code: found.alpha2,
        name: found.long_name,
    })
}

/// Countries whose name or code starts with what was typed (for suggestions).
pub fn suggestions(prefix: &str, limit: usize) -> Vec<CountryEntry> {
    let prefix = prefix.trim().to_lowercase();
    if prefix.is_empty() {
        return Vec::new();
    }
    all()
        .into_iter()
        .filter(|c| {
            c.name.to_lowercase().starts_with(&prefix) || c.code.eq_ignore_ascii_case(&prefix)
        })
        .take(limit)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_codes_names_and_aliases() {
        for (typed, code) in [
            ("de", "DE"),
            ("DEU", "DE"),
            ("Germany", "DE"),
            ("germany", "DE"),
            (" United States of America ", "US"),
            ("NL", "NL"),
        ] {
            assert_eq!(resolve(typed).map(|c| c.code), Some(code), "{typed}");
        }
        for bad in ["", "Narnia", "XX", "ZZZ", "12"] {
            assert_eq!(resolve(bad), None, "{bad}");
        }
    }

    #[test]
    fn list_is_complete_and_sorted() {
        let list = all();
        assert_eq!(list.len(), 250);
        assert!(list.windows(2).all(|w| w[0].name <= w[1].name));
        assert!(suggestions("swi", 5).iter().any(|c| c.code == "CH"));
    }
}

//! Field-level validation messages: each names the field and the problem, so the UI can show
//! it under the field and the CLI can print it as one line.

use std::fmt;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's label as people see it ("Email", "Country").
    pub field: &'static str,
    /// What is wrong, in plain words.
    pub message: String,
}

/// All problems found in a form, in form order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Records a problem with `field`.
    pub fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            message: message.into(),
        });
    }

    /// True when the form is valid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// Every problem, in form order.
    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// `Ok(())` when empty, otherwise the errors themselves.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// Checks a required free-text field: not blank and at most `max` characters.
pub fn required_text(errors: &mut FieldErrors, field: &'static str, value: &str, max: usize) {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.push(field, "is required");
    } else {
        optional_text(errors, field, value, max);
    }
}

/// Checks an optional free-text field: at most `max` characters, no control characters.
pub fn optional_text(errors: &mut FieldErrors, field: &'static str, value: &str, max: usize) {
    let len = value.trim().chars().count();
    if len > max {
        errors.push(
            field,
            format!("is too long ({len} characters, at most {max})"),
        );
    } else if value.chars().any(char::is_control) {
        errors.push(field, "must not contain control characters");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field() {
        let mut errors = FieldErrors::default();
        required_text(&mut errors, "Company", "   ", 10);
        optional_text(&mut errors, "City", "abcdefghijk", 10);
        optional_text(&mut errors, "Phone", "12\n3", 10);
        assert_eq!(errors.get("Company"), Some("is required"));
        assert_eq!(
            errors.get("City"),
            Some("is too long (11 characters, at most 10)")
        );
        assert!(errors.get("Phone").is_some());
        assert_eq!(
            errors.to_string(),
            "Company: is required; City: is too long (11 characters, at most 10); Phone: must not contain control characters"
        );
        assert!(errors.into_result().is_err());
        assert!(FieldErrors::default().into_result().is_ok());
    }
}

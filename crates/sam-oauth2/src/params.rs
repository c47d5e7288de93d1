//! Form parameters (`application/x-www-form-urlencoded`, the query of an authorisation
//! request and the body of the token, PAR and revocation requests): bounded in count and
//! size, each name at most once (RFC 6749 §3.1: "Request and response parameters MUST NOT be
//! included more than once"), and a parameter without a value treated as absent ("Parameters
//! sent without a value MUST be treated as if they were omitted").

use std::collections::BTreeMap;

use crate::OAuthError;

/// The most parameters one request may carry.
pub const MAX_PARAMS: usize = 32;
/// The most bytes of an encoded request (query or body); RAR details of many documents fit.
pub const MAX_ENCODED_LEN: usize = 64 * 1024;

/// A request's parameters, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Parses `encoded` (a query string without `?`, or a form body).
    pub fn from_form(encoded: &[u8]) -> Result<Self, OAuthError> {
        if encoded.len() > MAX_ENCODED_LEN {
            return Err(OAuthError::invalid(format!(
                "the request's parameters exceed {MAX_ENCODED_LEN} bytes"
            )));
        }
        let mut values = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(encoded) {
            if values.len() == MAX_PARAMS {
                return Err(OAuthError::invalid(format!(
                    "more than {MAX_PARAMS} parameters"
                )));
            }
            if values.contains_key(name.as_ref()) {
                return Err(OAuthError::invalid(format!(
                    "{} is given more than once",
                    shown(&name)
                )));
            }
            values.insert(name.into_owned(), value.into_owned());
        }
        // Keep the names of valueless parameters for the duplicate check, then forget them.
        values.retain(|_, v| !v.is_empty());
        Ok(Self { values })
    }

    /// The value of `name`, if given (and not empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `name`, which must be given.
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid(format!("{name} is missing")))
    }

    /// The value of `name` if given, at most `max` characters.
    pub fn bounded(&self, name: &str, max: usize) -> Result<Option<&str>, OAuthError> {
        match self.get(name) {
            Some(v) if v.chars().count() > max => Err(OAuthError::invalid(format!(
                "{name} is longer than {max} characters"
            ))),
            other => Ok(other),
        }
    }

    /// Whether `name` is given.
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The names given, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

/// A parameter name as it may appear in a description: printable, at most 40 characters.
pub(crate) fn shown(name: &str) -> String {
    let clean: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
    format!("{clean:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_decoded_once_each_and_empty_ones_are_absent() {
        let p = Params::from_form(b"a=1&b=two+words&c=%2Fx%3D&empty=").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("two words"));
        assert_eq!(p.get("c"), Some("/x="));
        assert_eq!(p.get("empty"), None);
        assert!(!p.has("empty"));
        assert_eq!(p.names().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(p.required("a").unwrap(), "1");
        assert!(
            p.required("z")
                .unwrap_err()
                .description
                .contains("z is missing")
        );
        assert!(p.bounded("b", 3).is_err());
        assert_eq!(p.bounded("b", 9).unwrap(), Some("two words"));
    }

    #[test]
    fn repeated_too_many_or_too_long_parameters_are_refused() {
        for bad in [&b"a=1&a=2"[..], b"a=&a=2", b"a=1&b=2&a="] {
            let e = Params::from_form(bad).unwrap_err();
            assert!(e.description.contains("more than once"), "{e}");
        }
        let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
        assert!(Params::from_form(many.join("&").as_bytes()).is_err());
        let long = vec![b'a'; MAX_ENCODED_LEN + 1];
        assert!(Params::from_form(&long).is_err());
        let e = Params::from_form(b"%0Aevil=1&%0Aevil=2").unwrap_err();
        assert!(!e.description.contains('\n'), "{e}");
    }
}

//! Credentials: HTTP Basic for the admin routes, a Bearer token for the chat backend. Secrets
//! are compared in constant time, and a missing secret closes the door instead of opening it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The one user name of the dashboard.
pub const USER: &str = "admin";

/// The outcome of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed.
    Granted,
    /// No or wrong credentials: 401.
    Denied,
    /// The secret is not configured: 503, never open.
    NotConfigured,
}

/// Compares two secrets in constant time. Their SHA-256 digests are compared, so even the
/// length of the secret does not show in the timing.
pub fn same_secret(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into()
}

/// Checks an `Authorization: Basic …` header against `admin` and `password`.
pub fn check_basic(header: Option<&str>, password: Option<&str>) -> Verdict {
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Verdict::NotConfigured;
    };
    let Some((user, given)) = header.and_then(parse_basic) else {
        return Verdict::Denied;
    };
    // Both comparisons always run, so timing does not tell which part was wrong.
    let user_ok = same_secret(&user, USER);
    let password_ok = same_secret(&given, password);
    if user_ok & password_ok {
        Verdict::Granted
    } else {
        Verdict::Denied
    }
}

/// Checks an `Authorization: Bearer …` header against `token`.
pub fn check_bearer(header: Option<&str>, token: Option<&str>) -> Verdict {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Verdict::NotConfigured;
    };
    match header.and_then(|h| strip_scheme(h, "Bearer")) {
        Some(given) if same_secret(given.trim(), token) => Verdict::Granted,
        _ => Verdict::Denied,
    }
}

/// Splits `Basic base64(user:password)` into its two parts.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let encoded = strip_scheme(header, "Basic")?.trim();
    let decoded = STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let header = header.trim_start();
    let (given, rest) = header.split_at_checked(scheme.len())?;
    (given.eq_ignore_ascii_case(scheme) && rest.starts_with(' ')).then(|| &rest[1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn basic_auth_needs_admin_and_the_password() {
        let secret = Some("s3cret:with colon");
        assert_eq!(
            check_basic(Some(&basic("admin", "s3cret:with colon")), secret),
            Verdict::Granted
        );
        assert_eq!(
            check_basic(Some(&basic("admin", "wrong")), secret),
            Verdict::Denied
        );
        assert_eq!(
            check_basic(Some(&basic("root", "s3cret:with colon")), secret),
            Verdict::Denied
        );
        assert_eq!(check_basic(None, secret), Verdict::Denied);
        assert_eq!(
            check_basic(Some("Basic !!!not-base64"), secret),
            Verdict::Denied
        );
        assert_eq!(check_basic(Some("Bearer abc"), secret), Verdict::Denied);
    }

    #[test]
    fn a_missing_secret_fails_closed() {
        assert_eq!(
            check_basic(Some(&basic("admin", "")), None),
            Verdict::NotConfigured
        );
        assert_eq!(
            check_basic(Some(&basic("admin", "")), Some("")),
            Verdict::NotConfigured
        );
        assert_eq!(check_bearer(Some("Bearer "), None), Verdict::NotConfigured);
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(
            check_bearer(Some("Bearer tok"), Some("tok")),
            Verdict::Granted
        );
        assert_eq!(
            check_bearer(Some("bearer tok"), Some("tok")),
            Verdict::Granted
        );
        assert_eq!(
            check_bearer(Some("Bearer tok2"), Some("tok")),
            Verdict::Denied
        );
        assert_eq!(
            check_bearer(Some("Basic tok"), Some("tok")),
            Verdict::Denied
        );
        assert_eq!(check_bearer(None, Some("tok")), Verdict::Denied);
    }

    #[test]
    fn basic_header_parsing() {
        assert_eq!(
            parse_basic(&basic("a", "b:c")),
            Some(("a".into(), "b:c".into()))
        );
        assert_eq!(parse_basic("Basic"), None);
        assert_eq!(parse_basic("Basic YWJj"), None, "no colon");
    }
}

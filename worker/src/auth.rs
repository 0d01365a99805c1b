//! Credentials: HTTP Basic for the admin routes, a Bearer token for the chat backend. Secrets
//! are compared in constant time, and a missing secret closes the door instead of opening it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
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

/// The cookie that marks a browser which has logged in to the dashboard before.
pub const DEVICE_COOKIE: &str = "analytics_device";

/// How long a browser stays known: a year.
pub const DEVICE_COOKIE_SECS: u64 = 365 * 24 * 60 * 60;

/// The device cookie's MAC of `id`: HMAC-SHA256 keyed by the worker's salt, over the
/// password's digest and the id. Without the salt nothing can be learnt from a cookie, not even
/// a way to test password guesses; changing the password forgets every device.
fn device_mac(salt: &str, password: &str, id: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(salt.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"analytics device\0");
    mac.update(&Sha256::digest(password.as_bytes()));
    mac.update(id.as_bytes());
    analytics::hex(&mac.finalize().into_bytes())
}

/// The `Set-Cookie` value that makes the browser a known device with id `id` (any short
/// token: the MAC, not the id, is what cannot be forged). `SameSite=Lax`: a link to
/// `/analytics` followed from mail or chat carries it, and it grants nothing by itself.
pub fn device_cookie(salt: &str, password: &str, id: &str) -> String {
    format!(
        "{DEVICE_COOKIE}={id}.{}; Path=/analytics; Max-Age={DEVICE_COOKIE_SECS}; HttpOnly; Secure; \
         SameSite=Lax",
        device_mac(salt, password, id)
    )
}

/// The id of the known device a request's `Cookie` header names, when its MAC is right.
/// A login from a known device is counted against that device, not against the address it
/// comes from: someone failing logins on the admin's network locks out the network, not the
/// admin's browser.
pub fn known_device(cookie_header: Option<&str>, salt: &str, password: &str) -> Option<String> {
    let value = cookie_header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == DEVICE_COOKIE)?
        .1;
    let (id, mac) = value.split_once('.')?;
    let well_formed = (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit());
    (well_formed && same_secret(mac, &device_mac(salt, password, id))).then(|| id.to_owned())
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

    #[test]
    fn a_device_cookie_is_known_only_with_its_mac_the_same_salt_and_password() {
        let set = device_cookie("salt", "pw", "0123456789abcdef");
        let pair = set.split(';').next().expect("name=value");
        assert!(
            set.contains("HttpOnly") && set.contains("Secure") && set.contains("Path=/analytics")
        );
        assert!(set.contains("SameSite=Lax"));
        let header = format!("other=1; {pair}; last=2");
        let known = |h: &str, salt: &str, pw: &str| known_device(Some(h), salt, pw);
        assert_eq!(
            known(&header, "salt", "pw").as_deref(),
            Some("0123456789abcdef")
        );
        assert_eq!(known(&header, "salt", "new password"), None);
        assert_eq!(known(&header, "other salt", "pw"), None);
        let forged = pair.replace("0123456789abcdef", "0123456789abcdee");
        assert_eq!(known(&forged, "salt", "pw"), None);
        for bad in [
            "",
            "analytics_device=",
            "analytics_device=abc",
            "analytics_device=zz.zz",
        ] {
            assert_eq!(known(bad, "salt", "pw"), None, "{bad}");
        }
        assert_eq!(known_device(None, "salt", "pw"), None);
    }
}

//! `reportgen notify`: posts a snapshot's Markdown digest to a chat webhook as `{"text": …}`,
//! the Slack-compatible body that Slack, Mattermost, Discord's `/slack` endpoint and Teams
//! workflows accept, retried as the export fetch is ([`crate::http`]).
//!
//! A webhook's URL is its password (Slack's token is in the path, others put one in the
//! query): it comes from the environment only, and no message shows more of it than its
//! scheme, host and port. A server's answer quoted in a message has the longer parts of the
//! path and query blanked out, in case it repeats the URL it was sent to.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use percent_encoding::percent_decode_str;
use reqwest::blocking::Response;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{StatusCode, Url};

use crate::cli::NotifyArgs;
use crate::http::{self, Failure, Peer};

/// The longest digest posted, in characters. Chat services cap a message's length (Slack
/// cuts it at 40,000 characters); a digest is a few lines, so a longer file is the wrong file,
/// and it is refused whole rather than cut where no reader would notice.
pub const MAX_CHARS: usize = 30_000;

/// Parts of the URL's path and query at least this long are blanked out of a server's answer
/// before it is shown: a token is longer, a word such as `hooks` is not worth hiding.
const SECRET_PART_CHARS: usize = 6;

/// The body posted.
#[derive(serde::Serialize)]
struct Message<'a> {
    text: &'a str,
}

/// Runs `reportgen notify`: reads the digest, then posts it to the webhook whose URL is in
/// the environment variable `--url-env` names.
pub fn run(args: &NotifyArgs) -> anyhow::Result<ExitCode> {
    let url = webhook_url(&args.url_env)?;
    let text = read_digest(&args.digest)?;
    let peer = Peer::new(
        &url,
        "the webhook",
        Duration::from_secs(args.timeout),
        args.quiet,
    );
    post(&url, &peer, &args.url_env, &text)
        .with_context(|| format!("posting the digest {}", args.digest.display()))?;
    if !args.quiet {
        eprintln!(
            "reportgen: posted the digest {} to the webhook at {}",
            args.digest.display(),
            peer.origin
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The webhook URL in the environment variable `var`: set, a URL, and https (or http to this
/// machine, where nothing crosses a network). No message quotes it.
fn webhook_url(var: &str) -> anyhow::Result<Url> {
    let value = std::env::var_os(var).unwrap_or_default();
    let Some(value) = value.to_str() else {
        bail!(
            "the environment variable {var} is not valid UTF-8: it should hold the webhook's URL"
        );
    };
    let value = value.trim();
    if value.is_empty() {
        bail!(
            "the environment variable {var} is not set or is empty: set it to the webhook's URL \
             (or name another variable with --url-env)"
        );
    }
    let url = Url::parse(value).map_err(|e| {
        anyhow!("the value of {var} is not a URL ({e}): it should be the webhook's https URL")
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if http::is_loopback(&url) => Ok(url),
        "http" => bail!(
            "{}: use https; plain http would send the webhook's token, the URL in {var}, in the \
             clear (only this machine's addresses may use http)",
            http::origin(&url)
        ),
        _ => bail!("the URL in {var} is not an https URL"),
    }
}

/// The digest's text: readable, not empty, and at most [`MAX_CHARS`] characters.
fn read_digest(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the digest {}", path.display()))?;
    if text.trim().is_empty() {
        bail!(
            "the digest {} is empty: nothing to post; nothing was sent",
            path.display()
        );
    }
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        bail!(
            "the digest {} holds {chars} characters, more than the {MAX_CHARS} reportgen posts; \
             nothing was sent (a digest is a few lines: is it the right file?)",
            path.display()
        );
    }
    Ok(text)
}

/// Posts `{"text": text}` to `url`; `var` names where the URL came from, for messages.
fn post(url: &Url, peer: &Peer, var: &str, text: &str) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&Message { text }).context("encoding the digest as JSON")?;
    let client = http::client()?;
    http::send_with_retry(
        peer,
        || {
            client
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
        },
        |_| Ok(()),
        |response| classify(peer, url, var, response),
    )
    .map(drop)
}

/// What an answer other than 2xx means: 429 and 5xx are retried, anything else is final.
fn classify(peer: &Peer, url: &Url, var: &str, response: Response) -> Failure {
    let status = response.status();
    let retry_after = http::retry_after(&response);
    let location = response.headers().get(LOCATION).map(|v| {
        String::from_utf8(v.as_bytes().to_vec())
            .ok()
            .and_then(|l| url.join(&l).ok())
            .map_or_else(
                || "an unreadable Location".to_owned(),
                |l| http::origin(&l).to_string(),
            )
    });
    let said = answer_text(&response.text().unwrap_or_default(), url)
        .map_or_else(String::new, |text| format!(": {text}"));
    let origin = &peer.origin;
    let code = status.as_u16();
    match status {
        s if s.is_redirection() => Failure::Fatal(anyhow!(
            "{origin}: the webhook answered {code}, redirecting to {}; reportgen follows no \
             redirect: check the URL in {var}",
            location
                .as_deref()
                .unwrap_or("nowhere (no Location header)")
        )),
        StatusCode::TOO_MANY_REQUESTS => {
            Failure::Retry(format!("rate limited (429){said}"), retry_after)
        }
        s if s.is_server_error() => {
            Failure::Retry(format!("the webhook failed ({code}){said}"), retry_after)
        }
        StatusCode::UNAUTHORIZED
        | StatusCode::FORBIDDEN
        | StatusCode::NOT_FOUND
        | StatusCode::GONE => Failure::Fatal(anyhow!(
            "{origin}: the webhook refused the message ({code}){said}: check the URL in {var} \
             (a webhook that was removed or whose token was revoked answers so)"
        )),
        _ => Failure::Fatal(anyhow!(
            "{origin}: the webhook refused the message ({code}){said}"
        )),
    }
}

/// A server's answer as a message may quote it: one line, at most 200 characters, without
/// anything that could be the URL's token; `None` when there is nothing to quote.
fn answer_text(body: &str, url: &Url) -> Option<String> {
    // Blanked out before the cut, which could leave a token's first characters.
    let text = without_secrets(body, url);
    let words: Vec<&str> = text.split_whitespace().collect();
    let line =
        analytics::truncate_chars(&analytics::clean_text(&words.join(" ")), 200).into_owned();
    (!line.is_empty()).then_some(line)
}

/// `text` with every part of `url`'s credentials, path segments and query keys and values of
/// [`SECRET_PART_CHARS`] or more characters, as sent or percent-decoded, replaced by `…`.
fn without_secrets(text: &str, url: &Url) -> String {
    let query = url.query().unwrap_or_default();
    let mut parts: Vec<String> = url
        .path_segments()
        .into_iter()
        .flatten()
        .chain(query.split(['&', '=']))
        .chain([url.username(), url.password().unwrap_or_default()])
        .flat_map(|part| {
            let decoded = percent_decode_str(part).decode_utf8_lossy().into_owned();
            [part.to_owned(), decoded]
        })
        .filter(|part| part.chars().count() >= SECRET_PART_CHARS)
        .collect();
    // The longest first, so a part that holds a shorter one goes whole.
    parts.sort_by_key(|part| std::cmp::Reverse(part.len()));
    parts.iter().fold(text.to_owned(), |text, part| {
        text.replace(part.as_str(), "…")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_answer_that_repeats_the_url_loses_its_token() {
        let url = Url::parse(
            "https://hooks.example.com/services/T0001/B0002/abcdefSECRET%2Bxyz?sig=QUERYSECRET",
        )
        .unwrap();
        let said = answer_text(
            "no hook at /services/T0001/B0002/abcdefSECRET+xyz?sig=QUERYSECRET\n(try again)",
            &url,
        )
        .unwrap();
        assert!(!said.contains("SECRET"), "{said}");
        assert!(!said.contains('\n'), "{said}");
        assert!(
            said.starts_with("no hook at /…/T0001/B0002/…?sig=…"),
            "{said}"
        );
    }

    #[test]
    fn an_empty_answer_is_not_quoted() {
        let url = Url::parse("https://hooks.example.com/x").unwrap();
        assert_eq!(answer_text(" \r\n", &url), None);
    }
}

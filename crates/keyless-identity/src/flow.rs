//! Getting one token, sans-IO: the flow says what to send (and how long to wait first) or
//! which file to read, and takes the answers. Retries follow the services' published rules
//! (protocols.md 4.1): 404, 408, 429 and 5xx back off 1, 2, 4 s (or as `Retry-After` says,
//! up to a minute); IMDS's 410 ("updating") is asked again every 10 s for up to 70 s; other
//! errors are final. Azure Arc answers a first request with 401 and the path of a file whose
//! contents prove the caller may read it.

use crate::http::{Request, Response};
use crate::source::Source;
use crate::{AccessToken, Error};
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// Largest challenge file Azure Arc writes (MSAL's limit).
const ARC_SECRET_MAX: usize = 4096;

/// How patiently to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// First back-off; doubled for each retry.
    pub backoff: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Interval between attempts while IMDS answers 410.
    pub gone_interval: Duration,
    /// How long 410 is waited out.
    pub gone_for: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            backoff: Duration::from_secs(1),
            retries: 3,
            gone_interval: Duration::from_secs(10),
            gone_for: Duration::from_secs(70),
        }
    }
}

/// What the flow wants next.
#[derive(Debug)]
pub enum Next {
    /// Wait, then send this and hand the answer to [`TokenFlow::on_response`].
    Send(Request, Duration),
    /// Read this file (at most 64 KiB) and hand it to [`TokenFlow::on_file`].
    Read(PathBuf),
    /// The token.
    Done(AccessToken),
}

/// One token from one source.
pub struct TokenFlow {
    source: Source,
    resource: String,
    policy: RetryPolicy,
    retries: u32,
    gone_waited: Duration,
    secret: Option<Zeroizing<String>>,
}

impl TokenFlow {
    /// A flow for a token for `resource` from `source`.
    pub fn new(source: Source, resource: &str) -> Self {
        Self::with_policy(source, resource, RetryPolicy::default())
    }

    /// The same with another retry policy.
    pub fn with_policy(source: Source, resource: &str, policy: RetryPolicy) -> Self {
        Self { source, resource: resource.into(), policy, retries: 0, gone_waited: Duration::ZERO, secret: None }
    }

    /// What the source is, for messages.
    pub fn service(&self) -> String {
        self.source.describe()
    }

    /// The first step.
    pub fn start(&self) -> Next {
        match &self.source {
            Source::Given(t) => Next::Done(t.clone()),
            Source::Workload { token_file, .. } => Next::Read(token_file.clone()),
            _ => self.send(Duration::ZERO),
        }
    }

    fn send(&self, wait: Duration) -> Next {
        match self.source.request(&self.resource, self.secret.as_deref().map(String::as_str)) {
            Some(r) => Next::Send(r, wait),
            None => self.start(), // a given token: nothing to send
        }
    }

    /// A file asked for by [`Next::Read`].
    ///
    /// # Errors
    /// [`Error::Config`] for an empty file, or an Arc challenge file over 4 KiB.
    pub fn on_file(&mut self, contents: &[u8]) -> Result<Next, Error> {
        if matches!(self.source, Source::Arc { .. }) && contents.len() > ARC_SECRET_MAX {
            return Err(Error::Config(format!(
                "{}: the challenge file is over {ARC_SECRET_MAX} bytes",
                self.service()
            )));
        }
        let text = Zeroizing::new(String::from_utf8_lossy(contents).trim().to_string());
        if text.is_empty() {
            return Err(Error::Config(format!("{}: the identity file is empty", self.service())));
        }
        self.secret = Some(text);
        Ok(self.send(Duration::ZERO))
    }

    /// The answer to the last request; `now` in seconds since the epoch.
    ///
    /// # Errors
    /// [`Error::Refused`] for a final error status (after the retries), [`Error::Malformed`]
    /// for a 200 without a token, [`Error::Config`] for an Arc challenge file in the wrong place.
    pub fn on_response(&mut self, answer: &Response, now: i64) -> Result<Next, Error> {
        let service = self.service();
        match answer.status {
            200 => return Ok(Next::Done(AccessToken::from_reply(&answer.body, now, "the token endpoint's answer")?)),
            401 if matches!(self.source, Source::Arc { .. }) && self.secret.is_none() => {
                return self.arc_challenge(answer).map(Next::Read);
            }
            410 if matches!(self.source, Source::Imds { .. }) && self.gone_waited < self.policy.gone_for => {
                self.gone_waited += self.policy.gone_interval;
                return Ok(self.send(self.policy.gone_interval));
            }
            404 | 408 | 429 | 500..=599 if self.retries < self.policy.retries => {
                let backoff = self.policy.backoff * 2u32.pow(self.retries);
                self.retries += 1;
                let after = answer.header("retry-after").and_then(|s| s.trim().parse::<u64>().ok());
                let wait = after.map(|s| Duration::from_secs(s.min(60))).unwrap_or(backoff);
                return Ok(self.send(wait));
            }
            _ => {}
        }
        Err(Error::Refused { service, status: answer.status, message: answer.service_message() })
    }

    /// The file an Arc agent's 401 names (`WWW-Authenticate: Basic realm=<path>`), once
    /// checked to be a `.key` file in the agent's token directory (its size is checked when
    /// it is read, in [`TokenFlow::on_file`]).
    fn arc_challenge(&self, answer: &Response) -> Result<PathBuf, Error> {
        let Source::Arc { token_dir, .. } = &self.source else { return Err(Error::Config("not Arc".into())) };
        let bad = |why: String| Error::Config(format!("{}: {why}", self.service()));
        let header = answer.header("www-authenticate").ok_or_else(|| bad("401 without WWW-Authenticate".into()))?;
        let path = header
            .split_once("realm=")
            .map(|(_, p)| Path::new(p.trim().trim_matches('"')))
            .ok_or_else(|| bad(format!("WWW-Authenticate without realm: {header}")))?;
        if path.extension().is_none_or(|e| e != "key") || path.parent() != Some(token_dir.as_path()) {
            return Err(bad(format!(
                "the challenge file {} is not a .key file in {}",
                path.display(),
                token_dir.display()
            )));
        }
        Ok(path.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Url;

    fn imds() -> TokenFlow {
        TokenFlow::new(Source::Imds { endpoint: Url::parse("http://127.0.0.1:9").unwrap(), identity: None }, "r")
    }

    fn wait(n: Next) -> Duration {
        match n {
            Next::Send(_, d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn imds_retries_as_documented() {
        let mut f = imds();
        assert_eq!(wait(f.start()), Duration::ZERO);
        let waits: Vec<_> =
            [500, 404, 429].iter().map(|s| wait(f.on_response(&Response::new(*s, &[], ""), 0).unwrap())).collect();
        assert_eq!(waits, [1, 2, 4].map(Duration::from_secs));
        let e = f.on_response(&Response::new(503, &[], r#"{"error":"busy"}"#), 0).unwrap_err();
        assert_eq!(e.to_string(), "IMDS at http://127.0.0.1:9/metadata/identity/oauth2/token answered HTTP 503: busy");

        let mut f = imds();
        let _ = f.start();
        assert_eq!(
            wait(f.on_response(&Response::new(429, &[("retry-after", "7")], ""), 0).unwrap()),
            Duration::from_secs(7)
        );
        let gone: Vec<_> = (0..7).map(|_| wait(f.on_response(&Response::new(410, &[], ""), 0).unwrap())).collect();
        assert!(gone.iter().all(|d| *d == Duration::from_secs(10)));
        assert!(f.on_response(&Response::new(410, &[], ""), 0).is_err(), "410 waited out for 70 s only");

        let mut f = imds();
        let _ = f.start();
        let e = f.on_response(
            &Response::new(400, &[], r#"{"error":"invalid_request","error_description":"Identity not found"}"#),
            0,
        );
        assert!(e.unwrap_err().to_string().ends_with("HTTP 400: invalid_request: Identity not found"));
    }

    #[test]
    fn arc_challenge_must_be_a_small_key_file_in_the_agent_directory() {
        let dir = std::env::temp_dir().join(format!("keyless-arc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("c.key"), "secret").unwrap();
        let source = Source::Arc { endpoint: Url::parse("http://127.0.0.1:9/t").unwrap(), token_dir: dir.clone() };
        let mut f = TokenFlow::new(source.clone(), "r");
        let _ = f.start();
        let challenge =
            |p: &Path| Response::new(401, &[("www-authenticate", &format!("Basic realm={}", p.display()))], "");
        match f.on_response(&challenge(&dir.join("c.key")), 0).unwrap() {
            Next::Read(p) => assert_eq!(p, dir.join("c.key")),
            other => panic!("{other:?}"),
        }
        match f.on_file(b"secret\n").unwrap() {
            Next::Send(r, _) => assert_eq!(r.header_value("authorization"), Some("Basic secret")),
            other => panic!("{other:?}"),
        }
        let mut big = TokenFlow::new(source.clone(), "r");
        let _ = big.start();
        let _ = big.on_response(&challenge(&dir.join("c.key")), 0).unwrap();
        assert!(big.on_file(&[b'x'; 4097]).unwrap_err().to_string().contains("over 4096 bytes"));
        for wrong in [Path::new("/etc/shadow"), &dir.join("c.txt")] {
            let mut f = TokenFlow::new(source.clone(), "r");
            let _ = f.start();
            assert!(f.on_response(&challenge(wrong), 0).unwrap_err().to_string().contains("not a .key file"));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

//! OAuth access tokens: read from the services' answers (whose expiry fields differ in name
//! and type), checked for audience and expiry before use, and kept out of every printout.

use crate::Error;
use base64::Engine;
use serde_json::Value;
use zeroize::Zeroizing;

/// A bearer token and what is known about it.
#[derive(Clone)]
pub struct AccessToken {
    secret: Zeroizing<String>,
    /// When it stops being accepted (seconds since the epoch).
    pub expires_on: i64,
    /// The audience it was issued for, when readable (`aud` of a JWT).
    pub audience: Option<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessToken(audience {:?}, expires_on {})", self.audience, self.expires_on)
    }
}

/// The claims keyless looks at, read from a JWT's payload without verifying it (only the
/// issuer's services can; this is for clear errors before a request is wasted).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// `aud` (the first one, if a list).
    pub audience: Option<String>,
    /// `exp`.
    pub expires: Option<i64>,
}

impl Claims {
    /// The claims of a JWT (`header.payload.signature`); `None` for other tokens.
    pub fn of(token: &str) -> Option<Self> {
        let mut parts = token.split('.');
        let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        let audience = match v.get("aud") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        Some(Self { audience, expires: v.get("exp").and_then(number) })
    }
}

/// A JSON number, or a string holding one (IMDS writes `"expires_on": "1506484173"`).
fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl AccessToken {
    /// A token given by the user (a file, stdin): its expiry and audience come from its
    /// claims when it is a JWT.
    ///
    /// # Errors
    /// [`Error::Token`] for an empty or multi-line text.
    pub fn given(text: &str) -> Result<Self, Error> {
        let token = text.trim();
        let token = token.strip_prefix("Bearer ").unwrap_or(token);
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(Error::Token("the given token is empty or not one line".into()));
        }
        let claims = Claims::of(token).unwrap_or_default();
        Ok(Self {
            secret: Zeroizing::new(token.to_string()),
            expires_on: claims.expires.unwrap_or(i64::MAX),
            audience: claims.audience,
        })
    }

    /// The token in an endpoint's JSON answer: `access_token`, and the expiry from
    /// `expires_on` (epoch seconds, number or string), else `expires_in` from `now`, else
    /// the JWT's `exp`.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the field that is missing or wrong.
    pub fn from_reply(body: &[u8], now: i64, what: &'static str) -> Result<Self, Error> {
        let bad = |detail: &str| Error::Malformed { what, detail: detail.into() };
        let v: Value = serde_json::from_slice(body).map_err(|_| bad("not JSON"))?;
        let secret = v.get("access_token").and_then(Value::as_str).ok_or_else(|| bad("no access_token"))?;
        if secret.is_empty() || secret.contains(char::is_whitespace) {
            return Err(bad("access_token is empty or holds spaces"));
        }
        let claims = Claims::of(secret).unwrap_or_default();
        let expires_on = v
            .get("expires_on")
            .and_then(number)
            .or_else(|| v.get("expires_in").and_then(number).map(|s| now.saturating_add(s)))
            .or(claims.expires)
            .ok_or_else(|| bad("no expires_on or expires_in"))?;
        let audience = claims.audience.or_else(|| v.get("resource").and_then(Value::as_str).map(str::to_string));
        Ok(Self { secret: Zeroizing::new(secret.to_string()), expires_on, audience })
    }

    /// The token itself, for an `Authorization: Bearer` header (or `--raw` output).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether it is still good `margin` seconds from `now`.
    pub fn is_fresh(&self, now: i64, margin: i64) -> bool {
        self.expires_on > now.saturating_add(margin)
    }

    /// Refuses a token whose audience is known and not one of `accepted`, or that expired.
    ///
    /// # Errors
    /// [`Error::Token`] saying which.
    pub fn check(&self, accepted: &[&str], now: i64) -> Result<(), Error> {
        if let Some(aud) = &self.audience
            && !accepted.contains(&aud.as_str())
        {
            return Err(Error::Token(format!(
                "the token is for audience {aud}, not {}",
                accepted.first().copied().unwrap_or_default()
            )));
        }
        if !self.is_fresh(now, 0) {
            return Err(Error::Token(format!(
                "the token expired at {} UTC",
                keyless_krb::time::format_utc(self.expires_on)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b(r#"{"alg":"RS256"}"#), b(payload))
    }

    #[test]
    fn expiry_from_each_shape() {
        let t = jwt(r#"{"aud":"https://storage.azure.com","exp":1700003600}"#);
        let imds =
            format!(r#"{{"access_token":"{t}","expires_on":"1700003000","expires_in":"3599","token_type":"Bearer"}}"#);
        let a = AccessToken::from_reply(imds.as_bytes(), 1_700_000_000, "IMDS").unwrap();
        assert_eq!((a.expires_on, a.audience.as_deref()), (1_700_003_000, Some("https://storage.azure.com")));
        let entra = format!(r#"{{"access_token":"{t}","expires_in":3599,"token_type":"Bearer"}}"#);
        assert_eq!(AccessToken::from_reply(entra.as_bytes(), 1_700_000_000, "x").unwrap().expires_on, 1_700_003_599);
        let bare = format!(r#"{{"access_token":"{t}"}}"#);
        assert_eq!(AccessToken::from_reply(bare.as_bytes(), 0, "x").unwrap().expires_on, 1_700_003_600);
        let err = AccessToken::from_reply(br#"{"token_type":"Bearer"}"#, 0, "IMDS's answer").unwrap_err();
        assert_eq!(err.to_string(), "IMDS's answer is malformed: no access_token");
        assert!(AccessToken::from_reply(br#"{"access_token":"opaque"}"#, 0, "x").is_err());
        assert!(AccessToken::from_reply(b"<html>", 0, "x").is_err());
    }

    #[test]
    fn audience_and_expiry_are_checked() {
        let t = AccessToken::given(&jwt(r#"{"aud":["https://storage.azure.com/"],"exp":100}"#)).unwrap();
        let e = t.check(&[crate::STORAGE_RESOURCE], 50).unwrap_err().to_string();
        assert_eq!(e, "the token is for audience https://storage.azure.com/, not https://storage.azure.com");
        let t = AccessToken::given(&format!("Bearer {}\n", jwt(r#"{"aud":"https://storage.azure.com","exp":100}"#)))
            .unwrap();
        assert!(t.check(&[crate::STORAGE_RESOURCE], 50).is_ok());
        assert!(
            t.check(&[crate::STORAGE_RESOURCE], 100).unwrap_err().to_string().contains("expired at 1970-01-01 00:01")
        );
        let opaque = AccessToken::given("opaque-token").unwrap();
        assert!(opaque.check(&[crate::STORAGE_RESOURCE], 50).is_ok());
        assert!(AccessToken::given("two\nlines").is_err());
    }

    #[test]
    fn debug_hides_the_token() {
        let t = AccessToken::given("s3cr3t-token").unwrap();
        assert!(!format!("{t:?}").contains("s3cr3t"));
    }
}

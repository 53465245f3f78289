//! Storage account keys through Azure Resource Manager (`listKeys`), for accounts not yet
//! enabled for identity-based SMB: the managed identity's ARM token buys a key that NTLMv2
//! then uses as the password of `Azure\<account>` (protocols.md 3.3). The key stays in memory.

use crate::http::{Request, Response};
use crate::{AccessToken, Error, Url};
use zeroize::Zeroizing;

/// Azure Resource Manager in the public cloud.
pub const ENDPOINT: &str = "https://management.azure.com/";
/// The Microsoft.Storage API version asked for.
pub const API_VERSION: &str = "2023-05-01";

/// Which storage account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Subscription id.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Storage account name.
    pub name: String,
}

/// One key of an account.
pub struct StorageKey {
    /// `key1`, `key2`, ...
    pub name: String,
    /// `FULL` or `READ`.
    pub permissions: String,
    /// The key (base64 text, used as is as the NTLM password).
    pub value: Zeroizing<String>,
}

impl std::fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StorageKey({}, {})", self.name, self.permissions)
    }
}

fn path_segment(s: &str) -> String {
    crate::url::encode(s)
}

/// The `listKeys` request.
///
/// # Errors
/// [`Error::Config`] for an `http://` endpoint.
pub fn list_keys_request(arm: &Url, account: &Account, token: &AccessToken) -> Result<Request, Error> {
    if !arm.https {
        return Err(Error::Config(format!("{arm}: Azure Resource Manager must be reached over https://")));
    }
    let path = format!(
        "subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}/listKeys",
        path_segment(&account.subscription),
        path_segment(&account.resource_group),
        path_segment(&account.name)
    );
    Ok(Request::new("POST", arm.join(&path).with_query(&[("api-version", API_VERSION)]))
        .header("Authorization", format!("Bearer {}", token.secret())))
}

/// The keys in a `listKeys` answer, those with FULL permissions first.
///
/// # Errors
/// [`Error::Refused`] with ARM's code and message for anything but 200, [`Error::Malformed`]
/// for a 200 without keys.
pub fn parse_keys(answer: &Response, arm: &Url) -> Result<Vec<StorageKey>, Error> {
    if answer.status != 200 {
        return Err(Error::Refused {
            service: format!("ARM at {arm}"),
            status: answer.status,
            message: answer.service_message(),
        });
    }
    let bad = |d: &str| Error::Malformed { what: "ARM's listKeys answer", detail: d.into() };
    let v: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|_| bad("not JSON"))?;
    let list = v.get("keys").and_then(serde_json::Value::as_array).ok_or_else(|| bad("no keys"))?;
    let mut keys = Vec::new();
    for k in list {
        let s = |name| k.get(name).and_then(serde_json::Value::as_str);
        let value = s("value").filter(|v| !v.is_empty()).ok_or_else(|| bad("a key without a value"))?;
        keys.push(StorageKey {
            name: s("keyName").unwrap_or("key").to_string(),
            permissions: s("permissions").unwrap_or("").to_string(),
            value: Zeroizing::new(value.to_string()),
        });
    }
    keys.sort_by_key(|k| !k.permissions.eq_ignore_ascii_case("full"));
    if keys.is_empty() {
        return Err(bad("no keys"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_keys_round() {
        let arm = Url::parse(ENDPOINT).unwrap();
        let account = Account { subscription: "s-1".into(), resource_group: "rg 1".into(), name: "acct".into() };
        let token = AccessToken::given("t").unwrap();
        let r = list_keys_request(&arm, &account, &token).unwrap();
        assert_eq!(
            r.url.path,
            "/subscriptions/s-1/resourceGroups/rg%201/providers/Microsoft.Storage/storageAccounts/acct/listKeys?api-version=2023-05-01"
        );
        let body = r#"{"keys":[{"keyName":"key1","value":"cmVhZA==","permissions":"READ"},{"keyName":"key2","value":"ZnVsbA==","permissions":"FULL"}]}"#;
        let answer = Response::new(200, &[], body);
        let keys = parse_keys(&answer, &arm).unwrap();
        assert_eq!((keys[0].name.as_str(), keys[0].value.as_str()), ("key2", "ZnVsbA=="));
        assert!(!format!("{keys:?}").contains("ZnVsbA"));
        let denied = Response::new(403, &[], r#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#);
        assert_eq!(
            parse_keys(&denied, &arm).unwrap_err().to_string(),
            "ARM at https://management.azure.com/ answered HTTP 403: AuthorizationFailed: no"
        );
    }
}

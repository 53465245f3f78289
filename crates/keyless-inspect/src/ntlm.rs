//! NTLMSSP in SESSION_SETUP (MS-NLMP 2.2.1): which message, the user, domain and workstation
//! of AUTHENTICATE, and, with the user's password, the session key as the server computes it
//! (NTProofStr verified, then the ExportedSessionKey; MS-NLMP 3.3.2, 3.4.5.1), as Wireshark
//! does with its NT password.

use crate::Record;
use keyless_crypto::ntlm::NtlmKey;
use keyless_gss::ntlmssp::{Authenticate, Challenge, Server};

/// The NTLM exchange of a session being set up.
#[derive(Clone, Default)]
pub(crate) struct NtlmSetup {
    negotiate: Option<Vec<u8>>,
    challenge: Option<Vec<u8>>,
    /// The ExportedSessionKey, once a password verified the AUTHENTICATE.
    pub key: Option<NtlmKey>,
}

/// One NTLMSSP message of a SESSION_SETUP, as fields of its record `r`.
pub(crate) fn message(r: &mut Record, token: &[u8], ntlm: &mut NtlmSetup, nt_hashes: &[NtlmKey]) {
    match token.get(8..12) {
        Some([1, 0, 0, 0]) => {
            r.field("ntlm", "NEGOTIATE");
            ntlm.negotiate = Some(token.to_vec());
        }
        Some([2, 0, 0, 0]) => {
            r.field("ntlm", "CHALLENGE");
            match Challenge::parse(token) {
                Ok(c) => {
                    r.field("ntlm_target", c.target_name);
                    r.field("ntlm_server_challenge", crate::hex(&c.server_challenge));
                }
                Err(e) => r.field("ntlm_not_decoded", e.to_string()),
            }
            ntlm.challenge = Some(token.to_vec());
        }
        Some([3, 0, 0, 0]) => {
            r.field("ntlm", "AUTHENTICATE");
            match Authenticate::parse(token) {
                Ok(a) => {
                    r.field("ntlm_user", a.user);
                    r.field("ntlm_domain", a.domain);
                    r.field("ntlm_workstation", a.workstation);
                }
                Err(e) => return r.field("ntlm_not_decoded", e.to_string()),
            }
            if !nt_hashes.is_empty() {
                authenticate(r, token, ntlm, nt_hashes);
            }
        }
        _ => r.field("ntlm", "other"),
    }
}

/// Tries each NT hash on the AUTHENTICATE: the one whose NTProofStr (and MIC) verify gives
/// the session key.
fn authenticate(r: &mut Record, token: &[u8], ntlm: &mut NtlmSetup, nt_hashes: &[NtlmKey]) {
    let (Some(negotiate), Some(challenge)) = (&ntlm.negotiate, &ntlm.challenge) else {
        return r.field("ntlm_not_verified", "the session's NEGOTIATE or CHALLENGE was not captured");
    };
    let mut why = String::new();
    for hash in nt_hashes {
        let verified = Server::resume(negotiate, challenge).and_then(|server| server.verify_with_nt_hash(token, hash));
        match verified {
            Ok((_, key)) => {
                r.field("ntlm_verified", true);
                ntlm.key = Some(key);
                return;
            }
            Err(e) => why = e.to_string(),
        }
    }
    r.field("ntlm_not_verified", format!("no password or NT hash given verifies it ({why})"));
}

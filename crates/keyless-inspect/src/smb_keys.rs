//! SMB session keys for `inspect`, followed as the capture goes: the 3.1.1 preauth integrity
//! hash through NEGOTIATE and each session's SESSION_SETUP legs, the GSS session key (given
//! with `--session-key`, or from a Kerberos exchange decrypted in the SESSION_SETUP blobs),
//! the signing and cipher keys derived from it (MS-SMB2 3.2.5.3), then every signature
//! checked and every TRANSFORM opened.

use crate::krb_keys::GssKeys;
use crate::ntlm::NtlmSetup;
use crate::{Record, hex};
use keyless_crypto::{Cipher, KeySchedule, PreauthHash, SessionCrypto, Signer, SigningAlgorithm, Zeroizing};
use keyless_smb::header::Header;
use keyless_smb::negotiate::NegotiateResponse;
use keyless_smb::session_setup::SessionSetupRequest;
use keyless_smb::transform::TransformHeader;
use keyless_smb::{Command, Dialect, Message, NtStatus};
use std::collections::HashMap;

/// What each connection and session has settled so far.
pub(crate) struct SmbKeys<'s> {
    /// GSS session keys given by session id.
    given: &'s [(u64, Zeroizing<Vec<u8>>)],
    connections: HashMap<usize, Connection>,
    sessions: HashMap<u64, SessionCrypto>,
    /// Each established session's keys, in the order they were derived.
    pub established: Vec<crate::SmbSessionKeys>,
    /// Channels bound to a session on another connection (multichannel), by (connection,
    /// session id): their own signing (MS-SMB2 3.2.5.3.1).
    channels: HashMap<(usize, u64), Signer>,
}

#[derive(Default)]
struct Connection {
    /// Dialect, cipher and signing algorithm, once the NEGOTIATE response is seen.
    settled: Option<(Dialect, Option<Cipher>, SigningAlgorithm)>,
    /// The preauth hash after NEGOTIATE: where every new session's hash starts.
    preauth: PreauthHash,
    /// SESSION_SETUP requests awaiting their response, by message id.
    requests: HashMap<u64, Setup>,
    /// Sessions between legs (MORE_PROCESSING_REQUIRED), by session id.
    between_legs: HashMap<u64, Setup>,
}

/// A session being set up: its preauth hash so far and its Kerberos or NTLM keys.
#[derive(Clone)]
pub(crate) struct Setup {
    hash: PreauthHash,
    /// SMB2_SESSION_FLAG_BINDING: a new channel for an existing session.
    binding: bool,
    pub gss: GssKeys,
    pub ntlm: NtlmSetup,
}

impl<'s> SmbKeys<'s> {
    pub fn new(given: &'s [(u64, Zeroizing<Vec<u8>>)]) -> Self {
        Self {
            given,
            connections: HashMap::new(),
            sessions: HashMap::new(),
            established: Vec::new(),
            channels: HashMap::new(),
        }
    }

    /// The setup a SESSION_SETUP request continues or starts, with the request hashed in.
    pub fn setup_request(&mut self, connection: usize, h: &Header, msg: &[u8]) -> &mut Setup {
        let conn = self.connections.entry(connection).or_default();
        let binding = SessionSetupRequest::parse(msg)
            .is_ok_and(|r| r.flags & keyless_smb::session_setup::setup_flags::BINDING != 0);
        let mut setup = conn.between_legs.remove(&h.session_id()).unwrap_or_else(|| Setup {
            hash: conn.preauth.clone(),
            binding,
            gss: GssKeys::default(),
            ntlm: NtlmSetup::default(),
        });
        setup.hash.add(msg);
        conn.requests.entry(h.message_id()).insert_entry(setup).into_mut()
    }

    /// The setup a SESSION_SETUP response answers (it stays pending until [`Self::settle`]).
    pub fn setup_response(&mut self, connection: usize, h: &Header) -> Option<&mut Setup> {
        self.connections.get_mut(&connection)?.requests.get_mut(&h.message_id())
    }

    /// Follows NEGOTIATE and SESSION_SETUP (hash, then keys on success), and checks the
    /// signature of every signed message of a known session that came in the clear. One that
    /// came inside a TRANSFORM that opened is authenticated by the encryption and its
    /// signature is not checked (MS-SMB2 3.2.5.1.3; smbd signs some of those anyway, not
    /// always with the key a signature check would use). Fields go into `r`.
    pub fn message(&mut self, connection: usize, h: &Header, msg: &[u8], decrypted: bool, r: &mut Record) {
        let response = h.is_response();
        match (h.command(), response) {
            (Command::NEGOTIATE, false) => {
                let conn = self.connections.entry(connection).or_default();
                conn.preauth = PreauthHash::default();
                conn.preauth.add(msg);
            }
            (Command::NEGOTIATE, true) => {
                let conn = self.connections.entry(connection).or_default();
                conn.preauth.add(msg);
                conn.settled = NegotiateResponse::parse(msg).ok().and_then(|n| {
                    let s = n.settled().ok()?;
                    Some((n.dialect, s.cipher.and_then(Cipher::from_id), SigningAlgorithm::from_id(s.signing)?))
                });
            }
            (Command::SESSION_SETUP, true) => self.settle(connection, h, msg, r),
            _ => {}
        }
        if decrypted {
            r.field("authenticated_by", "encryption");
        } else if h.flags() & keyless_smb::header::flags::SIGNED != 0
            && let Some(signer) = self
                .channels
                .get(&(connection, h.session_id()))
                .or_else(|| self.sessions.get(&h.session_id()).map(|s| &s.signer))
        {
            r.field("authenticated_by", "signature");
            r.field("signature_check", if signer.verify(msg).is_ok() { "good" } else { "BAD" });
        }
    }

    /// A SESSION_SETUP response: between legs the hash goes on; on success the session's keys
    /// are derived (and shown) from the GSS session key given or learned.
    fn settle(&mut self, connection: usize, h: &Header, msg: &[u8], r: &mut Record) {
        let Some(conn) = self.connections.get_mut(&connection) else { return };
        let Some(mut setup) = conn.requests.remove(&h.message_id()) else { return };
        let session_id = h.session_id();
        if h.status() == NtStatus::MORE_PROCESSING_REQUIRED {
            setup.hash.add(msg);
            conn.between_legs.insert(session_id, setup);
            return;
        }
        if h.status() != NtStatus::SUCCESS {
            return;
        }
        let Some((dialect, cipher, signing)) = conn.settled else { return };
        if setup.binding {
            // A channel's signing key: from the binding's own authentication and this
            // channel's preauth hash (as Samba's smb2cli_session_set_channel_key does).
            let learned = setup.gss.session_key().map(|k| k.expose_bytes().to_vec());
            let Some(gss_key) =
                learned.or_else(|| setup.ntlm.key.as_ref().map(|k| k.expose_bytes().to_vec())).map(Zeroizing::new)
            else {
                r.field("keys_not_derived", format!("the binding to session {session_id:#018x} was not opened"));
                return;
            };
            let keys = KeySchedule::for_dialect(dialect.0, &setup.hash).derive(&gss_key, cipher);
            r.field("channel_signing_key", hex(keys.signing.expose_bytes()));
            if let Ok(channel) = SessionCrypto::new(&keys, cipher, signing) {
                self.channels.insert((connection, session_id), channel.signer);
            }
            return;
        }
        if self.sessions.contains_key(&session_id) {
            return; // a re-authentication (the keys stay)
        }
        let given = self.given.iter().find(|(id, _)| *id == session_id).map(|(_, k)| k.to_vec());
        let learned = setup
            .gss
            .session_key()
            .map(|k| k.expose_bytes().to_vec())
            .or_else(|| setup.ntlm.key.as_ref().map(|k| k.expose_bytes().to_vec()));
        let Some(gss_key) = given.or(learned) else {
            if !self.given.is_empty() {
                r.field("keys_not_derived", format!("no session key for session {session_id:#018x}"));
            }
            return;
        };
        let gss_key = Zeroizing::new(gss_key);
        r.field("session_key", hex(&gss_key));
        let keys = KeySchedule::for_dialect(dialect.0, &setup.hash).derive(&gss_key, cipher);
        r.field("signing_key", hex(keys.signing.expose_bytes()));
        if let Some((c2s, s2c)) = &keys.ciphers {
            r.field("c2s_cipher_key", hex(c2s.expose_bytes()));
            r.field("s2c_cipher_key", hex(s2c.expose_bytes()));
        }
        let (c2s, s2c) = match &keys.ciphers {
            Some((c2s, s2c)) => {
                (Some(Zeroizing::new(c2s.expose_bytes().to_vec())), Some(Zeroizing::new(s2c.expose_bytes().to_vec())))
            }
            None => (None, None),
        };
        self.established.push(crate::SmbSessionKeys { session_id, session_key: gss_key.clone(), c2s, s2c });
        let Ok(session) = SessionCrypto::new(&keys, cipher, signing) else { return };
        self.sessions.insert(session_id, session);
    }

    /// Opens a TRANSFORM frame: `Ok(None)` when its session's keys are unknown.
    pub fn open(&self, to_server: bool, frame: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let (th, cipher_text) = TransformHeader::parse(frame).map_err(|e| e.to_string())?;
        let Some(session) = self.sessions.get(&th.session_id) else { return Ok(None) };
        let Some(aead) = (if to_server { &session.encrypt } else { &session.decrypt }) else { return Ok(None) };
        let aad = TransformHeader::aad(frame).ok_or("TRANSFORM_HEADER: truncated")?;
        let mut plain = cipher_text.to_vec();
        let nonce = &th.nonce[..aead.cipher().nonce_len()];
        aead.open_in_place(nonce, aad, &mut plain, &th.signature)
            .map_err(|e| format!("does not decrypt with the session's {} key ({e})", aead.cipher().name()))?;
        Ok(Some(plain))
    }
}

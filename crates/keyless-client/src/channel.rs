//! The sans-IO core of a connection: message ids and credits, signing of requests, encryption
//! (TRANSFORM_HEADER), and the checks every received frame passes before anyone reads it. Bytes
//! in, bytes out; the async driver ([`crate::Connection`]) only moves them.

use crate::Error;
use keyless_crypto::{Aead, Cipher, Signer};
use keyless_smb::header::{self, Header, HeaderFields, flags};
use keyless_smb::transform::{TRANSFORM_FLAG_ENCRYPTED, TRANSFORM_LEN, TransformHeader};
use keyless_smb::{Command, NtStatus, compound, framing};

/// Credits asked for with every request: enough for a window of 1 MiB requests.
const CREDIT_REQUEST: u16 = 256;

/// Payload bytes one credit pays for (MS-SMB2 3.1.5.2).
pub const CREDIT_UNIT: usize = 65_536;

/// The keys of an established session's crypto.
pub(crate) struct Sealing {
    pub(crate) encrypt: Aead,
    pub(crate) decrypt: Aead,
    /// Nonces are a counter (never repeats on one key) behind 4 random bytes.
    pub(crate) nonce_prefix: [u8; 4],
    pub(crate) nonce_counter: u64,
}

/// One connection's state.
pub(crate) struct Channel {
    next_message_id: u64,
    /// Credits the server has granted and we have not spent.
    credits: u32,
    pub(crate) session_id: u64,
    pub(crate) signer: Option<Signer>,
    pub(crate) sealing: Option<Sealing>,
    /// Encrypt every request (the session or the user requires it).
    pub(crate) encrypt_all: bool,
    /// Whether LARGE_MTU lets one request carry more than 64 KiB.
    pub(crate) multi_credit: bool,
}

/// A frame ready to send: a small head (Direct TCP header, TRANSFORM_HEADER when encrypted)
/// and the body, kept apart so a large message is never copied to be framed.
#[derive(Debug)]
pub(crate) struct Sealed {
    pub(crate) head: Vec<u8>,
    pub(crate) body: Vec<u8>,
}

/// A received message, checked.
pub struct Received {
    /// Its header's fields.
    pub header: HeaderFields,
    /// The frame it came in (decrypted in place if it came encrypted).
    buf: Vec<u8>,
    /// Where the message lies in `buf`.
    range: core::ops::Range<usize>,
    /// Whether it came inside a TRANSFORM_HEADER.
    pub encrypted: bool,
    /// The session's authentication generation when its request was sent.
    pub(crate) generation: u32,
}

impl core::fmt::Debug for Received {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The header only: the body may be decrypted file data.
        f.debug_struct("Received")
            .field("header", &self.header)
            .field("len", &self.range.len())
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

impl Received {
    /// The whole message, header first.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

impl Channel {
    pub(crate) fn new() -> Self {
        Self {
            next_message_id: 0,
            credits: 1,
            session_id: 0,
            signer: None,
            sealing: None,
            encrypt_all: false,
            multi_credit: false,
        }
    }

    /// Credits granted and not yet spent.
    pub(crate) fn credits(&self) -> u32 {
        self.credits
    }

    /// Credits a request carrying `payload` bytes costs.
    pub(crate) fn charge_for(&self, payload: usize) -> u16 {
        // Without LARGE_MTU the charge is 0 (3.2.4.1.5), which still spends one credit.
        if self.multi_credit { payload.div_ceil(CREDIT_UNIT).max(1) as u16 } else { 0 }
    }

    /// The header of the next request: message id, charge, credit request, session, tree.
    ///
    /// # Errors
    /// [`Error::Refused`] when the server has left us without credits.
    pub(crate) fn next_header(&mut self, command: Command, tree_id: u32, charge: u16) -> Result<HeaderFields, Error> {
        // Every request spends at least one credit (a CreditCharge of 0 is the 2.0.2 way of saying 1).
        let cost = u32::from(charge.max(1));
        if self.credits < cost {
            return Err(Error::Refused("the server granted no credits for another request"));
        }
        self.credits -= cost;
        let id = self.next_message_id;
        self.next_message_id += u64::from(charge.max(1));
        Ok(HeaderFields {
            credit_charge: charge,
            credits: CREDIT_REQUEST,
            ..HeaderFields::request(command, id, self.session_id, tree_id)
        })
    }

    /// Links `messages` into one compound (each but the last padded to 8 bytes, NextCommand
    /// set), signs each or encrypts the whole (per the session's state), and frames it for
    /// Direct TCP. One message is a chain of one, protected in place: no copy of its bytes.
    ///
    /// # Errors
    /// A cryptographic failure (never expected) or a chain over the frame limit.
    pub(crate) fn seal(&mut self, mut messages: Vec<Vec<u8>>) -> Result<Sealed, Error> {
        // Everything but NEGOTIATE once keys exist: a reauthenticating SESSION_SETUP too.
        let command = Header::parse(messages.first().map_or(&[][..], |m| m))?.command();
        let protect = command != Command::NEGOTIATE;
        let count = messages.len();
        for (i, m) in messages.iter_mut().enumerate() {
            if i + 1 < count {
                m.resize(m.len().next_multiple_of(8), 0);
                let next = u32::try_from(m.len()).map_err(|_| Error::Refused("message over 4 GiB"))?;
                m[20..24].copy_from_slice(&next.to_le_bytes());
            }
            if protect && !self.encrypt_all {
                if let Some(signer) = &self.signer {
                    signer.sign(m)?; // the signature covers the padding too
                }
            }
        }
        let body = if count == 1 { messages.pop().unwrap_or_default() } else { messages.concat() };
        if protect && self.encrypt_all {
            return self.encrypt(body);
        }
        let mut head = Vec::with_capacity(4);
        framing::write_frame_header(body.len(), &mut head)?;
        Ok(Sealed { head, body })
    }

    /// Encrypts `message` in place; the head carries the Direct TCP and TRANSFORM headers.
    fn encrypt(&mut self, mut message: Vec<u8>) -> Result<Sealed, Error> {
        let sealing = self.sealing.as_mut().ok_or(Error::Refused("encryption required before keys exist"))?;
        let cipher = sealing.encrypt.cipher();
        let mut nonce = [0u8; 16];
        nonce[..4].copy_from_slice(&sealing.nonce_prefix);
        nonce[4..12].copy_from_slice(&sealing.nonce_counter.to_le_bytes());
        sealing.nonce_counter += 1;
        nonce[cipher.nonce_len()..].fill(0);
        let mut th = TransformHeader {
            signature: [0; 16],
            nonce,
            original_message_size: u32::try_from(message.len()).map_err(|_| Error::Refused("message over 4 GiB"))?,
            flags: TRANSFORM_FLAG_ENCRYPTED,
            session_id: self.session_id,
        };
        let mut aad = Vec::with_capacity(TRANSFORM_LEN);
        th.encode(&mut aad);
        th.signature = sealing.encrypt.seal_in_place(&nonce[..cipher.nonce_len()], &aad[20..], &mut message)?;
        let mut head = Vec::with_capacity(4 + TRANSFORM_LEN);
        framing::write_frame_header(TRANSFORM_LEN + message.len(), &mut head)?;
        th.encode(&mut head);
        Ok(Sealed { head, body: message })
    }

    /// Checks a received frame payload: decrypts it, splits a compound response, verifies each
    /// message's signature when the session signs, counts the credits granted.
    ///
    /// # Errors
    /// A malformed message, a bad signature or tag, or an unprotected message where the
    /// session requires protection.
    pub(crate) fn open(&mut self, mut payload: Vec<u8>) -> Result<Vec<Received>, Error> {
        let encrypted = payload.starts_with(&keyless_smb::transform::TRANSFORM_PROTOCOL_ID);
        let at = if encrypted { self.decrypt(&mut payload)? } else { 0 };
        let mut ranges = Vec::new();
        for m in compound::messages(&payload[at..]) {
            let m = m?;
            let start = m.as_ptr() as usize - payload.as_ptr() as usize;
            ranges.push(start..start + m.len());
        }
        let mut out = Vec::with_capacity(ranges.len());
        if let [only] = ranges.as_slice() {
            let header = self.check(&payload[only.clone()], encrypted)?;
            out.push(Received { header, range: only.clone(), buf: payload, encrypted, generation: 0 });
        } else {
            for r in ranges {
                let header = self.check(&payload[r.clone()], encrypted)?;
                let buf = payload[r].to_vec();
                out.push(Received { header, range: 0..buf.len(), buf, encrypted, generation: 0 });
            }
        }
        Ok(out)
    }

    /// The checks on one received message (a whole message, its compound padding included).
    fn check(&mut self, message: &[u8], encrypted: bool) -> Result<HeaderFields, Error> {
        let h = Header::parse(message)?;
        if !h.is_response() {
            return Err(Error::Refused("the server sent a request"));
        }
        self.credits = self.credits.saturating_add(u32::from(h.credits()));
        // What may arrive unprotected (3.2.5.1.3): anything before the session has keys (the
        // final SESSION_SETUP response is verified by the connection once they exist), an
        // interim STATUS_PENDING, and an oplock or lease break (MessageId all ones). Never
        // judged by the Command field alone: a forged "SESSION_SETUP" later is refused.
        let before_keys = self.signer.is_none() && self.sealing.is_none();
        let interim = h.status() == NtStatus::PENDING && h.is_async();
        let notification = h.message_id() == u64::MAX;
        let exempt = before_keys || notification || (interim && !self.encrypt_all);
        if !encrypted && !exempt {
            if self.encrypt_all {
                return Err(Error::Refused("the server answered in clear on a session that requires encryption"));
            }
            if let Some(signer) = &self.signer {
                if h.flags() & flags::SIGNED == 0 {
                    return Err(Error::Refused("the server sent an unsigned response on a signed session"));
                }
                signer.verify(message)?;
            }
        }
        Ok(h.fields())
    }

    /// Decrypts a TRANSFORM frame in place; returns where the plaintext message starts.
    fn decrypt(&mut self, frame: &mut [u8]) -> Result<usize, Error> {
        let sealing = self.sealing.as_ref().ok_or(Error::Refused("an encrypted message before keys exist"))?;
        let (th, _) = TransformHeader::parse(frame)?;
        if th.flags != TRANSFORM_FLAG_ENCRYPTED {
            return Err(Error::Refused("a TRANSFORM_HEADER whose Flags are not 'encrypted'"));
        }
        if th.session_id != self.session_id {
            return Err(Error::Refused("an encrypted message for another session"));
        }
        let cipher: Cipher = sealing.decrypt.cipher();
        let (head, plain) = frame.split_at_mut(TRANSFORM_LEN);
        sealing.decrypt.open_in_place(&th.nonce[..cipher.nonce_len()], &head[20..], plain, &th.signature)?;
        if plain.len() < header::LEN {
            return Err(Error::Refused("an encrypted message too short to hold a header"));
        }
        Ok(TRANSFORM_LEN)
    }
}

//! The record layer of one TCP connection: message ids and credits, signing of requests,
//! encryption (TRANSFORM_HEADER), and the checks every received frame passes before anyone
//! reads it (MS-SMB2 3.2.4.1, 3.2.5.1). Bytes in, bytes out.

use crate::error::{Error, Misbehaviour, Misuse};
use keyless_crypto::SessionCrypto;
use keyless_smb::header::{self, Header, HeaderFields, flags};
use keyless_smb::transform::{TRANSFORM_FLAG_ENCRYPTED, TRANSFORM_LEN, TRANSFORM_PROTOCOL_ID, TransformHeader};
use keyless_smb::{NtStatus, compound, framing};

/// Payload bytes one credit pays for (MS-SMB2 3.1.5.2).
pub const CREDIT_UNIT: usize = 65_536;

/// A frame ready to send: a small head (Direct TCP header, TRANSFORM_HEADER when encrypted)
/// and the body, kept apart so a large message is never copied to be framed.
#[derive(Debug)]
pub struct Frame {
    /// The Direct TCP header, then the TRANSFORM_HEADER if the body is encrypted.
    pub head: Vec<u8>,
    /// The message or compound, signed or encrypted.
    pub body: Vec<u8>,
}

impl Frame {
    /// The frame out of its `Arc` (kept while it was in flight), copied only if the writer
    /// still holds it.
    pub(crate) fn unshare(frame: std::sync::Arc<Frame>) -> Frame {
        std::sync::Arc::try_unwrap(frame).unwrap_or_else(|f| Frame { head: f.head.clone(), body: f.body.clone() })
    }
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

    /// [`Error::Status`] unless the response says SUCCESS.
    ///
    /// # Errors
    /// The status, with the response's command.
    pub fn check(&self) -> Result<(), Error> {
        crate::error::check(self.header.command, self.header.status)
    }

    /// The response's status.
    pub fn status(&self) -> NtStatus {
        self.header.status
    }

    /// The frame's buffer, taken out (the message is empty afterwards): to be used again.
    pub(crate) fn take_buffer(&mut self) -> Vec<u8> {
        self.range = 0..0;
        std::mem::take(&mut self.buf)
    }
}

/// Nonces are a counter (never repeating under one key) behind four random bytes.
struct Nonces {
    prefix: [u8; 4],
    counter: u64,
}

/// One connection's record-layer state.
pub(crate) struct Channel {
    next_message_id: u64,
    /// Credits the server has granted and we have not spent.
    credits: u32,
    pub(crate) session_id: u64,
    crypto: Option<SessionCrypto>,
    nonces: Nonces,
    /// Encrypt every request (the session, a share or the caller requires it).
    pub(crate) encrypt_all: bool,
    /// Sign every request and require signed answers (either side requires signing);
    /// otherwise only what MS-SMB2 says must be signed is.
    pub(crate) sign_all: bool,
    /// Whether LARGE_MTU lets one request carry more than 64 KiB.
    pub(crate) multi_credit: bool,
}

impl Channel {
    pub(crate) fn new() -> Self {
        Self {
            next_message_id: 0,
            credits: 1,
            session_id: 0,
            crypto: None,
            nonces: Nonces { prefix: [0; 4], counter: 0 },
            encrypt_all: false,
            sign_all: true,
            multi_credit: false,
        }
    }

    /// Credits a request carrying `payload` bytes costs (at least one is spent).
    pub(crate) fn charge_for(&self, payload: usize) -> u16 {
        // Without LARGE_MTU the charge is 0 (3.2.4.1.5), which still spends one credit.
        if self.multi_credit { payload.div_ceil(CREDIT_UNIT).clamp(1, usize::from(u16::MAX)) as u16 } else { 0 }
    }

    /// Whether the credits at hand pay for requests charged `charges`.
    pub(crate) fn affords(&self, charges: impl Iterator<Item = u16>) -> bool {
        charges.map(|c| u32::from(c.max(1))).sum::<u32>() <= self.credits
    }

    /// Spends the credits of one request charged `charge`; its MessageId.
    pub(crate) fn take_id(&mut self, charge: u16) -> u64 {
        let cost = u64::from(charge.max(1));
        self.credits = self.credits.saturating_sub(cost as u32);
        let id = self.next_message_id;
        self.next_message_id += cost;
        id
    }

    /// Installs the session's keys; `nonce_prefix` is fresh random bytes.
    pub(crate) fn install(&mut self, crypto: SessionCrypto, nonce_prefix: [u8; 4]) {
        self.crypto = Some(crypto);
        self.nonces = Nonces { prefix: nonce_prefix, counter: 0 };
    }

    /// Whether this session can encrypt.
    pub(crate) fn can_encrypt(&self) -> bool {
        self.crypto.as_ref().is_some_and(|c| c.encrypt.is_some())
    }

    /// Verifies a message outside the usual path (the final SESSION_SETUP response, checked
    /// once the keys it completes exist); unsigned, it passes only when not `required`.
    pub(crate) fn verify(&self, message: &[u8], required: bool) -> Result<(), Error> {
        if let Some(c) = &self.crypto {
            if Header::parse(message)?.flags() & flags::SIGNED == 0 {
                return if required { Err(Misbehaviour::FinalSetupUnsigned.into()) } else { Ok(()) };
            }
            c.signer.verify(message)?;
        }
        Ok(())
    }

    /// Links `messages` into one compound (each but the last padded to 8 bytes, NextCommand
    /// set), signs each or encrypts the whole (per the session's state), and frames it for
    /// Direct TCP. One message is a chain of one, protected in place: no copy of its bytes.
    /// `protect` is false for NEGOTIATE and a new session's SESSION_SETUP legs; `must_sign`
    /// signs a chain MS-SMB2 wants signed on a session that signs nothing else.
    pub(crate) fn seal(&mut self, mut messages: Vec<Vec<u8>>, protect: bool, must_sign: bool) -> Result<Frame, Error> {
        let count = messages.len();
        compound::link(&mut messages).map_err(|e| match e {
            keyless_smb::WireError::Truncated { .. } => Error::from(Misuse::NoHeader),
            _ => Error::from(Misuse::TooLarge),
        })?;
        if let (true, Some(c)) = (protect && !self.encrypt_all && (self.sign_all || must_sign), &self.crypto) {
            for m in &mut messages {
                c.signer.sign(m)?; // the signature covers the padding too
            }
        }
        let body = if count == 1 { messages.pop().unwrap_or_default() } else { messages.concat() };
        if protect && self.encrypt_all {
            return self.encrypt(body);
        }
        let mut head = Vec::with_capacity(4);
        framing::write_frame_header(body.len(), &mut head)?;
        Ok(Frame { head, body })
    }

    /// Encrypts `message` in place; the head carries the Direct TCP and TRANSFORM headers.
    fn encrypt(&mut self, mut message: Vec<u8>) -> Result<Frame, Error> {
        let aead = self.crypto.as_ref().and_then(|c| c.encrypt.as_ref()).ok_or(crate::Incompatibility::NoEncryption)?;
        let cipher = aead.cipher();
        let mut nonce = [0u8; 16];
        nonce[..4].copy_from_slice(&self.nonces.prefix);
        nonce[4..12].copy_from_slice(&self.nonces.counter.to_le_bytes());
        self.nonces.counter += 1;
        nonce[cipher.nonce_len()..].fill(0);
        let mut th = TransformHeader {
            signature: [0; 16],
            nonce,
            original_message_size: u32::try_from(message.len()).map_err(|_| Misuse::TooLarge)?,
            flags: TRANSFORM_FLAG_ENCRYPTED,
            session_id: self.session_id,
        };
        let mut unsealed = Vec::with_capacity(TRANSFORM_LEN);
        th.encode(&mut unsealed);
        let aad = TransformHeader::aad(&unsealed).unwrap_or_default();
        th.signature = aead.seal_in_place(&nonce[..cipher.nonce_len()], aad, &mut message)?;
        let mut head = Vec::with_capacity(4 + TRANSFORM_LEN);
        framing::write_frame_header(TRANSFORM_LEN + message.len(), &mut head)?;
        th.encode(&mut head);
        Ok(Frame { head, body: message })
    }

    /// The messages of a frame this channel sent, in clear again (decrypted with the key that
    /// sealed them), to be sent once more on the next connection.
    pub(crate) fn recover(&self, frame: Frame) -> Result<Vec<Vec<u8>>, Error> {
        let Frame { head, mut body } = frame;
        if head.get(4..8) == Some(&TRANSFORM_PROTOCOL_ID[..]) {
            let aead =
                self.crypto.as_ref().and_then(|c| c.encrypt.as_ref()).ok_or(Misbehaviour::EncryptedBeforeKeys)?;
            let th = TransformHeader::parse_header(&head[4..])?;
            let aad = TransformHeader::aad(&head[4..]).unwrap_or_default();
            aead.open_in_place(&th.nonce[..aead.cipher().nonce_len()], aad, &mut body, &th.signature)?;
        }
        let mut out = Vec::new();
        for m in compound::messages(&body) {
            out.push(m?.to_vec());
        }
        Ok(out)
    }

    /// Checks a received frame payload: decrypts it, splits a compound response, verifies each
    /// message's signature when the session signs, counts the credits granted.
    ///
    /// # Errors
    /// A malformed message, a bad signature or tag, or an unprotected message where the
    /// session requires protection.
    pub(crate) fn open(&mut self, mut payload: Vec<u8>) -> Result<Vec<Received>, Error> {
        let encrypted = payload.starts_with(&TRANSFORM_PROTOCOL_ID);
        let at = if encrypted { self.decrypt(&mut payload)? } else { 0 };
        let mut ranges = Vec::new();
        for r in compound::ranges(&payload[at..]) {
            let r = r?;
            ranges.push(at + r.start..at + r.end);
        }
        let mut out = Vec::with_capacity(ranges.len());
        if let [only] = ranges.as_slice() {
            let header = self.check(&payload[only.clone()], encrypted, false)?;
            out.push(Received { header, range: only.clone(), buf: payload, encrypted });
        } else {
            let mut expired = false;
            for r in ranges {
                let header = self.check(&payload[r.clone()], encrypted, expired)?;
                expired |= header.status == NtStatus::NETWORK_SESSION_EXPIRED;
                let buf = payload[r].to_vec();
                out.push(Received { header, range: 0..buf.len(), buf, encrypted });
            }
        }
        Ok(out)
    }

    /// The checks on one received message (a whole message, its compound padding included).
    /// `after_expired`: an earlier message of the same compound said the session expired;
    /// smbd then signs the related answers after it with no key we know, and the core sends
    /// the whole chain again without reading them, so their signature is not checked.
    fn check(&mut self, message: &[u8], encrypted: bool, after_expired: bool) -> Result<HeaderFields, Error> {
        let h = Header::parse(message)?;
        if !h.is_response() {
            return Err(Misbehaviour::RequestFromServer.into());
        }
        self.credits = self.credits.saturating_add(u32::from(h.credits()));
        // What may arrive unprotected (3.2.5.1.3): anything before the session has keys (the
        // final SESSION_SETUP response is verified once they exist), an interim STATUS_PENDING,
        // and an oplock or lease break (MessageId all ones). Never judged by the Command field
        // alone: a forged "SESSION_SETUP" later is refused. A message that came encrypted and
        // opened is authenticated by its tag and not signature-checked.
        let interim = h.status() == NtStatus::PENDING && h.is_async();
        let notification = h.message_id() == u64::MAX;
        let Some(crypto) = &self.crypto else { return Ok(h.fields()) };
        let related = h.flags() & flags::RELATED_OPERATIONS != 0;
        let exempt = notification || (interim && !self.encrypt_all) || (after_expired && related);
        if !encrypted && !exempt {
            if self.encrypt_all {
                return Err(Misbehaviour::ClearOnEncryptedSession.into());
            }
            // Unsigned answers pass only on a session that does not sign throughout, and
            // never for TREE_CONNECT, which keyless always signs (3.2.4.1.1).
            if h.flags() & flags::SIGNED != 0 {
                crypto.signer.verify(message)?;
            } else if self.sign_all || h.command() == keyless_smb::Command::TREE_CONNECT {
                return Err(Misbehaviour::UnsignedResponse.into());
            }
        }
        Ok(h.fields())
    }

    /// Decrypts a TRANSFORM frame in place; returns where the plaintext message starts.
    fn decrypt(&mut self, frame: &mut [u8]) -> Result<usize, Error> {
        let aead = self.crypto.as_ref().and_then(|c| c.decrypt.as_ref()).ok_or(Misbehaviour::EncryptedBeforeKeys)?;
        let (th, _) = TransformHeader::parse(frame)?;
        if th.flags != TRANSFORM_FLAG_ENCRYPTED {
            return Err(Misbehaviour::TransformFlags.into());
        }
        if th.session_id != self.session_id {
            return Err(Misbehaviour::OtherSession.into());
        }
        let nonce_len = aead.cipher().nonce_len();
        let (head, plain) = frame.split_at_mut(TRANSFORM_LEN);
        let aad = TransformHeader::aad(head).unwrap_or_default();
        aead.open_in_place(&th.nonce[..nonce_len], aad, plain, &th.signature)?;
        if plain.len() < header::LEN {
            return Err(Misbehaviour::ShortEncrypted.into());
        }
        Ok(TRANSFORM_LEN)
    }
}

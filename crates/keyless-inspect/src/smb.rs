//! SMB2/3 frames as records: each header of a compound, its main fields, and the body
//! decoded as what the header says (MS-SMB2 2.2).

use crate::{Broken, Keys, Record, dfs, hex, krb, ntlm};
use keyless_capture::{Message as Captured, Protocol};
use keyless_smb::change_notify::{ChangeNotifyRequest, ChangeNotifyResponse};
use keyless_smb::control::{
    Cancel, CloseRequest, CloseResponse, Echo, FlushRequest, FlushResponse, Logoff, TreeDisconnect,
};
use keyless_smb::create::{CreateRequest, CreateResponse};
use keyless_smb::error_response::{ErrorResponse, carries_error_body};
use keyless_smb::header::Header;
use keyless_smb::info::{QueryInfoRequest, QueryInfoResponse, SetInfoRequest, SetInfoResponse};
use keyless_smb::ioctl::{IoctlRequest, IoctlResponse};
use keyless_smb::lock::{LockRequest, LockResponse};
use keyless_smb::negotiate::{ContextType, NegotiateContext, NegotiateRequest, NegotiateResponse};
use keyless_smb::oplock::Break;
use keyless_smb::query_directory::{QueryDirectoryRequest, QueryDirectoryResponse};
use keyless_smb::read_write::{ReadRequest, ReadResponse, WriteRequest, WriteResponse};
use keyless_smb::session_setup::{SessionSetupRequest, SessionSetupResponse};
use keyless_smb::transform::{TRANSFORM_LEN, TransformHeader};
use keyless_smb::tree_connect::{TreeConnectRequest, TreeConnectResponse};
use keyless_smb::{Command, Message, WireError};
use std::borrow::Cow;

/// The kind of a TRANSFORM frame's record.
pub(crate) const TRANSFORM_KIND: &str = "TRANSFORM (encrypted)";

/// Header flags shown by name.
const FLAGS: [(u32, &str); 5] =
    [(0x1, "response"), (0x2, "async"), (0x4, "related"), (0x8, "signed"), (0x1000_0000, "dfs")];

/// The records of one NBSS frame: one per SMB2 header of a compound, or one for a transform
/// (followed by what it decrypts to, when the keys are known), compression transform or SMB1
/// frame.
pub(crate) fn describe(m: &Captured, keys: &mut Keys, out: &mut Vec<Record>) {
    frame(m, &m.payload, m.stream_offset + 4, false, keys, out);
}

/// The records of `payload` (an NBSS frame's, or a TRANSFORM's plaintext when `decrypted`),
/// which starts at stream byte `base`.
fn frame(m: &Captured, payload: &[u8], base: usize, decrypted: bool, keys: &mut Keys, out: &mut Vec<Record>) {
    match payload.get(..4) {
        Some(b"\xfeSMB") => {
            for part in keyless_smb::compound::ranges(payload) {
                match part {
                    Ok(r) => one(m, &payload[r.clone()], base + r.start, decrypted, keys, out),
                    Err(e) => {
                        let mut r = Record::new(m, Protocol::Smb, "SMB2 compound");
                        r.broken = Some(Broken { offset: base, what: e.to_string() });
                        out.push(r);
                    }
                }
            }
        }
        Some(b"\xfdSMB") => transform(m, payload, base, keys, out),
        Some(b"\xfcSMB") => {
            let mut r = Record::new(m, Protocol::Smb, "COMPRESSION_TRANSFORM");
            match keyless_smb::transform::Compressed::parse(payload) {
                Ok(_) => {
                    let le32 =
                        |at: usize| payload.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    r.field("original_size", le32(4));
                }
                Err(e) => r.broken = Some(Broken { offset: base, what: e.to_string() }),
            }
            out.push(r);
        }
        Some(b"\xffSMB") if payload.get(4) == Some(&0x72) => {
            let mut r = Record::new(m, Protocol::Smb, "SMB1 NEGOTIATE request");
            // Dialect strings: 0x02 and a NUL-terminated name each, after the 35-byte header
            // and word count/byte count.
            let dialects: Vec<String> = payload
                .get(35..)
                .unwrap_or_default()
                .split(|b| *b == 0)
                .filter_map(|s| s.strip_prefix(&[0x02]))
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            r.field("dialects", dialects);
            out.push(r);
        }
        _ => {
            let mut r = Record::new(m, Protocol::Smb, "not SMB2");
            let start = payload.get(..4).unwrap_or(payload);
            r.broken = Some(Broken { offset: base, what: format!("protocol id {start:02x?} is not SMB2/3's") });
            out.push(r);
        }
    }
}

/// A TRANSFORM frame, then (when its session's keys are known) the messages inside it.
fn transform(m: &Captured, payload: &[u8], offset: usize, keys: &mut Keys, out: &mut Vec<Record>) {
    let mut r = Record::new(m, Protocol::Smb, TRANSFORM_KIND);
    match TransformHeader::parse(payload) {
        Ok((h, _)) => {
            r.field("session_id", format!("{:#018x}", h.session_id));
            r.field("original_size", h.original_message_size);
            r.field("flags", h.flags);
            r.field("nonce", hex(&h.nonce));
            r.field("signature", hex(&h.signature));
        }
        Err(e) => {
            r.broken = Some(Broken { offset, what: e.to_string() });
            return out.push(r);
        }
    }
    match keys.smb.open(m.to_server, payload) {
        Ok(Some(plain)) => {
            r.field("decrypted", true);
            out.push(r);
            frame(m, &plain, offset + TRANSFORM_LEN, true, keys, out);
        }
        Ok(None) => out.push(r),
        Err(why) => {
            r.field("not_decrypted", why);
            out.push(r);
        }
    }
}

/// One SMB2 message (header and body), and the Kerberos message its SESSION_SETUP carries.
fn one(m: &Captured, msg: &[u8], offset: usize, decrypted: bool, keys: &mut Keys, out: &mut Vec<Record>) {
    let mut r = Record::new(m, Protocol::Smb, "SMB2");
    let h = match Header::parse(msg) {
        Ok(h) => h,
        Err(e) => {
            r.broken = Some(Broken { offset, what: e.to_string() });
            return out.push(r);
        }
    };
    let response = h.is_response();
    r.kind = format!("{} {}", h.command(), if response { "response" } else { "request" });
    if response {
        let s = h.status();
        r.status = Some(if s.name().is_some() { s.to_string() } else { format!("{:#010x}", s.0) });
    }
    let status_code = response.then(|| format!("{:#010x}", h.status().0));
    r.field("command", h.command().0);
    if let Some(code) = status_code {
        r.field("nt_status", code);
    }
    r.field("message_id", h.message_id());
    r.field("credit_charge", h.credit_charge());
    r.field(if response { "credits_granted" } else { "credits_requested" }, h.credits());
    r.field("session_id", format!("{:#018x}", h.session_id()));
    match h.async_id() {
        Some(id) => r.field("async_id", format!("{id:#x}")),
        None => r.field("tree_id", format!("{:#x}", h.tree_id().unwrap_or(0))),
    }
    let flags: Vec<&str> = FLAGS.iter().filter(|(bit, _)| h.flags() & bit != 0).map(|(_, n)| *n).collect();
    r.field("flags", flags);
    if h.flags() & keyless_smb::header::flags::SIGNED != 0 {
        r.field("signature", hex(h.signature()));
    }
    if decrypted {
        r.field("encrypted", true);
    }
    if let Err(e) = body(&mut r, &h, msg) {
        r.broken = Some(Broken { offset, what: e.to_string() });
    }
    let kerberos = session_setup_auth(m, &h, msg, offset, keys, &mut r);
    keys.smb.message(m.connection, &h, msg, decrypted, &mut r);
    if let Some(piece) = keys.files.as_mut().and_then(|f| f.message(m.connection, &h, msg)) {
        keys.pieces.push((piece.file, piece.offset, piece.data.to_vec()));
    }
    out.push(r);
    out.extend(kerberos);
}

/// What a SESSION_SETUP's security blob carries: a Kerberos AP-REQ or AP-REP as its own
/// record, NTLMSSP as fields of `r`; the keys found go to the session being set up.
fn session_setup_auth(
    m: &Captured,
    h: &Header,
    msg: &[u8],
    offset: usize,
    keys: &mut Keys,
    r: &mut Record,
) -> Option<Record> {
    if h.command() != Command::SESSION_SETUP || carries_error_body(h, msg) {
        return None;
    }
    let (blob, setup) = if h.is_response() {
        let blob = SessionSetupResponse::parse(msg).ok()?.security_buffer;
        (blob, keys.smb.setup_response(m.connection, h)?)
    } else {
        let blob = SessionSetupRequest::parse(msg).ok()?.security_buffer;
        (blob, keys.smb.setup_request(m.connection, h, msg))
    };
    let token = security_token(blob)?;
    if token.starts_with(b"NTLMSSP\0") {
        ntlm::message(r, &token, &mut setup.ntlm, keys.nt_hashes);
        return None;
    }
    Some(krb::in_security_token(m, &token, offset, &mut keys.krb, &mut setup.gss))
}

/// The GSS token of a security blob: SPNEGO's mech token (NegTokenInit) or response token
/// (NegTokenResp), else the blob itself (a bare krb5 token); `None` when there is none.
fn security_token(blob: &[u8]) -> Option<Cow<'_, [u8]>> {
    let token = match blob.first() {
        Some(0x60) => match keyless_gss::spnego::parse_init(blob) {
            Ok(init) => Cow::Owned(init.mech_token?.to_vec()),
            Err(_) => Cow::Borrowed(blob),
        },
        Some(0xa1) => Cow::Owned(keyless_gss::spnego::parse_resp(blob).ok()?.response_token?.to_vec()),
        _ => return None,
    };
    (!token.is_empty()).then_some(token)
}

fn body(r: &mut Record, h: &Header<'_>, msg: &[u8]) -> Result<(), WireError> {
    if carries_error_body(h, msg) {
        let e = ErrorResponse::parse(msg)?;
        r.field("error_data_length", e.error_data.len());
        return Ok(());
    }
    match (h.command(), h.is_response()) {
        (Command::NEGOTIATE, false) => {
            let b = NegotiateRequest::parse(msg)?;
            r.field("dialects", b.dialects.iter().map(ToString::to_string).collect::<Vec<_>>());
            r.field("security_mode", b.security_mode);
            r.field("capabilities", format!("{:#x}", b.capabilities));
            r.field("client_guid", hex(&b.client_guid));
            contexts(r, &b.contexts);
        }
        (Command::NEGOTIATE, true) => {
            let b = NegotiateResponse::parse(msg)?;
            r.field("dialect", b.dialect.to_string());
            r.field("security_mode", b.security_mode);
            r.field("capabilities", format!("{:#x}", b.capabilities));
            r.field("server_guid", hex(&b.server_guid));
            r.field("max_read_size", b.max_read_size);
            r.field("max_write_size", b.max_write_size);
            r.field("security_buffer_length", b.security_buffer.len());
            contexts(r, &b.contexts);
            // What the connection settles on, context or not (the cipher 3.0.x implies, say).
            let settled = b.settled()?;
            r.field("cipher", settled.cipher.map_or_else(|| "none".to_string(), cipher_name));
            r.field("signing", signing_name(settled.signing));
        }
        (Command::SESSION_SETUP, false) => {
            let b = SessionSetupRequest::parse(msg)?;
            r.field("setup_flags", b.flags);
            r.field("security_mode", b.security_mode);
            r.field("previous_session_id", format!("{:#x}", b.previous_session_id));
            r.field("security_buffer_length", b.security_buffer.len());
        }
        (Command::SESSION_SETUP, true) => {
            let b = SessionSetupResponse::parse(msg)?;
            r.field("session_flags", b.session_flags);
            r.field("security_buffer_length", b.security_buffer.len());
        }
        (Command::TREE_CONNECT, false) => {
            let b = TreeConnectRequest::parse(msg)?;
            r.field("path", b.path);
            r.field("tree_flags", b.flags);
        }
        (Command::TREE_CONNECT, true) => {
            let b = TreeConnectResponse::parse(msg)?;
            r.field("share_type", b.share_type.0);
            r.field("share_flags", format!("{:#x}", b.share_flags));
            r.field("maximal_access", format!("{:#x}", b.maximal_access));
        }
        (Command::CREATE, false) => {
            let b = CreateRequest::parse(msg)?;
            r.field("name", b.name);
            r.field("desired_access", format!("{:#x}", b.desired_access));
            r.field("disposition", b.create_disposition.0);
            r.field("options", format!("{:#x}", b.create_options));
            r.field("share_access", b.share_access);
            r.field("oplock_level", b.oplock_level.0);
            r.field(
                "contexts",
                b.contexts.iter().map(|c| String::from_utf8_lossy(c.name).into_owned()).collect::<Vec<_>>(),
            );
        }
        (Command::CREATE, true) => {
            let b = CreateResponse::parse(msg)?;
            r.field("file_id", hex(&b.file_id));
            r.field("create_action", b.create_action);
            r.field("size", b.attributes.end_of_file);
            r.field("attributes", format!("{:#x}", b.attributes.file_attributes));
            r.field("oplock_level", b.oplock_level.0);
        }
        (Command::CLOSE, false) => r.field("file_id", hex(&CloseRequest::parse(msg)?.file_id)),
        (Command::CLOSE, true) => r.field("size", CloseResponse::parse(msg)?.attributes.end_of_file),
        (Command::FLUSH, false) => r.field("file_id", hex(&FlushRequest::parse(msg)?.file_id)),
        (Command::FLUSH, true) => drop(FlushResponse::parse(msg)?),
        (Command::READ, false) => {
            let b = ReadRequest::parse(msg)?;
            r.field("file_id", hex(&b.file_id));
            r.field("offset", b.offset);
            r.field("length", b.length);
        }
        (Command::READ, true) => r.field("data_length", ReadResponse::parse(msg)?.data.len()),
        (Command::WRITE, false) => {
            let b = WriteRequest::parse(msg)?;
            r.field("file_id", hex(&b.file_id));
            r.field("offset", b.offset);
            r.field("length", b.data.len());
        }
        (Command::WRITE, true) => r.field("count", WriteResponse::parse(msg)?.count),
        (Command::LOCK, false) => {
            let b = LockRequest::parse(msg)?;
            r.field("file_id", hex(&b.file_id));
            r.field("locks", b.locks.len());
        }
        (Command::LOCK, true) => drop(LockResponse::parse(msg)?),
        (Command::IOCTL, false) => {
            let b = IoctlRequest::parse(msg)?;
            r.field("ctl_code", format!("{:#x}", b.ctl_code.0));
            r.field("file_id", hex(&b.file_id));
            r.field("input_length", b.input.len());
            dfs::request(r, b.ctl_code, b.input)?;
        }
        (Command::IOCTL, true) => {
            let b = IoctlResponse::parse(msg)?;
            r.field("ctl_code", format!("{:#x}", b.ctl_code.0));
            r.field("output_length", b.output.len());
            dfs::response(r, b.ctl_code, b.output)?;
        }
        (Command::QUERY_DIRECTORY, false) => {
            let b = QueryDirectoryRequest::parse(msg)?;
            r.field("file_id", hex(&b.file_id));
            r.field("pattern", b.pattern);
            r.field("info_class", b.info_class.0);
            r.field("query_flags", b.flags);
        }
        (Command::QUERY_DIRECTORY, true) => r.field("output_length", QueryDirectoryResponse::parse(msg)?.output.len()),
        (Command::CHANGE_NOTIFY, false) => {
            let b = ChangeNotifyRequest::parse(msg)?;
            r.field("file_id", hex(&b.file_id));
            r.field("completion_filter", format!("{:#x}", b.completion_filter));
        }
        (Command::CHANGE_NOTIFY, true) => drop(ChangeNotifyResponse::parse(msg)?),
        (Command::QUERY_INFO, false) => {
            let b = QueryInfoRequest::parse(msg)?;
            r.field("file_id", hex(&b.file_id));
            r.field("info_type", b.info_type.0);
            r.field("info_class", b.info_class);
        }
        (Command::QUERY_INFO, true) => r.field("output_length", QueryInfoResponse::parse(msg)?.output.len()),
        (Command::SET_INFO, false) => {
            let b = SetInfoRequest::parse(msg)?;
            r.field("file_id", hex(&b.file_id));
            r.field("info_type", b.info_type.0);
            r.field("info_class", b.info_class);
            r.field("buffer_length", b.buffer.len());
        }
        (Command::SET_INFO, true) => drop(SetInfoResponse::parse(msg)?),
        (Command::OPLOCK_BREAK, _) => match Break::parse(msg)? {
            Break::Oplock(b) => r.field("oplock_level", b.oplock_level.0),
            Break::LeaseNotification(b) => r.field("lease_key", hex(&b.lease_key)),
            Break::LeaseAck(b) => r.field("lease_key", hex(&b.lease_key)),
        },
        (Command::LOGOFF, _) => drop(Logoff::parse(msg)?),
        (Command::TREE_DISCONNECT, _) => drop(TreeDisconnect::parse(msg)?),
        (Command::ECHO, _) => drop(Echo::parse(msg)?),
        (Command::CANCEL, _) => drop(Cancel::parse(msg)?),
        _ => return Err(WireError::BadValue { field: "Command" }),
    }
    Ok(())
}

/// The 3.1.1 negotiate contexts: ciphers and signing algorithms by name, the rest by type.
fn contexts(r: &mut Record, list: &[NegotiateContext]) {
    // A list that does not fit its count shows as empty (the decoder names it elsewhere).
    let ids = |data: &[u8]| keyless_smb::negotiate::parse_id_list(data, "negotiate context ids").unwrap_or_default();
    for c in list {
        match c.kind {
            ContextType::ENCRYPTION => {
                r.field("ciphers", ids(&c.data).into_iter().map(cipher_name).collect::<Vec<_>>())
            }
            ContextType::SIGNING => {
                r.field("signing_algorithms", ids(&c.data).into_iter().map(signing_name).collect::<Vec<_>>())
            }
            ContextType::PREAUTH_INTEGRITY => r.field("preauth_integrity", "SHA-512"),
            other => r.field("context", format!("{:#06x}", other.0)),
        }
    }
}

/// MS-SMB2 2.2.3.1.2 cipher ids.
pub(crate) fn cipher_name(id: u16) -> String {
    keyless_crypto::Cipher::from_id(id).map_or_else(|| format!("cipher {id:#06x}"), |c| c.name().to_string())
}

/// MS-SMB2 2.2.3.1.7 signing algorithm ids.
pub(crate) fn signing_name(id: u16) -> String {
    keyless_crypto::SigningAlgorithm::from_id(id).map_or_else(|| format!("signing {id:#06x}"), |a| a.name().to_string())
}

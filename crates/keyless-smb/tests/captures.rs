//! Real traffic: every SMB2 frame of the public captures under `testdata/captures/public-smb2`
//! (Windows, macOS, Linux and Samba peers; see testdata/SOURCES.md) decodes, and every message we
//! encode re-encodes to the captured bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::change_notify::*;
use keyless_smb::compound::messages;
use keyless_smb::control::*;
use keyless_smb::create::*;
use keyless_smb::error_response::ErrorResponse;
use keyless_smb::header::Header;
use keyless_smb::info::*;
use keyless_smb::ioctl::*;
use keyless_smb::lock::*;
use keyless_smb::negotiate::*;
use keyless_smb::oplock::*;
use keyless_smb::query_directory::*;
use keyless_smb::read_write::*;
use keyless_smb::session_setup::*;
use keyless_smb::transform::TransformHeader;
use keyless_smb::tree_connect::*;
use keyless_smb::{Command, Message, WireError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The captures: ours (committed, recorded by `record_samba_captures`) and, when the workspace
/// has them, the public ones kept beside the repository in `../shared/captures/public-smb2`
/// (third-party data: used, not committed; see testdata/SOURCES.md).
fn captures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = keyless_testbed::pcap::capture_files(&root.join("testdata/captures/samba"));
    assert!(files.len() >= 2, "{files:?}");
    let public = root.join("../shared/captures/public-smb2");
    if public.is_dir() {
        files.extend(keyless_testbed::pcap::capture_files(&public));
    } else {
        eprintln!("note: {} absent, reading our own captures only", public.display());
    }
    files
}

/// Byte ranges of a message that MS-SMB2 lets the sender fill as it likes and the receiver
/// ignore: the offset of a buffer whose length is zero, Reserved fields some peers leave
/// unzeroed (Windows puts stack bytes in CREATE's Reserved2 and, before 3.1.1, in NEGOTIATE's
/// context fields), and the unused byte of an ERROR body without data. Re-encodings are
/// compared with these masked; everything else must be equal.
fn ignorable(kind: &str, msg: &[u8]) -> Vec<std::ops::Range<usize>> {
    const B: usize = 64;
    let field = |at: usize, width: usize| {
        msg.get(B + at..B + at + width).map_or(1, |f| f.iter().rev().fold(0u64, |v, b| v << 8 | u64::from(*b)))
    };
    let empty = |off_at: usize, off_width: usize, len_at: usize, len_width: usize| {
        (field(len_at, len_width) == 0).then_some(B + off_at..B + off_at + off_width)
    };
    let mut r = Vec::new();
    match kind {
        "SessionSetupRequest" => r.extend(empty(12, 2, 14, 2)),
        "SessionSetupResponse" => r.extend(empty(4, 2, 6, 2)),
        "NegotiateResponse" => {
            r.extend(empty(56, 2, 58, 2));
            if field(4, 2) != 0x0311 {
                r.extend([B + 6..B + 8, B + 60..B + 64]);
            }
        }
        "CreateRequest" => {
            r.extend(empty(44, 2, 46, 2));
            r.extend(empty(48, 4, 52, 4));
            r.extend(empty_context_data_offsets(msg, field(48, 4) as usize));
        }
        "CreateResponse" => {
            r.push(B + 60..B + 64);
            r.extend(empty(80, 4, 84, 4));
            r.extend(empty_context_data_offsets(msg, field(80, 4) as usize));
        }
        "IoctlRequest" => {
            r.extend(empty(24, 4, 28, 4));
            r.extend(empty(36, 4, 40, 4));
        }
        "IoctlResponse" => {
            r.extend(empty(24, 4, 28, 4));
            r.extend(empty(32, 4, 36, 4));
        }
        "QueryInfoRequest" => r.extend(empty(8, 2, 12, 4)),
        "SetInfoRequest" => r.extend(empty(8, 2, 4, 4)),
        "QueryDirectoryRequest" => r.extend(empty(24, 2, 26, 2)),
        "QueryDirectoryResponse" | "ChangeNotifyResponse" | "QueryInfoResponse" => r.extend(empty(2, 2, 4, 4)),
        "ReadResponse" => {
            r.extend(empty(2, 1, 4, 4));
            r.push(B + 3..B + 4);
        }
        "ErrorResponse" if field(4, 4) == 0 => r.push(B + 8..B + 9),
        _ => {}
    }
    r
}

/// The DataOffset fields of create contexts without data (Windows points them past the name,
/// macOS and Samba send zero).
fn empty_context_data_offsets(msg: &[u8], mut at: usize) -> Vec<std::ops::Range<usize>> {
    let mut r = Vec::new();
    while at != 0 {
        let Some(head) = msg.get(at..at + 16) else { break };
        let word = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().unwrap());
        if word(12) == 0 {
            r.push(at + 10..at + 12);
        }
        match word(0) as usize {
            0 => break,
            next => at += next,
        }
    }
    r
}

/// Whether `ours` is `theirs` up to the ignorable fields and the padding senders choose
/// differently: `theirs` may run up to 8 bytes longer (inside a compound: a one-byte Buffer for
/// an empty variable part, then padding to 8, not always zero); `ours` may run up to 7 zero bytes
/// longer (Samba sends one byte for an empty CREATE name, Windows and macOS eight; Windows pads
/// the last create context in some messages and not in others, so CreateContextsLength is
/// compared rounded up to 8).
fn same_message(kind: &str, theirs: &[u8], mut ours: &[u8]) -> bool {
    // MS-SMB2 2.2.2: an ERROR body without data MUST carry one ErrorData byte; Samba sends it,
    // Windows does not. We follow the specification.
    if kind == "ErrorResponse" && theirs.len() == 72 && ours.len() == 73 {
        ours = &ours[..72];
    }
    let common = ours.len().min(theirs.len());
    let ours_extra = &ours[common..];
    if theirs.len() - common > 8 || ours_extra.len() > 7 || ours_extra.iter().any(|&b| b != 0) {
        return false;
    }
    let (mut a, mut b) = (theirs[..common].to_vec(), ours[..common].to_vec());
    let contexts_len_at = match kind {
        "CreateRequest" => Some(64 + 52),
        "CreateResponse" => Some(64 + 84),
        _ => None,
    };
    for m in [&mut a, &mut b] {
        if let Some(at) = contexts_len_at.filter(|at| at + 4 <= m.len()) {
            let rounded = u32::from_le_bytes(m[at..at + 4].try_into().unwrap()).next_multiple_of(8);
            m[at..at + 4].copy_from_slice(&rounded.to_le_bytes());
        }
    }
    for range in ignorable(kind, theirs) {
        let n = a.len();
        for i in range.filter(|&i| i < n) {
            a[i] = 0;
            b[i] = 0;
        }
    }
    a == b
}

/// Decodes one message as what its header says, and encodes it again.
fn decode_and_encode(msg: &[u8]) -> Result<(&'static str, Vec<u8>), WireError> {
    let h = Header::parse(msg)?;
    let fields = h.fields();
    macro_rules! as_ {
        ($t:ty) => {{
            let m = <$t>::parse(msg)?;
            (stringify!($t), m.to_vec(&fields)?)
        }};
    }
    if keyless_smb::error_response::carries_error_body(&h, msg) {
        let e = ErrorResponse::parse(msg)?;
        let mut out = Vec::new();
        e.encode(&fields, &mut out)?;
        return Ok(("ErrorResponse", out));
    }
    Ok(match (h.command(), h.is_response()) {
        (Command::NEGOTIATE, false) => as_!(NegotiateRequest),
        (Command::NEGOTIATE, true) => as_!(NegotiateResponse),
        (Command::SESSION_SETUP, false) => as_!(SessionSetupRequest),
        (Command::SESSION_SETUP, true) => as_!(SessionSetupResponse),
        (Command::LOGOFF, _) => as_!(Logoff),
        (Command::TREE_CONNECT, false) => as_!(TreeConnectRequest),
        (Command::TREE_CONNECT, true) => as_!(TreeConnectResponse),
        (Command::TREE_DISCONNECT, _) => as_!(TreeDisconnect),
        (Command::CREATE, false) => as_!(CreateRequest),
        (Command::CREATE, true) => as_!(CreateResponse),
        (Command::CLOSE, false) => as_!(CloseRequest),
        (Command::CLOSE, true) => as_!(CloseResponse),
        (Command::FLUSH, false) => as_!(FlushRequest),
        (Command::FLUSH, true) => as_!(FlushResponse),
        (Command::READ, false) => as_!(ReadRequest),
        (Command::READ, true) => as_!(ReadResponse),
        (Command::WRITE, false) => as_!(WriteRequest),
        (Command::WRITE, true) => as_!(WriteResponse),
        (Command::LOCK, false) => as_!(LockRequest),
        (Command::LOCK, true) => as_!(LockResponse),
        (Command::IOCTL, false) => as_!(IoctlRequest),
        (Command::IOCTL, true) => as_!(IoctlResponse),
        (Command::CANCEL, _) => as_!(Cancel),
        (Command::ECHO, _) => as_!(Echo),
        (Command::QUERY_DIRECTORY, false) => as_!(QueryDirectoryRequest),
        (Command::QUERY_DIRECTORY, true) => as_!(QueryDirectoryResponse),
        (Command::CHANGE_NOTIFY, false) => as_!(ChangeNotifyRequest),
        (Command::CHANGE_NOTIFY, true) => as_!(ChangeNotifyResponse),
        (Command::QUERY_INFO, false) => as_!(QueryInfoRequest),
        (Command::QUERY_INFO, true) => as_!(QueryInfoResponse),
        (Command::SET_INFO, false) => as_!(SetInfoRequest),
        (Command::SET_INFO, true) => as_!(SetInfoResponse),
        (Command::OPLOCK_BREAK, _) => match Break::parse(msg)? {
            Break::Oplock(m) => ("OplockBreak", m.to_vec(&fields)?),
            Break::LeaseNotification(m) => ("LeaseBreakNotification", m.to_vec(&fields)?),
            Break::LeaseAck(m) => ("LeaseBreakAck", m.to_vec(&fields)?),
        },
        _ => return Err(WireError::BadValue { field: "Command" }),
    })
}

#[test]
fn every_frame_decodes_and_re_encodes() {
    let mut decoded: BTreeMap<&str, usize> = BTreeMap::new();
    let mut differing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let (mut encrypted, mut smb1, mut total) = (0, 0, 0);
    for path in captures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let frames = keyless_testbed::pcap::smb_frames(&path, 445).unwrap();
        assert!(!frames.is_empty(), "{name}");
        for f in &frames {
            let p = &f.payload[..];
            match p.get(..4) {
                Some(b"\xfdSMB") => {
                    TransformHeader::parse(p).unwrap_or_else(|e| panic!("{name} frame {}: {e}", f.index));
                    encrypted += 1;
                }
                Some(b"\xffSMB") => smb1 += 1,
                _ => {
                    for msg in messages(p) {
                        let msg = msg.unwrap_or_else(|e| panic!("{name} frame {}: {e}", f.index));
                        total += 1;
                        let (kind, again) = decode_and_encode(msg).unwrap_or_else(|e| {
                            panic!("{name} frame {} {}: {e}", f.index, Header::parse(msg).unwrap().command())
                        });
                        *decoded.entry(kind).or_default() += 1;
                        // A message inside a compound carries up to 7 bytes of padding after it.
                        if !same_message(kind, msg, &again) {
                            let at =
                                msg.iter().zip(&again).position(|(a, b)| a != b).unwrap_or(again.len().min(msg.len()));
                            let w = |b: &[u8]| format!("{:02x?}", &b[at.saturating_sub(4)..(at + 12).min(b.len())]);
                            differing.entry(kind).or_default().push(format!(
                                "{name}#{} len {}/{} at {at}: {} vs ours {}",
                                f.index,
                                msg.len(),
                                again.len(),
                                w(msg),
                                w(&again)
                            ));
                        }
                        keyless_smb::fuzzing::messages(msg);
                    }
                }
            }
        }
    }
    eprintln!("{total} messages decoded ({encrypted} encrypted frames, {smb1} SMB1): {decoded:?}");
    for (kind, where_) in &differing {
        eprintln!("re-encoding differs: {kind} ×{}: {:#?}", where_.len(), &where_[..where_.len().min(3)]);
    }
    assert!(total > 150, "{total}");
    assert!(encrypted > 20, "{encrypted}");
    assert!(differing.is_empty(), "messages that do not re-encode byte for byte: {differing:?}");
}

/// Records the committed Samba captures: Debian's `smbclient` against Debian's `smbd` on
/// loopback, once signed (plaintext, every message decodable) and once encrypted (TRANSFORM
/// frames). dumpcap records the conversation; its SMB frames are then written again with
/// text2pcap onto port 445 (I/O directions kept), so tshark and the tests need no port option.
#[test]
#[ignore = "writes testdata/captures/samba; needs root for dumpcap"]
fn record_samba_captures() {
    use keyless_testbed::{ScratchDir, SmbMode, Smbd, run};
    use std::process::Command;
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures/samba");
    std::fs::create_dir_all(&out_dir).unwrap();
    for (name, mode, extra) in [
        ("smbclient-smbd-signed", SmbMode::Signing, &[][..]),
        ("smbclient-smbd-encrypted", SmbMode::Encrypt, &["--option=client smb encrypt=required"][..]),
    ] {
        let scratch = ScratchDir::new(name);
        let smbd = Smbd::start(&scratch, mode, None).expect("smbd");
        let client_conf = scratch.join("client.conf");
        let d = scratch.path().display();
        std::fs::write(
            &client_conf,
            format!("[global]\n  lock directory = {d}\n  cache directory = {d}\n  state directory = {d}\n  private dir = {d}\n"),
        )
        .unwrap();
        let local = scratch.join("report.txt");
        std::fs::write(&local, (0..20_000u32).map(|i| b"keyless "[i as usize % 8]).collect::<Vec<u8>>()).unwrap();
        let recording =
            keyless_testbed::Dumpcap::start(&scratch, "raw", &format!("tcp port {}", smbd.port)).expect("dumpcap");
        let commands = format!(
            "echo 1 keyless; mkdir docs; cd docs; put {} report.txt; ls; allinfo report.txt; get report.txt {}; \
             rename report.txt final.txt; setmode final.txt +h; ls *.txt; del final.txt; cd ..; rmdir docs; ls",
            local.display(),
            scratch.join("back.txt").display()
        );
        run(Command::new("smbclient")
            .args(["-s", client_conf.to_str().unwrap(), &format!("//127.0.0.1/{}", smbd.share), "-p"])
            .arg(smbd.port.to_string())
            .args(["-U", &format!("{}%{}", smbd.user, smbd.password)])
            .args(extra)
            .args(["-c", &commands]));
        let pcap = recording.stop();

        let frames = keyless_testbed::pcap::smb_frames(&pcap, smbd.port).unwrap();
        assert!(frames.len() > 20, "{} frames", frames.len());
        let messages: Vec<(bool, &[u8])> = frames.iter().map(|f| (f.to_server, &f.payload[..])).collect();
        let out = out_dir.join(format!("{name}.pcap"));
        keyless_testbed::tshark::write_conversation(&scratch, &messages, &out).expect("text2pcap");
    }
}

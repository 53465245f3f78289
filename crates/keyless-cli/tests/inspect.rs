//! `keyless inspect` on captures of real sessions recorded here with dumpcap: Debian's
//! smbclient and keyless against smbd, MIT kinit and kvno against the MIT KDC. Every message
//! decodes, the commands and names are what the session did, and per packet the command,
//! status and message id equal what tshark dissects. Also the committed Samba captures, and
//! broken input: one line and a non-zero status, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::tshark::fields_of;
use keyless_testbed::{Dumpcap, MitKdc, ScratchDir, SmbMode, Smbd};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// `keyless inspect ARGS --json`: (exit code, one JSON value per line, stderr).
fn inspect_json(file: &Path, args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::new(common::KEYLESS).arg("inspect").arg(file).args(args).arg("--json").output().unwrap();
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.code().unwrap_or(-1), records, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Per packet with SMB2 headers: `packet \t commands \t statuses \t message ids`, as tshark
/// prints `frame.number smb2.cmd smb2.nt_status smb2.msg_id` (statuses of responses only).
fn our_smb_rows(records: &[Value]) -> Vec<String> {
    // (packet, commands, statuses, message ids)
    type Row = (u64, Vec<String>, Vec<String>, Vec<String>);
    let mut rows: Vec<Row> = Vec::new();
    for r in records.iter().filter(|r| r["protocol"] == "smb2" && r["fields"]["message_id"].is_u64()) {
        let packet = r["packet"].as_u64().unwrap();
        if rows.last().is_none_or(|row| row.0 != packet) {
            rows.push((packet, Vec::new(), Vec::new(), Vec::new()));
        }
        let row = rows.last_mut().unwrap();
        let f = &r["fields"];
        row.1.push(f["command"].to_string());
        if let Some(s) = f["nt_status"].as_str() {
            row.2.push(s.to_string());
        }
        row.3.push(f["message_id"].to_string());
    }
    rows.into_iter().map(|(p, c, s, m)| format!("{p}\t{}\t{}\t{}", c.join(","), s.join(","), m.join(","))).collect()
}

/// The tshark fields `our_smb_rows` stands beside.
const SMB_ROW_FIELDS: [&str; 4] = ["frame.number", "smb2.cmd", "smb2.nt_status", "smb2.msg_id"];

/// Every record decoded, and the SMB2 rows equal tshark's (SMB on port 445: see
/// `keyless_testbed::with_port`). Transforms are left out: tshark has no keys to open them.
fn agrees_with_tshark(file: &Path) -> Vec<Value> {
    let (code, records, err) = inspect_json(file, &[]);
    let broken: Vec<&Value> = records.iter().filter(|r| r.get("malformed").is_some()).collect();
    assert!(code == 0 && broken.is_empty(), "{}: exit {code}, {broken:?}\n{err}", file.display());
    let theirs = fields_of(file, &[], "smb2.cmd", &SMB_ROW_FIELDS);
    let ours = our_smb_rows(&records);
    let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert!(
        first.is_none() && ours.len() == theirs.len(),
        "{}: rows differ at {first:?} (ours {}, tshark {}): ours {:?} tshark {:?}",
        file.display(),
        ours.len(),
        theirs.len(),
        first.and_then(|i| ours.get(i)),
        first.and_then(|i| theirs.get(i)),
    );
    records
}

fn names_created(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["kind"] == "CREATE request")
        .filter_map(|r| r["fields"]["name"].as_str().map(str::to_string))
        .collect()
}

/// The sum of `field` over the records of `kind` (such as the bytes of every WRITE request).
fn total(records: &[Value], kind: &str, field: &str) -> u64 {
    records.iter().filter(|r| r["kind"] == kind).filter_map(|r| r["fields"][field].as_u64()).sum()
}

fn tools() -> Option<()> {
    keyless_testbed::require(&["tshark", "dumpcap", "smbclient"])
}

#[test]
fn committed_samba_captures_decode_and_agree_with_tshark() {
    if keyless_testbed::require(&["tshark"]).is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures/samba");
    for file in keyless_testbed::pcap::capture_files(&dir) {
        let records = agrees_with_tshark(&file);
        assert!(records.len() > 20, "{}", file.display());
    }
}

/// Public captures of real clients and servers (Windows, macOS, Linux, Samba; testdata/
/// SOURCES.md says where each comes from), kept beside the repository in `../shared` and not
/// committed: zero MALFORMED records and the rows tshark dissects. The Windows 2.1 Kerberos
/// capture opens with the keytab published beside it: the ticket, the AP-REP's subkey as the
/// session key, and the server's signature.
#[test]
fn public_captures_decode_and_agree_with_tshark() {
    if keyless_testbed::require(&["tshark"]).is_none() {
        return;
    }
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    let files = keyless_testbed::pcap::capture_files(&shared.join("public-smb2"));
    if files.is_empty() {
        eprintln!("public captures: none under {} (not committed; see testdata/SOURCES.md)", shared.display());
        return;
    }
    for file in &files {
        agrees_with_tshark(file);
    }
    let (pcap, keytab) = (shared.join("zeek-krb/smb2_krb.pcap"), shared.join("zeek-krb/smb2_krb.keytab"));
    if pcap.exists() && keytab.exists() {
        let (code, records, err) = inspect_json(&pcap, &["--keytab", keytab.to_str().unwrap()]);
        assert!(code == 0, "exit {code}: {err}");
        let ap_req = with_field(&records, "AP-REQ", "ticket_client");
        assert_eq!(ap_req.len(), 1, "{records:?}");
        assert_eq!(ap_req[0]["fields"]["ticket_client"], "wallior@DS.SUSQ.COM");
        let checks: Vec<&Value> = records.iter().filter_map(|r| r["fields"].get("signature_check")).collect();
        assert!(!checks.is_empty() && checks.iter().all(|c| *c == "good"), "{checks:?}");
    }
}

/// smbclient against smbd, signed (every message in the clear): recorded, decoded, checked.
#[test]
fn smbclient_session_decodes_as_tshark_sees_it() {
    if tools().is_none() {
        return;
    }
    let scratch = ScratchDir::new("inspect-smbclient");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    let local = scratch.join("upload.bin");
    std::fs::write(&local, vec![7u8; 300_000]).unwrap();
    let rec = Dumpcap::start(&scratch, "smbclient", &format!("tcp port {}", smbd.port)).unwrap();
    let commands = format!(
        "mkdir docs; cd docs; put {} data.bin; ls; get data.bin {}; rename data.bin moved.bin; del moved.bin; cd ..; rmdir docs",
        local.display(),
        scratch.join("back.bin").display()
    );
    keyless_testbed::run(
        Command::new("smbclient")
            .args(["-s", "/dev/null", &format!("//127.0.0.1/{}", smbd.share), "-p", &smbd.port.to_string()])
            .args(["-U", &format!("{}%{}", smbd.user, smbd.password), "-c", &commands]),
    );
    let file = keyless_testbed::with_port(&rec.stop(), smbd.port, 445);
    let records = agrees_with_tshark(&file);
    let names = names_created(&records);
    for want in ["docs", "docs\\data.bin"] {
        assert!(names.iter().any(|n| n == want), "CREATE of {want} in {names:?}");
    }
    assert_eq!(total(&records, "WRITE request", "length"), 300_000, "the WRITEs carry the file");
}

/// keyless puts a file of `size` bytes as `name` on `smbd` and gets it back (NTLM, two
/// connections), recorded with dumpcap: the capture, SMB on port 445.
fn record_keyless_put_get(scratch: &ScratchDir, smbd: &Smbd, name: &str, size: usize) -> PathBuf {
    let pw = scratch.join("pw");
    std::fs::write(&pw, format!("{}\n", smbd.password)).unwrap();
    let local = scratch.join("up.bin");
    std::fs::write(&local, vec![3u8; size]).unwrap();
    let rec = Dumpcap::start(scratch, "keyless", &format!("tcp port {}", smbd.port)).unwrap();
    let url = format!("smb://127.0.0.1:{}/{}/{name}", smbd.port, smbd.share);
    let auth = ["--auth", "ntlm", "--user", &smbd.user, "--password-file", pw.to_str().unwrap()];
    for args in
        [vec!["put", local.to_str().unwrap(), &url], vec!["get", &url, scratch.join("down.bin").to_str().unwrap()]]
    {
        let out = Command::new(common::KEYLESS).args(&args).args(auth).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    keyless_testbed::with_port(&rec.stop(), smbd.port, 445)
}

/// keyless's own session (put and get against smbd, signed): every message decodes and
/// agrees with tshark.
#[test]
fn keyless_session_decodes_as_tshark_sees_it() {
    if tools().is_none() {
        return;
    }
    let scratch = ScratchDir::new("inspect-keyless");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    let file = record_keyless_put_get(&scratch, &smbd, "k.bin", 2_000_000);
    let records = agrees_with_tshark(&file);
    assert!(names_created(&records).iter().any(|n| n == "k.bin"));
    assert_eq!(total(&records, "READ response", "data_length"), 2_000_000);
}

/// keyless's own encrypted sessions (put and get against smbd requiring encryption, each
/// 3.1.1 cipher forced in turn): from the user's password, and from the key smbd logs, every
/// signature verifies and every TRANSFORM opens; inside are the CREATE of the file and its
/// bytes both ways.
#[test]
fn keyless_encrypted_sessions_open() {
    if tools().is_none() {
        return;
    }
    for cipher in ["AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM"] {
        let scratch = ScratchDir::new("inspect-keyless-sealed");
        let Some(smbd) = Smbd::start(&scratch, SmbMode::EncryptWith(cipher), None) else { return };
        let file = record_keyless_put_get(&scratch, &smbd, "sealed.bin", 700_000);
        let mut keys = Vec::new();
        for key in smbd.logged_session_keys() {
            keys.extend(["--session-key".to_string(), key]);
        }
        assert_eq!(keys.len(), 4, "smbd logs both sessions' keys");
        let (_, by_password) = opened_with_password(&scratch, &file, &smbd);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (code, by_key, err) = inspect_json(&file, &keys);
        assert!(code == 0, "{cipher}: exit {code}: {err}");
        for records in [&by_password, &by_key] {
            let transforms: Vec<&Value> = records.iter().filter(|r| r["kind"] == "TRANSFORM (encrypted)").collect();
            assert!(!transforms.is_empty(), "{cipher}: sealed");
            assert!(transforms.iter().all(|t| t["fields"]["decrypted"] == true), "{cipher}: {transforms:?}");
            let negotiated = records.iter().find_map(|r| r["fields"]["cipher"].as_str());
            assert_eq!(negotiated, Some(cipher));
            assert!(names_created(records).iter().any(|n| n == "sealed.bin"), "{cipher}");
            let moved = (total(records, "WRITE request", "length"), total(records, "READ response", "data_length"));
            assert_eq!(moved, (700_000, 700_000), "{cipher}");
        }
    }
}

/// MIT kinit and kvno against the MIT KDC over UDP and TCP: AS-REQ, the pre-authentication
/// KRB-ERROR, AS-REP, TGS-REQ, TGS-REP, with names and enctypes, as tshark sees them.
#[test]
fn mit_kerberos_exchanges_decode_as_tshark_sees_them() {
    if keyless_testbed::require(&["tshark", "dumpcap", "kinit", "kvno"]).is_none() {
        return;
    }
    let Some(kdc) = MitKdc::start() else { return };
    let port = kdc.realms[0].port;
    let rec = Dumpcap::start(&kdc.dir, "kerberos", &format!("port {port}")).unwrap();
    let cache = kdc.dir.join("cc");
    kdc.mit_kinit(&cache);
    let out = Command::new("kvno")
        .args(["-c", &format!("FILE:{}", cache.display()), &kdc.service])
        .envs(kdc.client_env())
        .output()
        .unwrap();
    assert!(out.status.success(), "kvno: {}", String::from_utf8_lossy(&out.stderr));
    let file = rec.stop();
    let (code, records, err) = inspect_json(&file, &["--kerberos-port", &port.to_string()]);
    assert!(code == 0, "exit {code}: {err}");
    let kinds: Vec<&str> = records.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["AS-REQ", "KRB-ERROR", "AS-REQ", "AS-REP", "TGS-REQ", "TGS-REP"], "{records:?}");
    assert_eq!(records[1]["status"], "KDC_ERR_PREAUTH_REQUIRED (25)");
    assert_eq!(records[3]["fields"]["client"], kdc.user);
    assert!(records[5]["fields"]["server"].as_str().unwrap().starts_with(&kdc.service), "{:?}", records[5]);
    let decode_as =
        ["-d".into(), format!("udp.port=={port},kerberos"), "-d".into(), format!("tcp.port=={port},kerberos")];
    let theirs = fields_of(&file, &decode_as, "kerberos", &["frame.number", "kerberos.msg_type"]);
    let ours: Vec<String> = records
        .iter()
        .map(|r| {
            let t = match r["kind"].as_str().unwrap() {
                "AS-REQ" => 10,
                "AS-REP" => 11,
                "TGS-REQ" => 12,
                "TGS-REP" => 13,
                "KRB-ERROR" => 30,
                other => panic!("{other}"),
            };
            format!("{}\t{t}", r["packet"])
        })
        .collect();
    // tshark also lists the AP-REQ inside a TGS-REQ's padata: the first type is the message's.
    let theirs: Vec<String> = theirs.iter().map(|row| row.split(',').next().unwrap().to_string()).collect();
    assert_eq!(ours, theirs);
}

/// MIT kinit armored with FAST (`-T`, an armor cache from the service's keytab), recorded
/// with the armor's own AS exchange: with the service's and the user's keytabs, the armor
/// AP-REQ opens (its TGT's session key from the armor AS-REP), and with the armor key the
/// armored AS-REQs, the armored PREAUTH_REQUIRED error and the AS-REP under its strengthened
/// key.
#[test]
fn fast_armored_as_exchange_opens_with_keytabs() {
    if keyless_testbed::require(&["dumpcap", "kinit"]).is_none() {
        return;
    }
    let Some(kdc) = MitKdc::start() else { return };
    let port = kdc.realms[0].port.to_string();
    let rec = Dumpcap::start(&kdc.dir, "fast", &format!("port {port}")).unwrap();
    let armor = kdc.dir.join("armor.cc");
    let out = Command::new("kinit")
        .args(["-k", "-t", kdc.service_keytab.to_str().unwrap(), "-c", &format!("FILE:{}", armor.display())])
        .arg(&kdc.service)
        .envs(kdc.client_env())
        .output()
        .unwrap();
    assert!(out.status.success(), "armor kinit: {}", String::from_utf8_lossy(&out.stderr));
    kdc.mit_kinit_with(&kdc.dir.join("cc"), &["-T", &format!("FILE:{}", armor.display())]);
    let file = rec.stop();
    let keytabs = ["--keytab", kdc.user_keytab.to_str().unwrap(), "--keytab", kdc.service_keytab.to_str().unwrap()];
    let (code, records, err) = inspect_json(&file, &[&["--kerberos-port", &port][..], &keytabs].concat());
    assert!(code == 0, "exit {code}: {err}");
    let armored: Vec<&Value> = with_field(&records, "AS-REQ", "fast_options");
    assert!(!armored.is_empty(), "armored AS-REQs open: {records:#?}");
    assert!(armored.iter().all(|r| r["fields"]["fast_armor"] == "AP-REQ"), "{armored:?}");
    // The armor's own kinit meets a plain PREAUTH_REQUIRED first; the user's is armored.
    let error = records.iter().rfind(|r| r["kind"] == "KRB-ERROR").expect("the pre-authentication error");
    assert!(
        error["fields"]["fast_error"].as_str().is_some_and(|e| e.contains("PREAUTH_REQUIRED")),
        "the armored error's inner KRB-ERROR: {error:?}"
    );
    let reply = records.iter().rfind(|r| r["kind"] == "AS-REP").unwrap();
    let f = &reply["fields"];
    assert!(f["fast_strengthen_key"].is_string() && f["session_key"].is_string(), "{reply:?}");
    assert_eq!(f["fast_client"], kdc.user, "{reply:?}");
}

/// A real Windows 10 session, client and server, as Microsoft published its packets in the
/// blog "SMB 2 and SMB 3 security in Windows 10: the anatomy of signing and cryptographic keys"
/// (kept in testdata/ms-smb2 as known answers): NEGOTIATE 3.1.1, SESSION_SETUP in two NTLM
/// legs and the signed final response, put into a capture. inspect decodes every message as
/// tshark does, names the NTLM user, and with the blog's session key follows the preauth hash
/// to the blog's signing key and finds the server's signature good.
#[test]
fn windows_session_from_microsofts_published_packets() {
    if keyless_testbed::require(&["tshark", "text2pcap"]).is_none() {
        return;
    }
    let find = |file: &str, name: &str| {
        keyless_kat::load(file).records.into_iter().find(|r| r.name == name).unwrap_or_else(|| panic!("{file}: {name}"))
    };
    let leg = |n: usize, what: &str| {
        find("ms-smb2/preauth.kat", &format!("smb311_anatomy_master_{n}_{what}")).bytes("packet")
    };
    // The final response as sent: the known answer keeps its signature apart.
    let signed = find("ms-smb2/signing.kat", "smb311_anatomy_master_session_setup_final_response");
    let mut last = signed.bytes("message");
    last[48..64].copy_from_slice(&signed.bytes("signature"));
    let keys = find("ms-smb2/kdf.kat", "smb311_anatomy_master");
    let packets = [
        (true, leg(1, "negotiate_request")),
        (false, leg(2, "negotiate_response")),
        (true, leg(3, "session_setup_request_1")),
        (false, leg(4, "session_setup_response_1")),
        (true, leg(5, "session_setup_request_2")),
        (false, last.clone()),
    ];
    let scratch = ScratchDir::new("inspect-windows");
    let file = scratch.join("windows10-anatomy.pcap");
    let messages: Vec<(bool, &[u8])> = packets.iter().map(|(d, p)| (*d, &p[..])).collect();
    keyless_testbed::tshark::write_conversation(&scratch, &messages, &file).unwrap();
    let records = agrees_with_tshark(&file);
    assert_eq!(records.len(), 6, "{records:?}");
    let auth = records.iter().find(|r| r["fields"]["ntlm"] == "AUTHENTICATE").unwrap();
    assert_eq!(auth["fields"]["ntlm_user"], "administrator", "{auth:?}");

    let session_id = u64::from_le_bytes(last[40..48].try_into().unwrap());
    let given = format!("{session_id:#018x}={}", hex(&keys.bytes("session_key")));
    let (code, records, err) = inspect_json(&file, &["--session-key", &given]);
    assert!(code == 0, "exit {code}: {err}");
    let final_response = records.last().unwrap();
    assert_eq!(final_response["fields"]["signing_key"].as_str(), Some(hex(&keys.bytes("signing_key")).as_str()));
    assert_eq!(final_response["fields"]["signature_check"], "good", "{final_response:?}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A frame cut short and a capture that is no capture: the first is reported where it broke
/// (exit 2), the second in one line (exit 1).
#[test]
fn broken_input_is_reported_not_a_panic() {
    let scratch = ScratchDir::new("inspect-broken");
    let junk = scratch.join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture").unwrap();
    let out = Command::new(common::KEYLESS).arg("inspect").arg(&junk).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(1) && err.lines().count() == 1 && err.contains("not a pcap"), "{err}");
    // The committed signed capture with one SMB2 header's StructureSize damaged.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures/samba");
    let mut bytes = std::fs::read(dir.join("smbclient-smbd-signed.pcap")).unwrap();
    let at = find(&bytes, b"\xfeSMB\x40\x00").unwrap();
    bytes[at + 4] = 0x41;
    let damaged: PathBuf = scratch.join("damaged.pcap");
    std::fs::write(&damaged, &bytes).unwrap();
    let (code, records, err) = inspect_json(&damaged, &[]);
    let broken: Vec<&Value> = records.iter().filter(|r| r.get("malformed").is_some()).collect();
    assert!(code == 2 && broken.len() == 1, "exit {code}: {broken:?}\n{err}");
    assert!(broken[0]["malformed"]["what"].as_str().unwrap().contains("StructureSize"), "{broken:?}");
    assert_eq!(broken[0]["malformed"]["offset"], 4, "the first message starts after its NBSS header");
    assert!(err.contains("1 of"), "{err}");
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// smbclient against smbd with each dialect and cipher that seals differently (3.0 with
/// AES-CMAC and AES-128-CCM, 3.1.1 with each of the four ciphers and AES-GMAC), the session
/// key taken from smbd's log (`debug encryption`, which dumps 3.x sessions only): the keys keyless derives equal
/// smbd's, every signature verifies, every TRANSFORM opens, the messages inside are what the
/// session did, and per packet they are what tshark shows when given the same key.
#[test]
fn smbclient_sessions_verify_and_decrypt_with_the_session_key() {
    if tools().is_none() {
        return;
    }
    let modes = [
        SmbMode::Only("SMB3_00"),
        SmbMode::EncryptWith("AES-128-CCM"),
        SmbMode::EncryptWith("AES-128-GCM"),
        SmbMode::EncryptWith("AES-256-CCM"),
        SmbMode::EncryptWith("AES-256-GCM"),
    ];
    for mode in modes {
        let scratch = ScratchDir::new("inspect-keys");
        let Some(smbd) = Smbd::start(&scratch, mode, None) else { return };
        let local = scratch.join("secret.bin");
        std::fs::write(&local, vec![5u8; 100_000]).unwrap();
        let rec = Dumpcap::start(&scratch, "session", &format!("tcp port {}", smbd.port)).unwrap();
        let commands =
            format!("put {} secret.bin; ls; get secret.bin {}", local.display(), scratch.join("back.bin").display());
        keyless_testbed::run(
            Command::new("smbclient")
                .args(["-s", "/dev/null", &format!("//127.0.0.1/{}", smbd.share), "-p", &smbd.port.to_string()])
                .args(["-U", &format!("{}%{}", smbd.user, smbd.password), "--option=clientsmbencrypt=required"])
                .args(["-c", &commands]),
        );
        let file = keyless_testbed::with_port(&rec.stop(), smbd.port, 445);
        let (Some(id), Some(key), Some(given)) =
            (smbd.logged_key("Session Id"), smbd.logged_key("Session Key"), smbd.logged_session_key())
        else {
            panic!("{mode:?}: no session keys in smbd's log:\n{}", smbd.log())
        };
        let id_value = u64::from_str_radix(&given[2..18], 16).unwrap();
        let (code, records, err) = inspect_json(&file, &["--session-key", &given]);
        let broken: Vec<&Value> = records.iter().filter(|r| r.get("malformed").is_some()).collect();
        assert!(code == 0 && broken.is_empty(), "{mode:?}: exit {code}, {broken:?}\n{err}");

        // The keys derived from the session key are smbd's.
        let established = records
            .iter()
            .find(|r| r["fields"]["signing_key"].is_string())
            .unwrap_or_else(|| panic!("{mode:?}: no keys derived\n{err}"));
        let f = &established["fields"];
        assert_eq!(f["signing_key"].as_str(), smbd.logged_key("Signing Key").as_deref(), "{mode:?}");
        assert_eq!(f["c2s_cipher_key"].as_str(), smbd.logged_key("ServerIn Key").as_deref(), "{mode:?}");
        assert_eq!(f["s2c_cipher_key"].as_str(), smbd.logged_key("ServerOut Key").as_deref(), "{mode:?}");

        // Every signature verifies, every TRANSFORM opens.
        let checks: Vec<&Value> = records.iter().filter_map(|r| r["fields"].get("signature_check")).collect();
        assert!(!checks.is_empty() && checks.iter().all(|c| *c == "good"), "{mode:?}: {checks:?}");
        let transforms: Vec<&Value> = records.iter().filter(|r| r["kind"] == "TRANSFORM (encrypted)").collect();
        assert!(
            !transforms.is_empty() && transforms.iter().all(|t| t["fields"]["decrypted"] == true),
            "{mode:?}: {transforms:?}"
        );

        // What the session did, found inside.
        assert!(names_created(&records).iter().any(|n| n == "secret.bin"), "{mode:?}");
        let moved = (total(&records, "WRITE request", "length"), total(&records, "READ response", "data_length"));
        assert_eq!(moved, (100_000, 100_000), "{mode:?}");

        // The summary says the same.
        let out = Command::new(common::KEYLESS)
            .arg("inspect")
            .arg(&file)
            .args(["--stats", "--json", "--session-key", &given])
            .output()
            .unwrap();
        let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
        let (dialect, cipher) = match mode {
            SmbMode::EncryptWith(c) => ("3.1.1", c),
            _ => ("3.0", "AES-128-CCM"),
        };
        let conn = &stats["smb_connections"][0];
        assert_eq!((conn["dialect"].as_str(), conn["cipher"].as_str()), (Some(dialect), Some(cipher)), "{stats}");
        assert_eq!(stats["encrypted_frames"], transforms.len(), "{stats}");
        assert_eq!(stats["encrypted_frames_opened"], transforms.len(), "{stats}");
        assert_eq!((stats["bytes_written"].as_u64(), stats["bytes_read"].as_u64()), (Some(100_000), Some(100_000)));
        let write = &stats["commands"]["WRITE"];
        assert!(write["requests"].as_u64() >= Some(1) && write["requests"] == write["responses"], "{stats}");
        assert!(write["rtt"]["min_ms"].as_f64().unwrap() > 0.0, "{stats}");

        // A wrong key: the signature is BAD, the frames stay shut, and stderr says so.
        let wrong = format!("{id_value:#018x}={}", "00".repeat(16));
        let (code, shut_records, err) = inspect_json(&file, &["--session-key", &wrong]);
        let bad = shut_records.iter().filter(|r| r["fields"]["signature_check"] == "BAD").count();
        let shut = shut_records.iter().filter(|r| r["fields"]["not_decrypted"].is_string()).count();
        assert!(code == 0 && bad == 1 && shut == transforms.len(), "{mode:?}: {bad} {shut}\n{err}");
        assert!(err.contains(&format!("1 bad signatures, {shut} encrypted frames that did not open")), "{err}");

        // tshark, given the same key, sees the same messages.
        let uat = ["-o".into(), format!("uat:smb2_seskey_list:{id},{key},\"\",\"\"")];
        let theirs = fields_of(&file, &uat, "smb2.cmd", &SMB_ROW_FIELDS);
        assert_eq!(our_smb_rows(&records), theirs, "{mode:?}");
        // And given only what --export-keys wrote, as its configuration.
        let exported = scratch.join("wireshark");
        let out = Command::new(common::KEYLESS)
            .arg("inspect")
            .arg(&file)
            .args(["--session-key", &given, "--export-keys", exported.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let theirs = keyless_testbed::tshark::fields_with_config(&file, &exported, "smb2.cmd", &SMB_ROW_FIELDS);
        assert_eq!(our_smb_rows(&records), theirs, "{mode:?}: tshark with the exported keys");

        // The user's password instead of the key: NTLM's session key, the same records.
        let (_, mut by_password) = opened_with_password(&scratch, &file, &smbd);
        for r in &mut by_password {
            r["fields"].as_object_mut().unwrap().remove("ntlm_verified");
        }
        assert!(by_password == records, "{mode:?}: the password opens what the key opens");
    }
}

/// `keyless inspect --password-file` with smbd's user's password (written to a file in
/// `scratch`): the records, with the NTLM AUTHENTICATE verified and every signature good. The
/// password's NT hash as Samba's account database holds it (`pdbedit -Lw`) opens the same. A
/// wrong password is said not to verify, and nothing opens.
fn opened_with_password(scratch: &ScratchDir, file: &Path, smbd: &Smbd) -> (Value, Vec<Value>) {
    let pw = scratch.join("inspect-password");
    std::fs::write(&pw, format!("{}\n", smbd.password)).unwrap();
    let (code, records, err) = inspect_json(file, &["--password-file", pw.to_str().unwrap()]);
    // USER:UID:LMHASH:NTHASH:FLAGS:LCT, as secretsdump's lines run.
    let passdb = keyless_testbed::run(Command::new("pdbedit").arg("-s").arg(&smbd.conf).args(["-Lw", &smbd.user]));
    let line = passdb.lines().find(|l| l.starts_with(&format!("{}:", smbd.user))).expect("the user in pdbedit -Lw");
    let nt_hash = line.split(':').nth(3).unwrap();
    let (_, by_hash, hash_err) = inspect_json(file, &["--nt-hash", nt_hash]);
    assert!(by_hash == records, "the NT hash opens what the password opens: {hash_err}");
    assert!(code == 0 && !err.contains("bad signatures"), "exit {code}: {err}");
    let auth = records.iter().find(|r| r["fields"]["ntlm"] == "AUTHENTICATE").expect("an NTLM AUTHENTICATE");
    assert_eq!(auth["fields"]["ntlm_verified"], true, "{auth:?}");
    let checks: Vec<&Value> = records.iter().filter_map(|r| r["fields"].get("signature_check")).collect();
    assert!(!checks.is_empty() && checks.iter().all(|c| *c == "good"), "{checks:?}");
    let session = records.iter().find(|r| r["fields"]["session_key"].is_string()).expect("keys derived").clone();

    std::fs::write(&pw, "not the password\n").unwrap();
    let (_, wrong, _) = inspect_json(file, &["--password-file", pw.to_str().unwrap()]);
    let auth = wrong.iter().find(|r| r["fields"]["ntlm"] == "AUTHENTICATE").unwrap();
    assert!(
        auth["fields"]["ntlm_not_verified"].as_str().unwrap().contains("no password or NT hash given verifies it"),
        "{auth:?}"
    );
    assert!(!wrong.iter().any(|r| r["fields"]["session_key"].is_string()), "a wrong password derives no keys");
    (session, records)
}

/// An NTLM session at SMB 2.1 (HMAC-SHA256 signing, the session key itself as the signing
/// key; smbd logs no 2.x keys): the password opens it and every signature verifies, and the
/// SESSION_SETUP records name the user and what NTLM message each carried.
#[test]
fn smb21_ntlm_session_verifies_with_the_password() {
    if tools().is_none() {
        return;
    }
    let scratch = ScratchDir::new("inspect-ntlm21");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Only("SMB2_10"), None) else { return };
    let rec = Dumpcap::start(&scratch, "ntlm21", &format!("tcp port {}", smbd.port)).unwrap();
    keyless_testbed::run(
        Command::new("smbclient")
            .args(["-s", "/dev/null", &format!("//127.0.0.1/{}", smbd.share), "-p", &smbd.port.to_string()])
            .args(["-U", &format!("{}%{}", smbd.user, smbd.password), "-c", "ls; mkdir d; rmdir d"]),
    );
    let file = keyless_testbed::with_port(&rec.stop(), smbd.port, 445);
    let (session, records) = opened_with_password(&scratch, &file, &smbd);
    assert_eq!(session["fields"]["signing_key"], session["fields"]["session_key"], "2.x signs with the session key");
    let ntlm: Vec<&str> = records.iter().filter_map(|r| r["fields"]["ntlm"].as_str()).collect();
    assert_eq!(ntlm, ["NEGOTIATE", "CHALLENGE", "AUTHENTICATE"], "{records:?}");
    let auth = records.iter().find(|r| r["fields"]["ntlm"] == "AUTHENTICATE").unwrap();
    assert_eq!(auth["fields"]["ntlm_user"], smbd.user.as_str());
    let dialect = records.iter().find_map(|r| r["fields"]["dialect"].as_str()).unwrap();
    assert_eq!(dialect, "2.1");
}

/// The records of `kind` that carry `field`.
fn with_field<'r>(records: &'r [Value], kind: &str, field: &str) -> Vec<&'r Value> {
    records.iter().filter(|r| r["kind"] == kind && r["fields"].get(field).is_some()).collect()
}

/// Kerberos from the MIT KDC to smbd, recorded whole (the KDC exchanges and the SMB session):
/// smbclient (MIT kinit's TGT, its own TGS-REQ; 3.1.1 encrypted, and 2.1 signed with
/// HMAC-SHA256) and keyless (tickets from a keytab; 3.0.2 signed with AES-CMAC). With the user's
/// and the service's keytabs, inspect opens the AS-REP, the TGS-REQ's authenticator, the AP-REQ
/// and AP-REP inside SESSION_SETUP, and from the AP-REP's subkey derives the SMB keys: smbd's
/// session key (from its log, 3.1.1), signatures good, transforms open. With the user's keytab
/// alone the chain goes through the TGS-REP; MIT's are FAST-armored (RFC 6113), opened with the
/// armor key from the TGS-REQ's own AP-REQ and the strengthen-key inside. A service keytab
/// stored under another name of the account (host/ instead of cifs/) still opens the ticket, as
/// in Wireshark.
#[test]
fn kerberos_sessions_open_with_keytabs() {
    if keyless_testbed::require(&["tshark", "dumpcap", "smbclient", "kinit"]).is_none() {
        return;
    }
    let Some(kdc) = MitKdc::start() else { return };
    let kdc_port = kdc.realms[0].port.to_string();
    let cases = [
        ("smbclient", SmbMode::Encrypt),
        ("smbclient", SmbMode::Only("SMB2_10")),
        ("keyless", SmbMode::Only("SMB3_02")),
    ];
    for (client, mode) in cases {
        let sealed = mode == SmbMode::Encrypt;
        let scratch = ScratchDir::new("inspect-kerberos");
        let Some(smbd) = Smbd::start(&scratch, mode, Some(&kdc)) else { return };
        let filter = format!("port {kdc_port} or tcp port {}", smbd.port);
        let rec = Dumpcap::start(&scratch, "kerberos-smb", &filter).unwrap();
        let local = scratch.join("k.bin");
        std::fs::write(&local, vec![9u8; 50_000]).unwrap();
        let port = smbd.port.to_string();
        let out = if client == "smbclient" {
            let cache = scratch.join("cc");
            kdc.mit_kinit(&cache);
            Command::new("smbclient")
                .args(["-s", "/dev/null", &format!("//files.example.test/{}", smbd.share), "-I", "127.0.0.1"])
                .args(["-p", &port, "--use-kerberos=required"])
                .args(sealed.then_some("--option=clientsmbencrypt=required"))
                .args(["-c", &format!("put {} k.bin", local.display())])
                .envs(kdc.client_env())
                .env("KRB5CCNAME", format!("FILE:{}", cache.display()))
                .output()
                .unwrap()
        } else {
            let url = format!("smb://files.example.test/{}/k.bin", smbd.share);
            let keytab = kdc.user_keytab.to_str().unwrap();
            Command::new(common::KEYLESS)
                .args(["put", local.to_str().unwrap(), &url, "--keytab", keytab, "--user", &kdc.user])
                .args(["--ip", "127.0.0.1", "--port", &port])
                .envs(kdc.client_env())
                .output()
                .unwrap()
        };
        assert!(out.status.success(), "{client}: {}\n{}", String::from_utf8_lossy(&out.stderr), smbd.log());
        let file = rec.stop();
        let user_kt = kdc.user_keytab.to_str().unwrap();
        let service_kt = kdc.service_keytab.to_str().unwrap();
        // The service's keys stored as host/ (another name of the same account in AD).
        let mut renamed = keyless_krb::keytab::Keytab::read(&kdc.service_keytab).unwrap();
        for e in &mut renamed.entries {
            e.principal.components[0] = "host".into();
        }
        let renamed_kt = scratch.join("host.keytab");
        renamed.write(&renamed_kt).unwrap();
        let renamed_kt = renamed_kt.to_str().unwrap();
        let keytab_args =
            |keytabs: &[&str]| keytabs.iter().flat_map(|k| ["--keytab".to_string(), k.to_string()]).collect();
        // The same keys as `--key ENCTYPE:HEX`, as MIT's klist -K shows those kadmin exported.
        let raw: Vec<String> =
            [user_kt, service_kt].iter().flat_map(|k| mit_keys(k)).flat_map(|k| ["--key".to_string(), k]).collect();
        // (what, arguments, whether the service's key is among them)
        let chains: [(&str, Vec<String>, bool); 4] = [
            ("the user's and the service's keytabs", keytab_args(&[user_kt, service_kt]), true),
            ("the user's keytab", keytab_args(&[user_kt]), false),
            ("the service's keys under host/", keytab_args(&[user_kt, renamed_kt]), true),
            ("both as raw --key", raw, true),
        ];
        for (given, keys, service_key) in chains {
            let mut args = vec!["--port", &port, "--kerberos-port", &kdc_port];
            args.extend(keys.iter().map(String::as_str));
            let (code, records, err) = inspect_json(&file, &args);
            let what = format!("{client} ({mode:?}) with {given}");
            let broken: Vec<&Value> = records.iter().filter(|r| r.get("malformed").is_some()).collect();
            assert!(code == 0, "{what}: exit {code}\n{err}{broken:?}");
            assert!(!with_field(&records, "AS-REP", "session_key").is_empty(), "{what}");
            let tgs_req = with_field(&records, "TGS-REQ", "authenticator_client");
            assert!(!tgs_req.is_empty(), "{what}: TGS-REQ authenticators: {records:?}");
            let tgs_rep = records.iter().find(|r| r["kind"] == "TGS-REP").expect("a TGS-REP");
            assert!(tgs_rep["fields"]["session_key"].is_string(), "{what}: {tgs_rep:?}");
            if client == "smbclient" {
                // MIT armors its TGS-REQs: the armored request and reply open, and the reply's
                // enc-part is under the strengthened key.
                assert!(!with_field(&records, "TGS-REQ", "fast_options").is_empty(), "{what}: {records:?}");
                assert!(tgs_rep["fields"]["fast_strengthen_key"].is_string(), "{what}: {tgs_rep:?}");
                assert_eq!(tgs_rep["fields"]["fast_client"], kdc.user, "{what}: {tgs_rep:?}");
            }
            let ap_req = with_field(&records, "AP-REQ", "authenticator_client");
            assert_eq!(ap_req.len(), 1, "{what}: the AP-REQ in SESSION_SETUP: {records:?}");
            assert_eq!(ap_req[0]["fields"]["carried_in"], "SESSION_SETUP");
            assert_eq!(ap_req[0]["fields"]["authenticator_client"], kdc.user, "{what}");
            assert_eq!(
                ap_req[0]["fields"].get("ticket_client").is_some(),
                service_key,
                "{what}: the ticket itself opens with the service's key only"
            );
            if keys.iter().any(|k| k == renamed_kt) {
                let stored = ap_req[0]["fields"]["ticket_key_of"].as_str().unwrap_or_default();
                assert!(stored.starts_with("host/files."), "{what}: {:?}", ap_req[0]);
            }
            assert_eq!(with_field(&records, "AP-REP", "ap_rep_subkey").len(), 1, "{what}");
            let session = records.iter().find(|r| r["fields"]["signing_key"].is_string()).expect("SMB keys derived");
            let checks: Vec<&Value> = records.iter().filter_map(|r| r["fields"].get("signature_check")).collect();
            assert!(!checks.is_empty() && checks.iter().all(|c| *c == "good"), "{what}: {checks:?}");
            let transforms: Vec<&Value> = records.iter().filter(|r| r["kind"] == "TRANSFORM (encrypted)").collect();
            assert!(transforms.iter().all(|t| t["fields"]["decrypted"] == true), "{what}");
            if sealed {
                assert_eq!(session["fields"]["session_key"].as_str(), smbd.logged_key("Session Key").as_deref());
                assert!(!transforms.is_empty(), "{what}: encrypted");
            } else {
                assert!(checks.len() > 10, "{what}: every message after SESSION_SETUP is signed: {checks:?}");
            }
            assert_eq!(total(&records, "WRITE request", "length"), 50_000, "{what}");

            // What --export-keys writes is all tshark needs: the tickets and the SMB session.
            let exported = scratch.join(&format!("wireshark-{}", given.replace(' ', "-")));
            let mut export = Command::new(common::KEYLESS);
            export.arg("inspect").arg(&file).args(&args).arg("--export-keys").arg(&exported);
            keyless_testbed::run(&mut export);
            let smb_file = keyless_testbed::with_port(&file, smbd.port, 445);
            let kerberos_file = keyless_testbed::with_port(&smb_file, kdc.realms[0].port, 88);
            let config =
                |f: &str| keyless_testbed::tshark::fields_with_config(&kerberos_file, &exported, f, &["frame.number"]);
            let (tickets, authenticators) =
                (config("kerberos.encTicketPart_element"), config("kerberos.authenticator_element"));
            let decrypted_inside = config("smb2.cmd == 9");
            // The service ticket opens where the service's key was given (the TGT never: no
            // krbtgt key), the authenticators with the session keys Wireshark learns or is
            // given, and the SMB WRITE and its answer inside the session, sealed or signed.
            assert_eq!(tickets.len(), usize::from(service_key), "{what}: tshark's tickets");
            assert!(!authenticators.is_empty(), "{what}: tshark's authenticators");
            let mut ours: Vec<u64> = records
                .iter()
                .filter(|r| r["kind"].as_str().is_some_and(|k| k.starts_with("WRITE ")))
                .filter_map(|r| r["packet"].as_u64())
                .collect();
            ours.dedup();
            assert!(ours.len() >= 2, "{what}: a WRITE and its answer");
            assert_eq!(decrypted_inside.len(), ours.len(), "{what}: tshark's SMB WRITE frames are ours");
        }
    }
}

/// `ENCTYPE:HEX` of each key in `keytab` that keyless knows, read by MIT's `klist -k -K -e`.
fn mit_keys(keytab: &str) -> Vec<String> {
    let out = keyless_testbed::run(Command::new("klist").args(["-k", "-K", "-e", keytab]));
    let keys: Vec<String> = out
        .lines()
        .filter_map(|l| {
            let etype = l
                .rsplit_once(" (")?
                .0
                .rsplit_once('(')?
                .1
                .trim()
                .trim_end_matches(')')
                .trim_start_matches("DEPRECATED:");
            let hex = l.rsplit_once("(0x")?.1.trim_end_matches(')');
            keyless_krb::config::enctypes_named(etype).len().eq(&1).then(|| format!("{etype}:{hex}"))
        })
        .collect();
    assert!(!keys.is_empty(), "no keys in klist's listing:\n{out}");
    keys
}

/// smbclient asks smbd, a DFS root, for referrals: `keyless inspect` shows each referral
/// request's and response's fields as tshark does, entry by entry.
#[test]
fn dfs_referrals_show_the_fields_tshark_shows() {
    if tools().is_none() {
        return;
    }
    let scratch = ScratchDir::new("inspect-dfs");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    smbd.add_dfs_root("dfs", &[("link", &["files2.example.test\\share", "files3.example.test\\other"])]);
    let rec = Dumpcap::start(&scratch, "dfs", &format!("tcp port {}", smbd.port)).unwrap();
    // The link's targets are not reachable: smbclient's listing fails after the referrals.
    let _ = Command::new("smbclient")
        .args(["-s", "/dev/null", "//127.0.0.1/dfs", "-p", &smbd.port.to_string()])
        .args(["-U", &format!("{}%{}", smbd.user, smbd.password), "-c", "ls; ls link\\*"])
        .output()
        .unwrap();
    let file = keyless_testbed::with_port(&rec.stop(), smbd.port, 445);
    let records = agrees_with_tshark(&file);

    let ours: Vec<String> = records
        .iter()
        .filter(|r| r["fields"]["dfs_max_referral_level"].is_u64() || r["fields"]["dfs_referrals"].is_array())
        .map(|r| {
            let f = &r["fields"];
            let entries = f["dfs_referrals"].as_array().cloned().unwrap_or_default();
            let list = |key: &str| {
                entries
                    .iter()
                    .map(|e| e[key].to_string().trim_matches('"').replace("\\\\", "\\"))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let level = f["dfs_max_referral_level"].as_u64().map(|n| n.to_string()).unwrap_or_default();
            let name = f["dfs_request_file_name"].as_str().unwrap_or("");
            let consumed = f["dfs_path_consumed"].as_u64().map(|n| n.to_string()).unwrap_or_default();
            let count = f["dfs_num_referrals"].as_u64().map(|n| n.to_string()).unwrap_or_default();
            [
                r["packet"].to_string(),
                level,
                name.to_string(),
                consumed,
                count,
                list("version"),
                list("ttl"),
                list("path"),
                list("node"),
            ]
            .join("\t")
        })
        .collect();
    let fields = [
        "frame.number",
        "smb.max_referral_level",
        "smb.file",
        "smb.dfs.path_consumed",
        "smb.dfs.num_referrals",
        "smb.dfs.referral.version",
        "smb.dfs.referral.ttl",
        "smb.dfs.referral.path",
        "smb.dfs.referral.node",
    ];
    let theirs = fields_of(&file, &[], "smb.max_referral_level || smb.dfs.num_referrals", &fields);
    assert!(ours.len() >= 2, "no referral exchange recorded: {ours:?}");
    assert_eq!(ours, theirs);
}

/// impacket: put a file, list the share, get it back.
const IMPACKET: &str = r#"
import sys
from impacket.smbconnection import SMBConnection
port, share, user, password, local, back = sys.argv[1:7]
c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(port))
c.login(user, password)
with open(local, "rb") as f:
    c.putFile(share, "other.bin", f.read)
c.listPath(share, "*")
with open(back, "wb") as f:
    c.getFile(share, "other.bin", f.write)
c.logoff()
"#;

/// smbprotocol (its `smbclient` module): the same, encryption asked for.
const SMBPROTOCOL: &str = r#"
import sys, smbclient
port, share, user, password, local, back = sys.argv[1:7]
smbclient.register_session("127.0.0.1", username=user, password=password, port=int(port), encrypt=True)
path = rf"\\127.0.0.1\{share}\other.bin"
with open(local, "rb") as f, smbclient.open_file(path, mode="wb", port=int(port)) as out:
    out.write(f.read())
smbclient.listdir(rf"\\127.0.0.1\{share}", port=int(port))
with smbclient.open_file(path, mode="rb", port=int(port)) as f, open(back, "wb") as out:
    out.write(f.read())
smbclient.reset_connection_cache()
"#;

/// Other clients' encrypted sessions with smbd (impacket from Debian and from PyPI, Python's
/// smbprotocol; SMB 3.1.1 and 3.0): smbd sets the signed flag on some responses inside a
/// TRANSFORM, which are authenticated by the encryption and not signature-checked (MS-SMB2
/// 3.2.5.1.3): no BAD anywhere, every TRANSFORM opens. A byte changed inside one TRANSFORM
/// keeps that one shut, and says so.
#[test]
fn other_clients_encrypted_sessions_show_no_false_bad() {
    if tools().is_none() {
        return;
    }
    let py = keyless_testbed::PySpnego::python_path();
    let both = [SmbMode::Encrypt, SmbMode::EncryptOnly("SMB3_00")];
    // (what, python, PYTHONPATH, script, dialects): Debian's impacket 0.10 has no SMB 3.1.1.
    let clients = [
        ("impacket (Debian)", "/usr/bin/python3", None, IMPACKET, &both[1..]),
        ("impacket (PyPI)", "python3", Some(&py), IMPACKET, &both[..]),
        ("smbprotocol (PyPI)", "python3", Some(&py), SMBPROTOCOL, &both[..]),
    ];
    let mut signed_inside = 0;
    for (what, python, path, script, modes) in clients {
        let mut probe = Command::new(python);
        probe.args(["-c", if script == IMPACKET { "import impacket" } else { "import smbclient" }]);
        if let Some(p) = path {
            probe.env("PYTHONPATH", p);
        }
        if !probe.stderr(std::process::Stdio::null()).status().is_ok_and(|s| s.success()) {
            assert!(std::env::var_os("CI").is_none(), "{what} is not installed (cargo xtask deps installs it)");
            eprintln!("skipped: {what} is not installed");
            continue;
        }
        for &mode in modes {
            let scratch = ScratchDir::new("inspect-other-clients");
            let Some(smbd) = Smbd::start(&scratch, mode, None) else { return };
            let local = scratch.join("other.bin");
            std::fs::write(&local, (0..150_000u32).map(|i| (i % 253) as u8).collect::<Vec<u8>>()).unwrap();
            let back = scratch.join("back.bin");
            let rec = Dumpcap::start(&scratch, "other", &format!("tcp port {}", smbd.port)).unwrap();
            let mut run = Command::new(python);
            run.args(["-c", script, &smbd.port.to_string(), &smbd.share, &smbd.user, &smbd.password])
                .args([local.to_str().unwrap(), back.to_str().unwrap()]);
            if let Some(p) = path {
                run.env("PYTHONPATH", p);
            }
            keyless_testbed::run(&mut run);
            assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&local).unwrap(), "{what} {mode:?}");
            let file = keyless_testbed::with_port(&rec.stop(), smbd.port, 445);

            let (code, records, err) =
                inspect_json(&file, &inspect_keys(&smbd).iter().map(String::as_str).collect::<Vec<_>>());
            assert!(code == 0 && !err.contains("bad signatures"), "{what} {mode:?}: exit {code}: {err}");
            let bad: Vec<&Value> = records.iter().filter(|r| r["fields"]["signature_check"] == "BAD").collect();
            assert!(bad.is_empty(), "{what} {mode:?}: {bad:?}");
            let transforms: Vec<&Value> = records.iter().filter(|r| r["kind"] == "TRANSFORM (encrypted)").collect();
            assert!(!transforms.is_empty(), "{what} {mode:?}: not sealed");
            assert!(transforms.iter().all(|t| t["fields"]["decrypted"] == true), "{what} {mode:?}: {transforms:?}");
            // Signed inside, and judged by the encryption only.
            let inside: Vec<&Value> = records.iter().filter(|r| r["fields"]["encrypted"] == true).collect();
            assert!(inside.iter().all(
                |r| r["fields"]["authenticated_by"] == "encryption" && r["fields"].get("signature_check").is_none()
            ));
            signed_inside += inside
                .iter()
                .filter(|r| r["fields"]["flags"].as_array().is_some_and(|f| f.iter().any(|x| x == "signed")))
                .count();
            assert_eq!(total(&records, "WRITE request", "length"), 150_000, "{what} {mode:?}");

            // One byte changed in the ciphertext of the last TRANSFORM: it stays shut.
            let mut bytes = std::fs::read(&file).unwrap();
            let at = rfind(&bytes, b"\xfdSMB").unwrap() + 52 + 2;
            bytes[at] ^= 0x40;
            let tampered = scratch.join("tampered.pcap");
            std::fs::write(&tampered, bytes).unwrap();
            let (_, shut, err) =
                inspect_json(&tampered, &inspect_keys(&smbd).iter().map(String::as_str).collect::<Vec<_>>());
            let not_opened = shut.iter().filter(|r| r["fields"]["not_decrypted"].is_string()).count();
            assert_eq!(not_opened, 1, "{what} {mode:?}: {err}");
            assert!(err.contains("1 encrypted frames that did not open"), "{what} {mode:?}: {err}");
        }
    }
    assert!(signed_inside > 0, "smbd signed no message inside a TRANSFORM: the case is not exercised");
}

/// `--session-key` for each session smbd logged.
fn inspect_keys(smbd: &Smbd) -> Vec<String> {
    smbd.logged_session_keys().into_iter().flat_map(|k| ["--session-key".to_string(), k]).collect()
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Bytes that do not repeat (xorshift), `n` of them.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `--export-files`: smbclient and keyless each put one file of random bytes and get another,
/// over a signed and over an encrypted session with smbd; the files inspect rebuilds (with the
/// user's password) have the originals' sha256, and the manifest says every byte was seen.
#[test]
fn files_come_out_of_signed_and_encrypted_sessions() {
    if tools().is_none() {
        return;
    }
    for mode in [SmbMode::Signing, SmbMode::Encrypt] {
        let scratch = ScratchDir::new("inspect-export-files");
        let Some(smbd) = Smbd::start(&scratch, mode, None) else { return };
        let originals = [
            ("by-smbclient-up.bin", noise(300_001, 1)),
            ("by-smbclient-down.bin", noise(250_007, 2)),
            ("by-keyless-up.bin", noise(2_000_003, 3)),
            ("by-keyless-down.bin", noise(1_500_011, 4)),
        ];
        for (name, bytes) in &originals {
            let at = if name.ends_with("-down.bin") { smbd.share_path.join(name) } else { scratch.join(name) };
            std::fs::write(at, bytes).unwrap();
        }
        let pw = scratch.join("pw");
        std::fs::write(&pw, format!("{}\n", smbd.password)).unwrap();
        let rec = Dumpcap::start(&scratch, "files", &format!("tcp port {}", smbd.port)).unwrap();
        let s = |p: &str| scratch.join(p).to_str().unwrap().to_string();
        let commands =
            format!("put {} by-smbclient-up.bin; get by-smbclient-down.bin {}", s("by-smbclient-up.bin"), s("got-1"));
        keyless_testbed::run(
            Command::new("smbclient")
                .args(["-s", "/dev/null", &format!("//127.0.0.1/{}", smbd.share), "-p", &smbd.port.to_string()])
                .args(["-U", &format!("{}%{}", smbd.user, smbd.password)])
                .args((mode == SmbMode::Encrypt).then_some("--option=clientsmbencrypt=required"))
                .args(["-c", &commands]),
        );
        let url = |name: &str| format!("smb://127.0.0.1:{}/{}/{name}", smbd.port, smbd.share);
        let auth = ["--auth", "ntlm", "--user", &smbd.user, "--password-file", pw.to_str().unwrap()];
        for args in [
            vec!["put".to_string(), s("by-keyless-up.bin"), url("by-keyless-up.bin")],
            vec!["get".to_string(), url("by-keyless-down.bin"), s("got-2")],
        ] {
            keyless_testbed::run(Command::new(common::KEYLESS).args(&args).args(auth));
        }
        let file = keyless_testbed::with_port(&rec.stop(), smbd.port, 445);

        let out = scratch.join("exported");
        let (code, _, err) =
            inspect_json(&file, &["--password-file", pw.to_str().unwrap(), "--export-files", &s("exported")]);
        assert!(code == 0 && err.contains("files rebuilt"), "{mode:?}: exit {code}: {err}");
        let manifest: Vec<Value> = std::fs::read_to_string(out.join("manifest.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for (name, bytes) in &originals {
            let path = format!("127.0.0.1/{}/{name}", smbd.share);
            let rebuilt =
                std::fs::read(out.join(&path)).unwrap_or_else(|e| panic!("{mode:?} {path}: {e}\n{manifest:?}"));
            assert!(rebuilt == *bytes, "{mode:?} {path}: {} bytes rebuilt of {}", rebuilt.len(), bytes.len());
            let entry = manifest.iter().find(|m| m["path"] == path.as_str()).expect("in the manifest");
            assert_eq!(entry["size"], bytes.len(), "{mode:?}: {entry}");
            assert_eq!(entry["holes"], serde_json::json!([]), "{mode:?}: {entry}");
            assert_eq!(entry["sha256"].as_str().map(str::len), Some(64), "{entry}");
        }
    }
}

/// A session bound to a second connection (smbtorture's `smb2.session.bind1` against smbd,
/// SMB 3.1.1 and 3.0): the bound channel's signing key is derived from the session's key and
/// that channel's own preauth hash, so every signature on both connections verifies with the
/// user's password alone.
#[test]
fn a_channel_bound_to_a_session_verifies() {
    if keyless_testbed::require(&["tshark", "dumpcap", "smbtorture"]).is_none() {
        return;
    }
    for mode in [SmbMode::Only("SMB3_11"), SmbMode::Only("SMB3_00")] {
        let scratch = ScratchDir::new("inspect-multichannel");
        let Some(smbd) = Smbd::start(&scratch, mode, None) else { return };
        let rec = Dumpcap::start(&scratch, "bind", &format!("tcp port {}", smbd.port)).unwrap();
        let out = Command::new("smbtorture")
            .args([&format!("//127.0.0.1/{}", smbd.share), "-p", &smbd.port.to_string()])
            .args(["-U", &format!("{}%{}", smbd.user, smbd.password), "smb2.session.bind1"])
            .output()
            .unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && said.contains("success: bind1"), "{mode:?}: {said}");
        let file = keyless_testbed::with_port(&rec.stop(), smbd.port, 445);
        let pw = scratch.join("pw");
        std::fs::write(&pw, format!("{}\n", smbd.password)).unwrap();
        let (code, records, err) = inspect_json(&file, &["--password-file", pw.to_str().unwrap()]);
        assert!(code == 0, "{mode:?}: {err}");
        let binding = records
            .iter()
            .find(|r| r["kind"] == "SESSION_SETUP request" && r["fields"]["setup_flags"] == 1)
            .unwrap_or_else(|| panic!("{mode:?}: no binding SESSION_SETUP"));
        let bound = &binding["connection"];
        let checks = |on_bound: bool| -> Vec<&Value> {
            records
                .iter()
                .filter(|r| (r["connection"] == *bound) == on_bound)
                .filter_map(|r| r["fields"].get("signature_check"))
                .collect()
        };
        for on_bound in [false, true] {
            let c = checks(on_bound);
            assert!(
                !c.is_empty() && c.iter().all(|c| *c == "good"),
                "{mode:?}, bound channel {on_bound}: {c:?}\n{err}"
            );
        }
    }
}

/// MIT kinit and kvno through Debian's python3-kdcproxy over HTTPS, the proxy writing its TLS
/// key log (the test harness sets Python's `keylog_filename`): with that log inspect opens the
/// HTTPS and shows the AS and TGS exchanges inside the KDC-PROXY-MESSAGEs, the same messages,
/// in the same order, as the proxy's TCP leg to the KDC carries. Without the log it says the
/// records did not open.
#[test]
fn kerberos_inside_a_kdc_proxys_https() {
    for tls12 in [false, true] {
        kerberos_inside_https(tls12);
    }
}

/// The test above with TLS 1.3 (what Python and MIT's k5tls agree on) or 1.2.
fn kerberos_inside_https(tls12: bool) {
    if keyless_testbed::require(&["dumpcap", "kinit", "kvno"]).is_none() {
        return;
    }
    let Some(kdc) = MitKdc::start() else { return };
    let realms = [("EXAMPLE.TEST", kdc.realms[0].port)];
    let Some(proxy) = keyless_testbed::PyKdcProxy::start_with(&kdc.dir, &realms, tls12) else { return };
    let proxy_port = proxy.url.split(':').nth(2).unwrap().split('/').next().unwrap().to_string();
    let kdc_port = kdc.realms[0].port.to_string();
    let conf = kdc.dir.join("krb5-https.conf");
    std::fs::write(
        &conf,
        format!(
            "[libdefaults]\n default_realm = EXAMPLE.TEST\n dns_lookup_kdc = false\n rdns = false\n\
             [realms]\n EXAMPLE.TEST = {{\n  kdc = {}\n  http_anchors = FILE:{}\n }}\n",
            proxy.url,
            proxy.cert.ca.display()
        ),
    )
    .unwrap();
    let rec = Dumpcap::start(&kdc.dir, "kkdcp", &format!("tcp port {proxy_port} or port {kdc_port}")).unwrap();
    let cc = format!("FILE:{}", kdc.dir.join("cc-https").display());
    let env = [("KRB5_CONFIG", conf.as_os_str())];
    let out = common::run("kinit", &["-c", &cc, &kdc.user], env, &format!("{}\n", kdc.password));
    assert!(out.status.success(), "MIT kinit through the proxy: {}", String::from_utf8_lossy(&out.stderr));
    let out = common::run("kvno", &["-c", &cc, &kdc.service], env, "");
    assert!(out.status.success(), "MIT kvno through the proxy: {}", String::from_utf8_lossy(&out.stderr));
    let file = rec.stop();

    let keylog = proxy.keylog.to_str().unwrap();
    let args = ["--tls-keylog", keylog, "--kkdcp-port", &proxy_port, "--kerberos-port", &kdc_port];
    let (code, records, err) = inspect_json(&file, &args);
    assert!(code == 0, "exit {code}: {err}");
    let shut: Vec<&Value> = records.iter().filter(|r| r["fields"]["not_decrypted"].is_string()).collect();
    assert!(shut.is_empty(), "{shut:?}");
    let version = if tls12 { "1.2" } else { "1.3" };
    assert!(records.iter().any(|r| r["fields"]["tls_version"] == version), "TLS {version}");
    // (kind, direction) of each Kerberos message, inside the HTTPS and on the KDC leg.
    let kerberos = |inside: bool| -> Vec<String> {
        records
            .iter()
            .filter(|r| r["protocol"] == "kerberos" && (r["fields"]["carried_in"] == "KKDCP") == inside)
            .map(|r| format!("{} {}", r["kind"], r["direction"]))
            .collect()
    };
    let (https, tcp) = (kerberos(true), kerberos(false));
    assert!(
        https.iter().any(|k| k.starts_with("\"AS-REP\"")) && https.iter().any(|k| k.starts_with("\"TGS-REP\"")),
        "{https:?}"
    );
    assert_eq!(https, tcp, "the messages inside the HTTPS are those on the KDC leg");
    // The same messages to the byte: what the KDC leg carried, the HTTPS did.
    let nonces = |inside: bool| -> Vec<String> {
        records
            .iter()
            .filter(|r| r["protocol"] == "kerberos" && (r["fields"]["carried_in"] == "KKDCP") == inside)
            .map(|r| r["fields"]["nonce"].to_string())
            .collect()
    };
    assert_eq!(nonces(true), nonces(false));

    // Without the key log: nothing opens, and inspect says so.
    let mut wrong = proxy.keylog.clone();
    wrong.set_extension("other");
    std::fs::write(&wrong, format!("CLIENT_RANDOM {} {}\n", "00".repeat(32), "11".repeat(48))).unwrap();
    let (_, shut, _) = inspect_json(&file, &["--tls-keylog", wrong.to_str().unwrap(), "--kkdcp-port", &proxy_port]);
    assert!(shut.iter().any(|r| r["fields"]["not_decrypted"].is_string()), "records that did not open are said to");
    assert!(!shut.iter().any(|r| r["fields"]["carried_in"] == "KKDCP"));
}

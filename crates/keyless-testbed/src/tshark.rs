//! tshark (Debian) as the judge of what keyless encodes: frames go into a pcap through
//! `text2pcap` (TCP to port 445, so tshark dissects NBSS then SMB2 by itself), and tshark
//! reports fields and malformed packets.

use crate::{ScratchDir, require, run};
use std::fmt::Write as _;
use std::process::Command;

/// What tshark said about a capture.
#[derive(Debug)]
pub struct Dissection {
    /// Packets tshark flagged `_ws.malformed`.
    pub malformed: usize,
    /// One line per packet: the requested fields, tab-separated.
    pub fields: Vec<String>,
    /// tshark's full verbose text (for failure messages).
    pub verbose: String,
}

/// Dissects Direct-TCP frames (each with its 4-byte header) sent to port 445, asking for `fields`.
pub fn dissect(scratch: &ScratchDir, frames: &[Vec<u8>], fields: &[&str]) -> Option<Dissection> {
    require(&["tshark", "text2pcap"])?;
    let mut dump = String::new();
    for frame in frames {
        hex_dump(frame, &mut dump);
    }
    let hex = scratch.join("frames.txt");
    let pcap = scratch.join("frames.pcap");
    std::fs::write(&hex, dump).unwrap();
    run(Command::new("text2pcap").args(["-q", "-4", "127.0.0.1,127.0.0.1", "-T", "50000,445"]).arg(&hex).arg(&pcap));
    let pcap_s = pcap.to_str().unwrap();
    let mut args = vec!["-r", pcap_s, "-T", "fields"];
    for f in fields {
        args.extend(["-e", f]);
    }
    let out = Command::new("tshark").args(&args).output().unwrap();
    let fields = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    let malformed = Command::new("tshark")
        .args(["-r", pcap_s, "-Y", "_ws.malformed || _ws.expert.severity == error"])
        .output()
        .unwrap();
    let verbose = Command::new("tshark").args(["-r", pcap_s, "-V"]).output().unwrap();
    Some(Dissection {
        malformed: String::from_utf8_lossy(&malformed.stdout).lines().count(),
        fields,
        verbose: String::from_utf8_lossy(&verbose.stdout).into_owned(),
    })
}

/// tshark's `fields` of the packets of the capture at `path` that `filter` selects, one row
/// per packet (repeated fields joined by commas); `options` go before (`-d` decode-as, `-o`
/// preferences such as session keys). Out-of-order segments are reassembled, which tshark
/// does not do by default: dumpcap on loopback with two CPUs records a segment after the one
/// that followed it now and then, and tshark would then miss the message they complete.
pub fn fields_of(path: &std::path::Path, options: &[String], filter: &str, fields: &[&str]) -> Vec<String> {
    fields_in(path, None, options, filter, fields)
}

/// [`fields_of`] with `config_dir` as tshark's personal configuration (WIRESHARK_CONFIG_DIR):
/// its `preferences` and UAT files (`smb2_seskey_list`, ...) instead of the user's.
pub fn fields_with_config(
    path: &std::path::Path,
    config_dir: &std::path::Path,
    filter: &str,
    fields: &[&str],
) -> Vec<String> {
    fields_in(path, Some(config_dir), &[], filter, fields)
}

fn fields_in(
    path: &std::path::Path,
    config_dir: Option<&std::path::Path>,
    options: &[String],
    filter: &str,
    fields: &[&str],
) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    if let Some(dir) = config_dir {
        cmd.env("WIRESHARK_CONFIG_DIR", dir);
    }
    cmd.arg("-r").arg(path).args(["-o", "tcp.reassemble_out_of_order:TRUE"]).args(options);
    cmd.args(["-Y", filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// `bytes` as text2pcap reads a packet: offset, then 16 hex bytes a line.
fn hex_dump(bytes: &[u8], dump: &mut String) {
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(dump, "{:06x}", i * 16);
        for b in chunk {
            let _ = write!(dump, " {b:02x}");
        }
        dump.push('\n');
    }
}

/// Writes SMB2/3 messages as one Direct TCP conversation into a pcap at `path` with
/// text2pcap: client 10.0.0.2:50000, server 10.0.0.1:445, each message (its NBSS header
/// added) one packet in its direction (`true`: to the server). `None` without text2pcap.
pub fn write_conversation(scratch: &ScratchDir, messages: &[(bool, &[u8])], path: &std::path::Path) -> Option<()> {
    require(&["text2pcap"])?;
    let mut dump = String::new();
    for (to_server, message) in messages {
        let len = u32::try_from(message.len()).ok().filter(|&n| n < 1 << 24)?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(message);
        // text2pcap -D: "I" packets go from the -T source port to the destination port.
        dump.push_str(if *to_server { "I\n" } else { "O\n" });
        hex_dump(&framed, &mut dump);
    }
    let hex = scratch.join("conversation.txt");
    std::fs::write(&hex, dump).ok()?;
    run(Command::new("text2pcap").args(["-q", "-D", "-4", "10.0.0.2,10.0.0.1", "-T", "50000,445"]).arg(&hex).arg(path));
    Some(())
}

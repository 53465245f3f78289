//! SMB2/3 frames out of captures for the tests: keyless-capture's reader on one SMB port,
//! frames per connection in capture order, connections one after another. The public
//! captures are checked against tshark here (the reader's own tests are synthetic).

pub use keyless_capture::{Capture, Connection, Message as SmbFrame};
use std::path::Path;

/// The `.pcap` and `.pcapng` files in `dir`, sorted (none when it does not exist).
pub fn capture_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The NBSS frames of the TCP connections with `server_port` (445 for Direct TCP) in a capture.
pub fn smb_frames(path: &Path, server_port: u16) -> Result<Vec<SmbFrame<'static>>, String> {
    read_capture(path, server_port).map(|c| c.messages)
}

/// Reads a pcap or pcapng file: SMB on `server_port` only, messages grouped by connection.
pub fn read_capture(path: &Path, server_port: u16) -> Result<Capture, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut capture = keyless_capture::parse(&bytes, &keyless_capture::Ports::smb_only(server_port))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    capture.messages.sort_by_key(|m| m.connection);
    Ok(capture)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tshark::fields_of;
    use std::path::PathBuf;
    use std::process::Command;

    /// Our committed Samba captures, and the public ones kept beside the repository in
    /// `../shared/captures/public-smb2` when the workspace has them (third-party data, not
    /// committed; see testdata/SOURCES.md).
    fn public_captures() -> Vec<PathBuf> {
        let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let mut files = capture_files(&root.join("testdata/captures/samba"));
        assert!(!files.is_empty(), "no captures in testdata/captures/samba");
        files.extend(capture_files(&root.join("../shared/captures/public-smb2")));
        files
    }

    fn magic(f: &SmbFrame) -> [u8; 4] {
        f.payload.get(..4).and_then(|m| m.try_into().ok()).unwrap_or_default()
    }

    const SMB2: [u8; 4] = *b"\xfeSMB";
    const TRANSFORM: [u8; 4] = *b"\xfdSMB";
    const COMPRESSED: [u8; 4] = *b"\xfcSMB";
    const SMB1: [u8; 4] = *b"\xffSMB";

    #[test]
    fn public_captures_yield_smb2_frames() {
        for path in public_captures() {
            let cap = read_capture(&path, 445).unwrap();
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(!cap.messages.is_empty(), "{name}: no frames; notes {:?}", cap.notes);
            let mut counts = [0usize; 4];
            for f in &cap.messages {
                match magic(f) {
                    SMB2 => counts[0] += 1,
                    TRANSFORM => counts[1] += 1,
                    COMPRESSED => counts[2] += 1,
                    // SMB1 only as the multi-protocol NEGOTIATE that starts an SMB2 connection.
                    SMB1 => {
                        assert_eq!(f.payload.get(4), Some(&0x72), "{name}: SMB1 other than NEGOTIATE");
                        counts[3] += 1;
                    }
                    m => panic!("{name}: frame {} of connection {} starts {m:02x?}", f.index, f.connection),
                }
            }
            assert!(counts[0] > 0, "{name}: no SMB2 header at all");
            eprintln!(
                "{name}: {} connection(s), {} frame(s): SMB2 {} transform {} compressed {} SMB1 negotiate {}; notes {:?}",
                cap.connections.len(),
                cap.messages.len(),
                counts[0],
                counts[1],
                counts[2],
                counts[3],
                cap.notes
            );
        }
    }

    /// tshark's count of NBSS session messages on port 445, split into SMB1 and the rest.
    fn tshark_counts(path: &Path) -> (usize, usize) {
        let nbss = fields_of(path, &[], "nbss && tcp.port == 445", &["nbss.type"]);
        let messages = nbss.iter().flat_map(|row| row.split(',')).filter(|t| *t == "0x00").count();
        let smb1 = fields_of(path, &[], "smb && tcp.port == 445", &["smb.server_component"]);
        let smb1 = smb1.iter().flat_map(|row| row.split(',')).filter(|t| !t.is_empty()).count();
        (messages - smb1, smb1)
    }

    /// Per packet, as tshark prints `frame.number smb2.cmd smb2.msg_id smb2.header.transform.msg_size`:
    /// every SMB2 header of every compound in the frames that packet completed, and the
    /// original size named by each transform header.
    fn our_summary(cap: &Capture) -> Vec<String> {
        let le = |b: &[u8], at: usize, n: usize| -> u64 {
            b.get(at..at + n).map_or(u64::MAX, |s| s.iter().rev().fold(0, |acc, &x| (acc << 8) | u64::from(x)))
        };
        // (packet, commands, message ids, transform sizes)
        type Row = (usize, Vec<String>, Vec<String>, Vec<String>);
        let mut rows: Vec<Row> = Vec::new();
        // tshark goes packet by packet; we go connection by connection.
        let mut frames: Vec<&SmbFrame> = cap.messages.iter().collect();
        frames.sort_by_key(|f| f.packet);
        for f in frames {
            let (cmds, ids, sizes) = match rows.last_mut() {
                Some(r) if r.0 == f.packet => (&mut r.1, &mut r.2, &mut r.3),
                _ => {
                    rows.push((f.packet, Vec::new(), Vec::new(), Vec::new()));
                    let r = rows.last_mut().unwrap();
                    (&mut r.1, &mut r.2, &mut r.3)
                }
            };
            match magic(f) {
                SMB2 => {
                    let mut at = 0usize;
                    loop {
                        let h = &f.payload[at..];
                        cmds.push(le(h, 12, 2).to_string());
                        ids.push(le(h, 24, 8).to_string());
                        match le(h, 20, 4) {
                            0 => break,
                            next => at += next as usize,
                        }
                        assert!(at < f.payload.len(), "packet {}: compound runs past its frame", f.packet);
                    }
                }
                TRANSFORM | COMPRESSED => {
                    sizes.push(le(&f.payload, if magic(f) == TRANSFORM { 36 } else { 4 }, 4).to_string())
                }
                _ => {}
            }
        }
        rows.into_iter()
            .filter(|r| !r.1.is_empty() || !r.3.is_empty())
            .map(|(p, c, i, s)| format!("{p}\t{}\t{}\t{}", c.join(","), i.join(","), s.join(",")))
            .collect()
    }

    /// Frame counts match tshark's, and every SMB2 header (command and message id) and transform
    /// lands in the same packet as tshark dissects it in.
    #[test]
    fn public_captures_agree_with_tshark() {
        if crate::require(&["tshark"]).is_none() {
            return;
        }
        for path in public_captures() {
            let cap = read_capture(&path, 445).unwrap();
            let ours_smb1 = cap.messages.iter().filter(|f| magic(f) == SMB1).count();
            let ours = cap.messages.len() - ours_smb1;
            let (theirs, theirs_smb1) = tshark_counts(&path);
            let name = path.file_name().unwrap().to_string_lossy();
            eprintln!("{name}: SMB2/3 frames ours {ours} tshark {theirs}; SMB1 ours {ours_smb1} tshark {theirs_smb1}");
            assert_eq!((ours, ours_smb1), (theirs, theirs_smb1), "{name}: notes {:?}", cap.notes);
            let fields = ["frame.number", "smb2.cmd", "smb2.msg_id", "smb2.header.transform.msg_size"];
            let theirs = fields_of(&path, &[], "smb2 && tcp.port == 445", &fields);
            let ours = our_summary(&cap);
            let first_diff = ours.iter().zip(&theirs).position(|(a, b)| a != b);
            assert!(
                first_diff.is_none() && ours.len() == theirs.len(),
                "{name}: packet summaries differ at row {first_diff:?} (ours {} rows, tshark {}):\nours   {:?}\ntshark {:?}",
                ours.len(),
                theirs.len(),
                first_diff.and_then(|i| ours.get(i)),
                first_diff.and_then(|i| theirs.get(i)),
            );
        }
    }

    /// The same packets rewritten by editcap as nanosecond pcap and as pcapng give the same frames.
    #[test]
    fn public_captures_survive_editcap_conversion() {
        if crate::require(&["editcap"]).is_none() {
            return;
        }
        let scratch = crate::ScratchDir::new("pcap");
        for path in public_captures() {
            let want = smb_frames(&path, 445).unwrap();
            for format in ["nsecpcap", "pcapng", "pcap"] {
                let out = scratch.join(&format!("converted.{format}"));
                crate::run(Command::new("editcap").args(["-F", format]).arg(&path).arg(&out));
                let got = smb_frames(&out, 445).unwrap();
                assert!(got == want, "{} as {format}: frames differ", path.display());
            }
        }
    }
}

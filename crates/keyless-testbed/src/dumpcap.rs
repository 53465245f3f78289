//! Recording loopback traffic with Wireshark's dumpcap (needs root or the capture
//! capabilities; CI runs as root), stopped by PID.

use crate::ScratchDir;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A dumpcap recording on `lo`.
#[derive(Debug)]
pub struct Dumpcap {
    process: Child,
    /// The pcapng file it writes.
    pub file: PathBuf,
}

impl Dumpcap {
    /// Starts recording what matches the capture `filter` (BPF, e.g. `tcp port 4455`) into
    /// `name`.pcapng in `scratch`; returns once dumpcap has written its file header.
    pub fn start(scratch: &ScratchDir, name: &str, filter: &str) -> Option<Self> {
        crate::require(&["dumpcap"])?;
        let file = scratch.join(&format!("{name}.pcapng"));
        let process = Command::new("dumpcap")
            // A big kernel buffer: loopback bursts of 64 KiB segments overrun the default 2 MiB.
            .args(["-q", "-i", "lo", "-B", "256", "-f", filter, "-w"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dumpcap");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&file).map_or(0, |m| m.len()) == 0 {
            assert!(Instant::now() < deadline, "dumpcap wrote nothing in 10 s (root needed)");
            std::thread::sleep(Duration::from_millis(50));
        }
        // The file header is out before the capture filter is live.
        std::thread::sleep(Duration::from_millis(300));
        Some(Self { process, file })
    }

    /// Lets the last packets land, stops dumpcap (SIGTERM by PID) and returns the file.
    pub fn stop(mut self) -> PathBuf {
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").arg(self.process.id().to_string()).status();
        let _ = self.process.wait();
        self.file.clone()
    }
}

impl Drop for Dumpcap {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A copy of a dumpcap file (pcapng, IPv4 on `lo`) with TCP port `from` rewritten to `to` in
/// both directions, checksums left alone (tshark does not check them by default). tshark
/// reads the 24-bit Direct TCP length only on port 445; on another port, "decode as" NBSS
/// takes NetBIOS's 17-bit length and loses frames above 128 KiB, so recordings of a
/// loopback smbd are compared on 445.
pub fn with_port(file: &std::path::Path, from: u16, to: u16) -> PathBuf {
    let mut bytes = std::fs::read(file).expect("capture");
    let mut off = 0usize;
    let le32 = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(bytes.get(8..12), Some(&[0x4D, 0x3C, 0x2B, 0x1A][..]), "a little-endian pcapng from dumpcap");
    while off + 12 <= bytes.len() {
        let (kind, len) = (le32(&bytes, off), le32(&bytes, off + 4));
        // Enhanced packet blocks; the packet at +28: Ethernet (lo), IPv4, TCP. A block cut
        // short (dumpcap stopped mid-write) is left as it is.
        let ip = off + 28 + 14;
        let whole = off + len <= bytes.len() && ip + 20 <= off + len;
        if kind == 6 && whole && bytes[ip - 2..ip] == [0x08, 0x00] && bytes[ip + 9] == 6 {
            let tcp = ip + usize::from(bytes[ip] & 0x0F) * 4;
            for at in [tcp, tcp + 2].into_iter().filter(|at| at + 2 <= off + len) {
                if bytes[at..at + 2] == from.to_be_bytes() {
                    bytes[at..at + 2].copy_from_slice(&to.to_be_bytes());
                }
            }
        }
        off += len.max(12);
    }
    let out = file.with_extension(format!("port{to}.pcapng"));
    std::fs::write(&out, bytes).expect("rewritten capture");
    out
}

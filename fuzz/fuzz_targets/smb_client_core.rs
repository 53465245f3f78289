//! The SMB client's sans-IO core against a hostile server: a recorded smbclient session brings
//! it to some state (the first byte says how far), then the rest is server frames, signed with
//! the session's key when there is one so they reach past the signature check. An answer, an
//! error or a reconnection, never a panic.
#![no_main]

use keyless_client::fuzzing::{PlainFrame, hostile_server, open_recording};
use std::sync::OnceLock;

fn recording() -> &'static [PlainFrame] {
    static RECORDING: OnceLock<Vec<PlainFrame>> = OnceLock::new();
    RECORDING.get_or_init(|| {
        let pcap = include_bytes!("../../testdata/captures/samba/smbclient-smbd-signed.pcap");
        let capture = keyless_capture::parse(pcap, &keyless_capture::Ports::smb_only(445)).expect("the capture");
        let frames: Vec<(bool, Vec<u8>)> =
            capture.messages.into_iter().map(|m| (m.to_server, m.payload.into_owned())).collect();
        open_recording(&frames, "alice-Passw0rd").expect("the recording opens")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| hostile_server(recording(), data));

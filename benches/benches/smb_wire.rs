//! SMB2 wire decoding, keyless-smb against smb-rs's `smb-msg` (binrw) on the same bytes in the
//! same run: the 64-byte header, and a READ response carrying 1 MiB (keyless returns the data as
//! a range of the frame; smb-rs reads it into its own buffer).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "benchmarks fail loudly")]

use binrw::BinRead;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keyless_smb::header::{Header, HeaderFields};
use keyless_smb::read_write::ReadResponse;
use keyless_smb::{Command, NtStatus};
use std::hint::black_box;
use std::io::Cursor;

fn header_bytes() -> Vec<u8> {
    let mut m = Vec::new();
    HeaderFields {
        credit_charge: 1,
        status: NtStatus::SUCCESS,
        command: Command::READ,
        credits: 32,
        flags: 1 | 8,
        message_id: 4242,
        async_or_tree: 5 << 32,
        session_id: 0x1122_3344_5566_7788,
        ..Default::default()
    }
    .encode(&mut m);
    m
}

fn header_decode(c: &mut Criterion) {
    let bytes = header_bytes();
    let mut group = c.benchmark_group("smb_wire/header_decode");
    group.bench_function(BenchmarkId::new("header", "keyless"), |b| {
        b.iter(|| {
            let h = Header::parse(black_box(&bytes)).unwrap();
            (h.command(), h.message_id(), h.session_id(), h.status(), h.credits())
        })
    });
    group.bench_function(BenchmarkId::new("header", "smb-rs"), |b| {
        b.iter(|| {
            let h = smb_msg::Header::read(&mut Cursor::new(black_box(&bytes[..]))).unwrap();
            (h.message_id, h.session_id, h.credit_request)
        })
    });
    // Both read the same fields.
    let theirs = smb_msg::Header::read(&mut Cursor::new(&bytes[..])).unwrap();
    let ours = Header::parse(&bytes).unwrap();
    assert_eq!((theirs.message_id, theirs.session_id), (ours.message_id(), ours.session_id()));
    group.finish();
}

fn read_response(c: &mut Criterion) {
    let data = vec![0x5au8; 1 << 20];
    let mut msg = Vec::new();
    ReadResponse::encode(&data, &HeaderFields { flags: 1, ..HeaderFields::request(Command::READ, 7, 1, 1) }, &mut msg)
        .unwrap();
    let mut group = c.benchmark_group("smb_wire/read_response_1m");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function(BenchmarkId::new("frame", "keyless"), |b| {
        b.iter(|| {
            let _h = Header::parse(black_box(&msg)).unwrap();
            let r = ReadResponse::parse(&msg).unwrap();
            msg[r.data].len()
        })
    });
    group.bench_function(BenchmarkId::new("frame", "smb-rs"), |b| {
        b.iter(|| {
            let r = smb_msg::PlainResponse::read(&mut Cursor::new(black_box(&msg[..]))).unwrap();
            r.header.message_id
        })
    });
    group.finish();
}

criterion_group!(benches, header_decode, read_response);
criterion_main!(benches);

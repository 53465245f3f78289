//! SMB2 wire codec, keyless-smb against smb-rs's `smb-msg` (binrw) on the same bytes in the same
//! run: the 64-byte header; a READ response carrying 1 MiB (keyless returns the data as a slice
//! of the frame, smb-rs reads it into its own buffer); a QUERY_DIRECTORY response of 60
//! FileIdBothDirectoryInformation entries (name and size of each read); and the encoding of a
//! 3-request compound (CREATE + QUERY_INFO + CLOSE, linked and padded).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "benchmarks fail loudly")]

use binrw::{BinRead, BinWrite};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keyless_smb::Message;
use keyless_smb::compound::CompoundBuilder;
use keyless_smb::control::CloseRequest;
use keyless_smb::create::{CreateRequest, Disposition, access};
use keyless_smb::header::{Header, HeaderFields, flags};
use keyless_smb::info::{FileInfoClass, InfoType, QueryInfoRequest};
use keyless_smb::query_directory::{DirectoryClass, DirectoryInfo, QueryDirectoryResponse, entries};
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

fn response_header(command: Command, id: u64) -> HeaderFields {
    HeaderFields { flags: flags::SERVER_TO_REDIR, ..HeaderFields::request(command, id, 1, 1) }
}

fn read_response(c: &mut Criterion) {
    let data = vec![0x5au8; 1 << 20];
    let msg = ReadResponse { data_offset: 0x50, data_remaining: 0, data: &data }
        .to_vec(&response_header(Command::READ, 7))
        .unwrap();
    let mut group = c.benchmark_group("smb_wire/read_response_1m");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function(BenchmarkId::new("frame", "keyless"), |b| {
        b.iter(|| {
            let _h = Header::parse(black_box(&msg)).unwrap();
            ReadResponse::parse(&msg).unwrap().data.len()
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

fn query_directory_60(c: &mut Criterion) {
    let infos: Vec<DirectoryInfo> = (0..60)
        .map(|i| DirectoryInfo {
            file_index: 0,
            times: [0x01db_4bc8_bf91_7539; 4],
            end_of_file: 1000 + i,
            allocation_size: 4096,
            file_attributes: 0x20,
            short_name: String::new(),
            file_id: 0x1_0000 + i,
            file_name: format!("report-{i:03}-quarterly-figures.xlsx"),
            ..Default::default()
        })
        .collect();
    let mut output = Vec::new();
    DirectoryInfo::encode_all(&infos, DirectoryClass::ID_BOTH_DIRECTORY, &mut output).unwrap();
    let msg = QueryDirectoryResponse { output: &output }.to_vec(&response_header(Command::QUERY_DIRECTORY, 9)).unwrap();

    // Both see the same 60 entries.
    let theirs = smb_msg::PlainResponse::read(&mut Cursor::new(&msg[..])).unwrap();
    let smb_msg::ResponseContent::QueryDirectory(qd) = theirs.content else { panic!("not a QUERY_DIRECTORY") };
    let listed = qd.read_output::<smb_fscc::FileIdBothDirectoryInformation>().unwrap();
    assert_eq!(listed.len(), 60);
    assert_eq!(listed[59].end_of_file, 1059);

    let mut group = c.benchmark_group("smb_wire/query_directory_60");
    group.throughput(Throughput::Elements(60));
    group.bench_function(BenchmarkId::new("entries", "keyless"), |b| {
        b.iter(|| {
            let r = QueryDirectoryResponse::parse(black_box(&msg)).unwrap();
            let mut total = 0u64;
            for e in entries(r.output, DirectoryClass::ID_BOTH_DIRECTORY).unwrap() {
                let e = e.unwrap();
                total += e.end_of_file() + e.file_name_utf16().len() as u64;
            }
            total
        })
    });
    group.bench_function(BenchmarkId::new("entries", "smb-rs"), |b| {
        b.iter(|| {
            let r = smb_msg::PlainResponse::read(&mut Cursor::new(black_box(&msg[..]))).unwrap();
            let smb_msg::ResponseContent::QueryDirectory(qd) = r.content else { unreachable!() };
            let list = qd.read_output::<smb_fscc::FileIdBothDirectoryInformation>().unwrap();
            list.iter().map(|e| e.end_of_file + e.file_name.len() as u64).sum::<u64>()
        })
    });
    group.finish();
}

fn compound_encode(c: &mut Criterion) {
    let create = CreateRequest {
        impersonation_level: 2,
        desired_access: access::READ_ATTRIBUTES | access::SYNCHRONIZE,
        share_access: 7,
        create_disposition: Disposition::OPEN,
        name: "projects\\2026\\report.docx".into(),
        ..Default::default()
    };
    let query = QueryInfoRequest {
        info_type: InfoType::FILE,
        info_class: FileInfoClass::ALL.0,
        output_buffer_length: 4096,
        file_id: [0xff; 16],
        ..Default::default()
    };
    let close = CloseRequest { flags: 1, file_id: [0xff; 16] };
    let related = HeaderFields { flags: flags::RELATED_OPERATIONS, ..HeaderFields::request(Command::CREATE, 0, 5, 6) };
    let encode = |out: &mut Vec<u8>| {
        CompoundBuilder::new(out)
            .push(&create, &HeaderFields::request(Command::CREATE, 20, 5, 6))
            .unwrap()
            .push(&query, &HeaderFields { message_id: 21, ..related })
            .unwrap()
            .push(&close, &HeaderFields { message_id: 22, ..related })
            .unwrap();
    };
    let mut ours = Vec::new();
    encode(&mut ours);

    // smb-rs gets the same three requests, decoded from our bytes, and writes them the way its
    // connection does: each message with binrw, padded to 8, NextCommand set.
    let theirs: Vec<smb_msg::PlainRequest> = keyless_smb::compound::messages(&ours)
        .map(|m| {
            let mut cut = m.unwrap().to_vec();
            cut[20..24].copy_from_slice(&[0; 4]);
            smb_msg::PlainRequest::read(&mut Cursor::new(&cut[..])).unwrap()
        })
        .collect();
    let encode_theirs = |msgs: &mut [smb_msg::PlainRequest]| {
        let mut out = Cursor::new(Vec::with_capacity(512));
        let n = msgs.len();
        for (i, m) in msgs.iter_mut().enumerate() {
            let start = out.position();
            m.header.next_command = 0;
            m.write(&mut out).unwrap();
            if i + 1 < n {
                let end = out.position().next_multiple_of(8);
                out.get_mut().resize(end as usize, 0);
                out.set_position(end);
                let next = (end - start) as u32;
                out.get_mut()[start as usize + 20..start as usize + 24].copy_from_slice(&next.to_le_bytes());
            }
        }
        out.into_inner()
    };
    let mut msgs = theirs;
    // The bytes differ in what MS-SMB2 leaves free (smb-rs points empty buffers' offsets at the
    // end, and omits the one-byte Buffer of an empty QUERY_INFO input); the messages are the same.
    let their_bytes = encode_theirs(&mut msgs);
    let parts: Vec<&[u8]> = keyless_smb::compound::messages(&their_bytes).map(Result::unwrap).collect();
    assert_eq!(CreateRequest::parse(parts[0]).unwrap(), create);
    assert_eq!(QueryInfoRequest::parse(parts[1]).unwrap(), query);
    assert_eq!(CloseRequest::parse(parts[2]).unwrap(), close);

    let mut group = c.benchmark_group("smb_wire/compound_3_encode");
    group.bench_function(BenchmarkId::new("create+query_info+close", "keyless"), |b| {
        let mut out = Vec::with_capacity(512);
        b.iter(|| {
            out.clear();
            encode(black_box(&mut out));
            out.len()
        })
    });
    group.bench_function(BenchmarkId::new("create+query_info+close", "smb-rs"), |b| {
        b.iter(|| encode_theirs(black_box(&mut msgs)).len())
    });
    group.finish();
}

criterion_group!(benches, header_decode, read_response, query_directory_60, compound_encode);
criterion_main!(benches);

//! decode(encode(x)) == x for every message keyless-smb encodes (proptest), with the encoded
//! length equal to what `body_len` promised, and the fuzz entry points run over each encoding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::change_notify::{ChangeNotifyRequest, ChangeNotifyResponse, FileNotify};
use keyless_smb::compound::{CompoundBuilder, messages};
use keyless_smb::control::*;
use keyless_smb::create::*;
use keyless_smb::error_response::{ErrorContext, ErrorResponse, SymlinkError, encode_error_contexts};
use keyless_smb::header::{Header, HeaderFields};
use keyless_smb::info::*;
use keyless_smb::ioctl::*;
use keyless_smb::lock::{LockElement, LockRequest, LockResponse};
use keyless_smb::negotiate::{
    ContextType, HashAlgorithm, NegotiateContext, NegotiateRequest, NegotiateResponse, parse_compression,
    parse_preauth, parse_rdma_transform,
};
use keyless_smb::oplock::{Break, LeaseBreakAck, LeaseBreakNotification, OplockBreak};
use keyless_smb::query_directory::{
    DirectoryClass, DirectoryInfo, QueryDirectoryRequest, QueryDirectoryResponse, entries,
};
use keyless_smb::read_write::{ReadRequest, ReadResponse, WriteRequest, WriteResponse};
use keyless_smb::session_setup::{SessionSetupRequest, SessionSetupResponse};
use keyless_smb::transform::{ChainedPayload, Compressed, CompressionAlgorithm, TransformHeader};
use keyless_smb::tree_connect::{TreeConnectContext, TreeConnectRequest, TreeConnectResponse};
use keyless_smb::{Command, Dialect, Message, WireError};
use proptest::collection::vec;
use proptest::prelude::*;

fn hdr(mid: u64) -> HeaderFields {
    HeaderFields::request(Command::NEGOTIATE, mid, 0x1122_3344_5566_7788, 9)
}

/// Decodes `bytes` as the type of `_like` (whose lifetime may be longer).
fn parse_as<'a, M: Message<'a>>(_like: &M, bytes: &'a [u8]) -> Result<M, WireError> {
    M::parse(bytes)
}

/// Encodes, checks the size promise, decodes, compares; runs the fuzz entry points over it.
macro_rules! round_trip {
    ($value:expr) => {{
        let value = $value;
        let bytes = value.to_vec(&hdr(5)).unwrap();
        prop_assert_eq!(bytes.len(), 64 + value.body_len());
        prop_assert_eq!(Header::parse(&bytes).unwrap().command(), value_command(&value));
        let back = parse_as(&value, &bytes).unwrap();
        prop_assert_eq!(&back, &value);
        keyless_smb::fuzzing::messages(&bytes);
        keyless_smb::fuzzing::compound(&bytes);
        bytes
    }};
}

fn value_command<'a, M: Message<'a>>(_: &M) -> Command {
    M::COMMAND
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._éü€-]{0,24}(\\\\[a-zA-Z0-9]{1,8}){0,3}"
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

proptest! {
    #[test]
    fn negotiate(mode in any::<u16>(), caps in any::<u32>(), guid in any::<[u8; 16]>(), salt in bytes(40), n in 1usize..6, token in bytes(120), times in any::<[u64; 2]>(), sizes in any::<[u32; 3]>()) {
        let all = [Dialect::SMB_202, Dialect::SMB_21, Dialect::SMB_30, Dialect::SMB_302, Dialect::SMB_311];
        let with_contexts = n == 5;
        let contexts = if with_contexts {
            vec![NegotiateContext::preauth_sha512(&salt), NegotiateContext::id_list(ContextType::ENCRYPTION, &[4, 2]), NegotiateContext::netname("srv.example")]
        } else {
            Vec::new()
        };
        let mut contexts = contexts;
        if with_contexts {
            contexts.extend([NegotiateContext::compression(1, &[2, 4]), NegotiateContext::transport(1), NegotiateContext::rdma_transform(&[1, 2]), NegotiateContext::id_list(ContextType::SIGNING, &[2, 1])]);
            let (hashes, back_salt) = parse_preauth(&contexts[0].data).unwrap();
            prop_assert_eq!((hashes, back_salt), (vec![HashAlgorithm::SHA512.0], &salt[..]));
            prop_assert_eq!(parse_compression(&contexts[3].data).unwrap(), (1, vec![2, 4]));
            prop_assert_eq!(parse_rdma_transform(&contexts[5].data).unwrap(), vec![1, 2]);
        }
        round_trip!(NegotiateRequest { security_mode: mode, capabilities: caps, client_guid: guid, dialects: all[..n].to_vec(), contexts: contexts.clone() });
        let dialect = all[n - 1];
        round_trip!(NegotiateResponse {
            security_mode: mode, dialect, server_guid: guid, capabilities: caps,
            max_transact_size: sizes[0], max_read_size: sizes[1], max_write_size: sizes[2],
            system_time: times[0], server_start_time: times[1], security_buffer: &token,
            contexts: if dialect == Dialect::SMB_311 { contexts } else { Vec::new() },
        });
    }

    #[test]
    fn session_setup_and_tree_connect(flags in any::<u8>(), caps in any::<u32>(), prev in any::<u64>(), token in bytes(300), path in name(), ctx in bytes(30), sflags in any::<u32>(), access in any::<u32>(), ext in any::<bool>()) {
        round_trip!(SessionSetupRequest { flags, security_mode: 1, capabilities: caps, channel: 0, previous_session_id: prev, security_buffer: &token });
        round_trip!(SessionSetupResponse { session_flags: u16::from(flags), security_buffer: &token });
        let path = format!("\\\\server\\{path}");
        let contexts = if ext { vec![TreeConnectContext { kind: keyless_smb::tree_connect::TreeConnectContextType::REMOTED_IDENTITY, data: ctx }] } else { Vec::new() };
        round_trip!(TreeConnectRequest { flags: if ext { 4 } else { 0 }, path, contexts });
        round_trip!(TreeConnectResponse { share_type: keyless_smb::tree_connect::ShareType::DISK, share_flags: sflags, capabilities: caps, maximal_access: access });
    }

    #[test]
    fn small_fixed_messages(id in any::<[u8; 16]>(), flags in any::<u16>(), times in any::<[u64; 4]>(), sizes in any::<[u64; 2]>(), attrs in any::<u32>()) {
        round_trip!(Echo);
        round_trip!(Logoff);
        round_trip!(TreeDisconnect);
        round_trip!(Cancel);
        round_trip!(FlushRequest { file_id: id });
        round_trip!(FlushResponse);
        round_trip!(CloseRequest { flags, file_id: id });
        let attributes = FileAttributes { times, allocation_size: sizes[0], end_of_file: sizes[1], file_attributes: attrs };
        round_trip!(CloseResponse { flags, attributes });
        round_trip!(LockResponse);
        round_trip!(SetInfoResponse);
    }

    #[test]
    fn read_and_write(len in any::<u32>(), off in any::<u64>(), id in any::<[u8; 16]>(), data in bytes(3000), gap in 0u8..40, remaining in any::<u32>()) {
        round_trip!(ReadRequest { padding: 0x50, flags: 0, length: len, offset: off, file_id: id, minimum_count: 1, remaining_bytes: remaining });
        let resp = ReadResponse { data_offset: 0x50 + gap, data_remaining: remaining, data: &data };
        let msg = round_trip!(resp);
        prop_assert_eq!(&msg[resp.data_range()], &data[..]);
        round_trip!(WriteRequest { offset: off, file_id: id, remaining_bytes: remaining, flags: 1, data: &data });
        round_trip!(WriteResponse { count: len, remaining });
    }

    #[test]
    fn create(name in name(), access in any::<u32>(), options in any::<u32>(), disposition in 0u32..6, id in any::<[u8; 16]>(), times in any::<[u64; 4]>(), key in any::<[u8; 16]>(), state in 0u32..8, v2 in any::<bool>(), guid in any::<[u8; 16]>(), extra in bytes(40), with_contexts in any::<bool>()) {
        let lease = Lease { key, state, flags: 0, v2: v2.then_some((guid, 3)) }.to_bytes();
        let dh2q = DurableHandleV2 { timeout: 0, flags: 0, create_guid: guid }.request_bytes();
        let dh2c = DurableHandleReconnectV2 { file_id: id, create_guid: guid, flags: 0 };
        prop_assert_eq!(DurableHandleReconnectV2::parse(&dh2c.to_bytes()).unwrap(), dh2c);
        let contexts = if with_contexts {
            vec![
                CreateContext::new(context_name::MAXIMAL_ACCESS, &[]),
                CreateContext::new(context_name::QUERY_ON_DISK_ID, &[]),
                CreateContext::new(context_name::LEASE, &lease),
                CreateContext::new(context_name::DURABLE_HANDLE_V2, &dh2q),
                CreateContext::new(&guid, &extra),
            ]
        } else {
            Vec::new()
        };
        let req = CreateRequest {
            oplock_level: OplockLevel::LEASE, impersonation_level: 2, desired_access: access, file_attributes: 0x80,
            share_access: 7, create_disposition: keyless_smb::create::Disposition(disposition), create_options: options, name, contexts,
        };
        let msg = round_trip!(req.clone());
        let back = CreateRequest::parse(&msg).unwrap();
        if with_contexts {
            prop_assert_eq!(Lease::parse(back.contexts[2].data).unwrap().v2.is_some(), v2);
            prop_assert_eq!(DurableHandleV2::parse(back.contexts[3].data).unwrap().create_guid, guid);
        }
        let mxac = MaximalAccess { query_status: 0, maximal_access: access }.to_bytes();
        let qfid = OnDiskId { disk_file_id: times[0], volume_id: times[1] }.to_bytes();
        let dh2q_resp = DurableHandleV2 { timeout: 60_000, flags: 0, create_guid: [0; 16] }.response_bytes();
        let resp = CreateResponse {
            oplock_level: keyless_smb::create::OplockLevel::LEASE, flags: 0, create_action: 2,
            attributes: FileAttributes { times, allocation_size: 4096, end_of_file: 10, file_attributes: 0x20 },
            file_id: id,
            contexts: if with_contexts {
                vec![CreateContext::new(context_name::MAXIMAL_ACCESS, &mxac), CreateContext::new(context_name::QUERY_ON_DISK_ID, &qfid), CreateContext::new(context_name::DURABLE_HANDLE_V2, &dh2q_resp)]
            } else {
                Vec::new()
            },
        };
        let msg = round_trip!(resp);
        let back = CreateResponse::parse(&msg).unwrap();
        if with_contexts {
            prop_assert_eq!(MaximalAccess::parse(back.context(context_name::MAXIMAL_ACCESS).unwrap()).unwrap().maximal_access, access);
            prop_assert_eq!(OnDiskId::parse(back.context(b"QFid").unwrap()).unwrap().volume_id, times[1]);
            prop_assert_eq!(DurableHandleV2::parse(back.context(b"DH2Q").unwrap()).unwrap().timeout, 60_000);
        }
    }

    #[test]
    fn lock_ioctl(id in any::<[u8; 16]>(), locks in vec(any::<(u64, u64, u32)>(), 1..5), seq in any::<u32>(), input in bytes(200), output in bytes(200), caps in any::<u32>(), guid in any::<[u8; 16]>()) {
        let locks = locks.into_iter().map(|(offset, length, flags)| LockElement { offset, length, flags }).collect();
        round_trip!(LockRequest { lock_sequence: seq, file_id: id, locks });
        round_trip!(IoctlRequest { ctl_code: CtlCode::PIPE_TRANSCEIVE, file_id: id, max_input_response: 0, max_output_response: 4280, flags: IOCTL_IS_FSCTL, input: &input });
        round_trip!(IoctlResponse { ctl_code: CtlCode::PIPE_TRANSCEIVE, file_id: id, flags: 0, input: &input, output: &output });
        let vni = ValidateNegotiateRequest { capabilities: caps, guid, security_mode: 1, dialects: vec![Dialect::SMB_30, Dialect::SMB_302] };
        prop_assert_eq!(ValidateNegotiateRequest::parse(&vni.to_bytes().unwrap()).unwrap(), vni);
        let vnr = ValidateNegotiateResponse { capabilities: caps, guid, security_mode: 3, dialect: Dialect::SMB_302 };
        prop_assert_eq!(ValidateNegotiateResponse::parse(&vnr.to_bytes()).unwrap(), vnr);
        // DFS referrals: tests/dfs.rs.
    }

    #[test]
    fn directory_and_notify(names in vec(name(), 0..8), id in any::<[u8; 16]>(), times in any::<[u64; 4]>(), pattern in name(), short in "[A-Z0-9~]{0,12}", filter in any::<u32>()) {
        round_trip!(QueryDirectoryRequest { info_class: DirectoryClass::ID_BOTH_DIRECTORY, flags: 1, file_index: 0, file_id: id, pattern, output_buffer_length: 65536 });
        for c in [DirectoryClass::DIRECTORY, DirectoryClass::FULL_DIRECTORY, DirectoryClass::BOTH_DIRECTORY, DirectoryClass::ID_FULL_DIRECTORY, DirectoryClass::ID_BOTH_DIRECTORY, DirectoryClass::NAMES] {
            let infos: Vec<DirectoryInfo> = names.iter().enumerate().map(|(i, n)| DirectoryInfo {
                file_index: i as u32, times, end_of_file: i as u64 * 7, allocation_size: 4096, file_attributes: 0x20,
                ea_size: 0, short_name: short.clone(), file_id: i as u64 + 100, file_name: n.clone(),
            }).collect();
            let mut output = Vec::new();
            DirectoryInfo::encode_all(&infos, c, &mut output).unwrap();
            let msg = round_trip!(QueryDirectoryResponse { output: &output });
            let resp = QueryDirectoryResponse::parse(&msg).unwrap();
            let back: Vec<DirectoryInfo> = entries(resp.output, c).unwrap().map(|e| e.unwrap().to_info().unwrap()).collect();
            let expect: Vec<DirectoryInfo> = infos.iter().map(|i| match c {
                DirectoryClass::NAMES => DirectoryInfo { file_index: i.file_index, file_name: i.file_name.clone(), ..Default::default() },
                DirectoryClass::DIRECTORY => DirectoryInfo { ea_size: 0, short_name: String::new(), file_id: 0, ..i.clone() },
                DirectoryClass::FULL_DIRECTORY => DirectoryInfo { short_name: String::new(), file_id: 0, ..i.clone() },
                DirectoryClass::BOTH_DIRECTORY => DirectoryInfo { file_id: 0, ..i.clone() },
                DirectoryClass::ID_FULL_DIRECTORY => DirectoryInfo { short_name: String::new(), ..i.clone() },
                _ => i.clone(),
            }).collect();
            prop_assert_eq!(back, expect);
        }
        round_trip!(ChangeNotifyRequest { flags: 1, output_buffer_length: 4096, file_id: id, completion_filter: filter });
        let notes: Vec<FileNotify> = names.iter().enumerate().map(|(i, n)| FileNotify { action: i as u32 % 5 + 1, file_name: n.clone() }).collect();
        let mut output = Vec::new();
        FileNotify::encode_all(&notes, &mut output).unwrap();
        let msg = round_trip!(ChangeNotifyResponse { output: &output });
        prop_assert_eq!(FileNotify::parse_all(ChangeNotifyResponse::parse(&msg).unwrap().output).unwrap(), notes);
    }

    #[test]
    fn query_and_set_info(id in any::<[u8; 16]>(), times in any::<[u64; 4]>(), attrs in any::<u32>(), sizes in any::<[u64; 3]>(), links in any::<u32>(), flags in any::<[bool; 2]>(), new_name in name(), sd in bytes(100)) {
        round_trip!(QueryInfoRequest { info_type: InfoType::SECURITY, info_class: 0, output_buffer_length: 4096, additional_information: 7, flags: 0, file_id: id, input: &sd });
        let basic = FileBasicInformation { times, file_attributes: attrs };
        prop_assert_eq!(FileBasicInformation::parse(&basic.to_bytes()).unwrap(), basic);
        let standard = FileStandardInformation { allocation_size: sizes[0], end_of_file: sizes[1], number_of_links: links, delete_pending: flags[0], directory: flags[1] };
        let out = standard.to_bytes();
        let msg = round_trip!(QueryInfoResponse { output: &out });
        prop_assert_eq!(FileStandardInformation::parse(QueryInfoResponse::parse(&msg).unwrap().output).unwrap(), standard);
        let fs = FileFsFullSizeInformation { total_units: sizes[0], caller_available_units: sizes[1], actual_available_units: sizes[2], sectors_per_unit: 8, bytes_per_sector: 512 };
        prop_assert_eq!(FileFsFullSizeInformation::parse(&fs.to_bytes()).unwrap(), fs);
        let rename = FileRenameInformation { replace_if_exists: flags[0], file_name: new_name };
        let buf = rename.to_bytes().unwrap();
        let msg = round_trip!(SetInfoRequest { info_type: InfoType::FILE, info_class: FileInfoClass::RENAME.0, additional_information: 0, file_id: id, buffer: &buf });
        prop_assert_eq!(FileRenameInformation::parse(SetInfoRequest::parse(&msg).unwrap().buffer).unwrap(), rename);
        round_trip!(SetInfoRequest { info_type: InfoType::FILE, info_class: FileInfoClass::END_OF_FILE.0, additional_information: 0, file_id: id, buffer: &end_of_file_info(sizes[0]) });
    }

    #[test]
    fn breaks(id in any::<[u8; 16]>(), key in any::<[u8; 16]>(), level in any::<u8>(), states in any::<[u32; 2]>(), epoch in any::<u16>()) {
        let msg = round_trip!(OplockBreak { oplock_level: keyless_smb::create::OplockLevel(level), file_id: id });
        prop_assert!(matches!(Break::parse(&msg).unwrap(), Break::Oplock(_)));
        let n = LeaseBreakNotification { new_epoch: epoch, flags: 1, lease_key: key, current_state: states[0], new_state: states[1] };
        let msg = round_trip!(n);
        prop_assert_eq!(Break::parse(&msg).unwrap(), Break::LeaseNotification(n));
        let msg = round_trip!(LeaseBreakAck { flags: 0, lease_key: key, state: states[1] });
        prop_assert!(matches!(Break::parse(&msg).unwrap(), Break::LeaseAck(_)));
    }

    #[test]
    fn errors_and_wrappers(data in bytes(64), sub in name(), print in name(), unparsed in any::<u16>(), sig in any::<[u8; 16]>(), nonce in any::<[u8; 16]>(), sid in any::<u64>(), prefix in bytes(40), byte in any::<u8>(), reps in 0u32..5000) {
        // ERROR with contexts, one of them a symbolic link error.
        let link = SymlinkError { unparsed_path_length: unparsed, substitute_name: sub, print_name: print, flags: 1 };
        let mut link_bytes = Vec::new();
        link.encode(&mut link_bytes).unwrap();
        prop_assert_eq!(SymlinkError::parse(&link_bytes).unwrap(), link.clone());
        let contexts = [ErrorContext { error_id: keyless_smb::error_response::ErrorId::DEFAULT, data: &link_bytes }, ErrorContext { error_id: keyless_smb::error_response::ErrorId::SHARE_REDIRECT, data: &data }];
        let mut error_data = Vec::new();
        encode_error_contexts(&contexts, &mut error_data).unwrap();
        let e = ErrorResponse { context_count: 2, error_data: &error_data };
        let mut msg = Vec::new();
        e.encode(&HeaderFields { command: Command::CREATE, flags: 1, ..hdr(3) }, &mut msg).unwrap();
        prop_assert_eq!(msg.len(), 64 + e.body_len());
        let back = ErrorResponse::parse(&msg).unwrap();
        let got: Vec<ErrorContext<'_>> = back.contexts().map(Result::unwrap).collect();
        prop_assert_eq!(&got[..], &contexts[..]);
        prop_assert_eq!(SymlinkError::parse(got[0].data).unwrap(), link);

        // TRANSFORM_HEADER around ciphertext.
        let t = TransformHeader { signature: sig, nonce, original_message_size: data.len() as u32, flags: 1, session_id: sid };
        let mut frame = Vec::new();
        t.encode(&mut frame);
        frame.extend_from_slice(&data);
        let (back, ciphertext) = TransformHeader::parse(&frame).unwrap();
        prop_assert_eq!((back, ciphertext), (t, &data[..]));
        prop_assert_eq!(TransformHeader::aad(&frame).unwrap(), &frame[20..52]);
        keyless_smb::fuzzing::transform(&frame);

        // COMPRESSION_TRANSFORM_HEADER, unchained and chained; a NONE + Pattern_V1 chain decompresses.
        let unchained = Compressed::Unchained { original_size: 4096, algorithm: CompressionAlgorithm::LZ77, prefix: &prefix, compressed: &data };
        let mut frame = Vec::new();
        unchained.encode(&mut frame).unwrap();
        prop_assert_eq!(Compressed::parse(&frame).unwrap(), unchained);
        let pattern = [&[byte, 0, 0, 0][..], &reps.to_le_bytes()].concat();
        let chained = Compressed::Chained {
            original_size: (prefix.len() + reps as usize) as u32,
            payloads: vec![
                ChainedPayload { algorithm: CompressionAlgorithm::NONE, flags: 1, original_payload_size: None, data: &prefix },
                ChainedPayload { algorithm: CompressionAlgorithm::PATTERN_V1, flags: 0, original_payload_size: None, data: &pattern },
            ],
        };
        let mut frame = Vec::new();
        chained.encode(&mut frame).unwrap();
        let back = Compressed::parse(&frame).unwrap();
        prop_assert_eq!(&back, &chained);
        let plain = back.decompress_simple().unwrap();
        prop_assert_eq!(&plain[..prefix.len()], &prefix[..]);
        prop_assert!(plain[prefix.len()..].iter().all(|&b| b == byte));
        keyless_smb::fuzzing::transform(&frame);
    }

    #[test]
    fn compound_of_three(name in name(), id in any::<[u8; 16]>(), n in 1usize..4) {
        // CREATE + QUERY_INFO + CLOSE, related, the way a client stats a file in one round trip.
        let create = CreateRequest { desired_access: access::READ_ATTRIBUTES, share_access: 7, create_disposition: Disposition::OPEN, name, ..Default::default() };
        let query = QueryInfoRequest { info_type: InfoType::FILE, info_class: FileInfoClass::ALL.0, output_buffer_length: 4096, file_id: [0xff; 16], ..Default::default() };
        let close = CloseRequest { flags: 1, file_id: [0xff; 16] };
        let related = HeaderFields { flags: 4, ..hdr(0) };
        let mut frame = Vec::new();
        let mut b = CompoundBuilder::new(&mut frame);
        b.push(&create, &hdr(10)).unwrap();
        if n > 1 { b.push(&query, &HeaderFields { message_id: 11, ..related }).unwrap(); }
        if n > 2 { b.push(&close, &HeaderFields { message_id: 12, ..related }).unwrap(); }
        let lens = [create.to_vec(&hdr(0)).unwrap().len(), query.to_vec(&hdr(0)).unwrap().len(), close.to_vec(&hdr(0)).unwrap().len()];
        prop_assert_eq!(frame.len(), CompoundBuilder::chain_len(lens[..n].iter().copied()));
        // The same chain linked from messages encoded apart is the same bytes.
        let mut apart = vec![create.to_vec(&hdr(10)).unwrap()];
        if n > 1 { apart.push(query.to_vec(&HeaderFields { message_id: 11, ..related }).unwrap()); }
        if n > 2 { apart.push(close.to_vec(&HeaderFields { message_id: 12, ..related }).unwrap()); }
        keyless_smb::compound::link(&mut apart).unwrap();
        prop_assert_eq!(apart.concat(), frame.clone());
        let parts: Vec<&[u8]> = messages(&frame).map(Result::unwrap).collect();
        prop_assert_eq!(parts.len(), n);
        prop_assert_eq!(CreateRequest::parse(parts[0]).unwrap(), create);
        if n > 1 { prop_assert_eq!(QueryInfoRequest::parse(parts[1]).unwrap(), query); }
        if n > 2 { prop_assert_eq!(CloseRequest::parse(parts[2]).unwrap(), close); }
        for (i, p) in parts.iter().enumerate() {
            prop_assert_eq!(Header::parse(p).unwrap().message_id(), 10 + i as u64);
            if i + 1 < n { prop_assert_eq!(p.len() % 8, 0); }
        }
        let _ = id;
        keyless_smb::fuzzing::compound(&frame);
    }
}

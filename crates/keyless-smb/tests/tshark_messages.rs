//! tshark (Wireshark's dissector) reads every message keyless-smb encodes, requests and their
//! responses in one capture: zero malformed packets or dissector errors, and the field values we
//! set come back (command, message id, credits, tree, session, names, lengths).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::change_notify::{ChangeNotifyRequest, ChangeNotifyResponse, FileNotify};
use keyless_smb::compound::CompoundBuilder;
use keyless_smb::control::*;
use keyless_smb::create::*;
use keyless_smb::dfs::{Referral, ReferralRequest, ReferralResponse, Target};
use keyless_smb::error_response::ErrorResponse;
use keyless_smb::header::{HeaderFields, flags};
use keyless_smb::info::*;
use keyless_smb::ioctl::*;
use keyless_smb::lock::{LockElement, LockRequest, LockResponse, lock_flags};
use keyless_smb::negotiate::{ContextType, NegotiateContext, NegotiateRequest, NegotiateResponse};
use keyless_smb::oplock::{LeaseBreakAck, LeaseBreakNotification, OplockBreak};
use keyless_smb::query_directory::{DirectoryClass, DirectoryInfo, QueryDirectoryRequest, QueryDirectoryResponse};
use keyless_smb::read_write::{ReadRequest, ReadResponse, WriteRequest, WriteResponse};
use keyless_smb::session_setup::{SessionSetupRequest, SessionSetupResponse};
use keyless_smb::tree_connect::{TreeConnectRequest, TreeConnectResponse};
use keyless_smb::{Command, Dialect, Message, NtStatus, framing};

const SESSION: u64 = 0x1122_3344;
const TREE: u32 = 7;
const FILE: FileId = [0xab; 16];

/// Collects request/response pairs as Direct TCP frames, numbering message ids.
#[derive(Default)]
struct Capture {
    frames: Vec<Vec<u8>>,
    commands: Vec<u16>,
    next_id: u64,
}

impl Capture {
    fn frame(&mut self, msg: &[u8]) {
        let mut f = Vec::new();
        framing::write_frame_header(msg.len(), &mut f).unwrap();
        f.extend_from_slice(msg);
        self.frames.push(f);
    }

    /// A request and its response, same message id; credits 1 + id to find them again.
    fn pair<'a, 'b, Q: Message<'a>, R: Message<'b>>(&mut self, req: &Q, resp: &R) {
        let id = self.next_id;
        self.next_id += 1;
        let h = HeaderFields { credits: 10 + id as u16, ..HeaderFields::request(Q::COMMAND, id, SESSION, TREE) };
        self.frame(&req.to_vec(&h).unwrap());
        self.frame(&resp.to_vec(&HeaderFields { flags: flags::SERVER_TO_REDIR, ..h }).unwrap());
        self.commands.extend([Q::COMMAND.0, R::COMMAND.0]);
    }
}

#[test]
fn tshark_dissects_every_message() {
    let scratch = keyless_testbed::ScratchDir::new("tshark-all-messages");
    let mut c = Capture::default();
    let token = [0x60, 0x03, 0x06, 0x01, 0x00];
    c.pair(
        &NegotiateRequest {
            security_mode: 1,
            capabilities: 0x7f,
            client_guid: *b"keyless-smb-test",
            dialects: vec![Dialect::SMB_21, Dialect::SMB_311],
            contexts: vec![
                NegotiateContext::preauth_sha512(&[0x5a; 32]),
                NegotiateContext::id_list(ContextType::ENCRYPTION, &[2, 1]),
                NegotiateContext::compression(1, &[2, 4]),
                NegotiateContext::netname("files.example.test"),
                NegotiateContext::transport(1),
                NegotiateContext::rdma_transform(&[1, 2]),
                NegotiateContext::id_list(ContextType::SIGNING, &[2, 1]),
            ],
        },
        &NegotiateResponse {
            security_mode: 3,
            dialect: Dialect::SMB_311,
            server_guid: [1; 16],
            max_transact_size: 1 << 20,
            max_read_size: 1 << 20,
            max_write_size: 1 << 20,
            security_buffer: &token,
            contexts: vec![
                NegotiateContext::preauth_sha512(&[0xa5; 32]),
                NegotiateContext::id_list(ContextType::ENCRYPTION, &[2]),
            ],
            ..Default::default()
        },
    );
    c.pair(
        &SessionSetupRequest { security_mode: 1, security_buffer: &token, ..Default::default() },
        &SessionSetupResponse { session_flags: 0, security_buffer: &[] },
    );
    c.pair(
        &TreeConnectRequest { flags: 0, path: "\\\\files.example.test\\share".into(), contexts: vec![] },
        &TreeConnectResponse {
            share_type: keyless_smb::tree_connect::ShareType::DISK,
            share_flags: 0x8000,
            capabilities: 0,
            maximal_access: 0x001f_01ff,
        },
    );
    let lease = Lease { key: [3; 16], state: 7, flags: 0, v2: Some(([0; 16], 1)) }.to_bytes();
    let mxac = MaximalAccess { query_status: 0, maximal_access: 0x001f_01ff }.to_bytes();
    c.pair(
        &CreateRequest {
            oplock_level: OplockLevel::LEASE,
            impersonation_level: 2,
            desired_access: access::GENERIC_READ | access::GENERIC_WRITE,
            file_attributes: 0x80,
            share_access: 7,
            create_disposition: Disposition::OPEN_IF,
            create_options: options::NON_DIRECTORY_FILE,
            name: "dir\\report.txt".into(),
            contexts: vec![
                CreateContext::new(context_name::MAXIMAL_ACCESS, &[]),
                CreateContext::new(context_name::QUERY_ON_DISK_ID, &[]),
                CreateContext::new(context_name::LEASE, &lease),
            ],
        },
        &CreateResponse {
            oplock_level: OplockLevel::LEASE,
            create_action: 2,
            file_id: FILE,
            contexts: vec![
                CreateContext::new(context_name::MAXIMAL_ACCESS, &mxac),
                CreateContext::new(context_name::LEASE, &lease),
            ],
            ..Default::default()
        },
    );
    c.pair(
        &WriteRequest { offset: 0, file_id: FILE, remaining_bytes: 0, flags: 0, data: b"hello world" },
        &WriteResponse { count: 11, remaining: 0 },
    );
    c.pair(
        &ReadRequest { padding: 0x50, length: 11, file_id: FILE, ..Default::default() },
        &ReadResponse { data_offset: 0x50, data_remaining: 0, data: b"hello world" },
    );
    c.pair(
        &LockRequest {
            lock_sequence: 0,
            file_id: FILE,
            locks: vec![LockElement {
                offset: 0,
                length: 10,
                flags: lock_flags::EXCLUSIVE | lock_flags::FAIL_IMMEDIATELY,
            }],
        },
        &LockResponse,
    );
    let vni = ValidateNegotiateRequest {
        capabilities: 0x7f,
        guid: [2; 16],
        security_mode: 1,
        dialects: vec![Dialect::SMB_30, Dialect::SMB_302],
    }
    .to_bytes()
    .unwrap();
    let vnr =
        ValidateNegotiateResponse { capabilities: 0x7f, guid: [1; 16], security_mode: 1, dialect: Dialect::SMB_302 }
            .to_bytes();
    c.pair(
        &IoctlRequest {
            ctl_code: CtlCode::VALIDATE_NEGOTIATE_INFO,
            file_id: [0xff; 16],
            max_output_response: 24,
            flags: IOCTL_IS_FSCTL,
            input: &vni,
            ..Default::default()
        },
        &IoctlResponse {
            ctl_code: CtlCode::VALIDATE_NEGOTIATE_INFO,
            file_id: [0xff; 16],
            output: &vnr,
            ..Default::default()
        },
    );
    let dfs = ReferralRequest { max_level: 4, path: "\\files.example.test\\share".into() }.to_bytes();
    c.pair(
        &IoctlRequest {
            ctl_code: CtlCode::DFS_GET_REFERRALS,
            file_id: [0xff; 16],
            max_output_response: 4096,
            flags: IOCTL_IS_FSCTL,
            input: &dfs,
            ..Default::default()
        },
        &IoctlResponse {
            ctl_code: CtlCode::DFS_GET_REFERRALS,
            file_id: [0xff; 16],
            output: &ReferralResponse {
                path_consumed: 50,
                flags: 3,
                entries: vec![Referral {
                    version: 3,
                    server_type: 1,
                    flags: 0,
                    ttl: 300,
                    target: Target::Path {
                        dfs_path: "\\files.example.test\\share".into(),
                        alternate_path: "\\files.example.test\\share".into(),
                        address: "\\node1\\share".into(),
                    },
                }],
            }
            .to_bytes()
            .unwrap(),
            ..Default::default()
        },
    );
    let entries: Vec<DirectoryInfo> = ["a.txt", "b.txt", "sub"]
        .iter()
        .enumerate()
        .map(|(i, n)| DirectoryInfo {
            file_index: i as u32,
            end_of_file: 100,
            file_name: (*n).into(),
            file_id: 50 + i as u64,
            ..Default::default()
        })
        .collect();
    let mut listing = Vec::new();
    DirectoryInfo::encode_all(&entries, DirectoryClass::ID_BOTH_DIRECTORY, &mut listing).unwrap();
    c.pair(
        &QueryDirectoryRequest {
            info_class: DirectoryClass::ID_BOTH_DIRECTORY,
            flags: 1,
            file_index: 0,
            file_id: FILE,
            pattern: "*.txt".into(),
            output_buffer_length: 65536,
        },
        &QueryDirectoryResponse { output: &listing },
    );
    let mut notes = Vec::new();
    FileNotify::encode_all(&[FileNotify { action: 1, file_name: "new.txt".into() }], &mut notes).unwrap();
    c.pair(
        &ChangeNotifyRequest { flags: 1, output_buffer_length: 4096, file_id: FILE, completion_filter: 0x17 },
        &ChangeNotifyResponse { output: &notes },
    );
    let standard =
        FileStandardInformation { allocation_size: 4096, end_of_file: 11, number_of_links: 1, ..Default::default() }
            .to_bytes();
    c.pair(
        &QueryInfoRequest {
            info_type: InfoType::FILE,
            info_class: FileInfoClass::STANDARD.0,
            output_buffer_length: 24,
            file_id: FILE,
            ..Default::default()
        },
        &QueryInfoResponse { output: &standard },
    );
    let rename =
        FileRenameInformation { replace_if_exists: true, file_name: "dir\\renamed.txt".into() }.to_bytes().unwrap();
    c.pair(
        &SetInfoRequest {
            info_type: InfoType::FILE,
            info_class: FileInfoClass::RENAME.0,
            file_id: FILE,
            buffer: &rename,
            ..Default::default()
        },
        &SetInfoResponse,
    );
    c.pair(&FlushRequest { file_id: FILE }, &FlushResponse);
    c.pair(
        &OplockBreak { oplock_level: keyless_smb::create::OplockLevel::NONE, file_id: FILE },
        &OplockBreak { oplock_level: keyless_smb::create::OplockLevel::NONE, file_id: FILE },
    );
    c.pair(
        &LeaseBreakAck { flags: 0, lease_key: [3; 16], state: 1 },
        &LeaseBreakAck { flags: 0, lease_key: [3; 16], state: 1 },
    );
    c.pair(&Echo, &Echo);
    c.pair(&CloseRequest { flags: CLOSE_FLAG_POSTQUERY_ATTRIB, file_id: FILE }, &CloseResponse::default());
    c.pair(&TreeDisconnect, &TreeDisconnect);
    c.pair(&Logoff, &Logoff);
    // A lease break notification (server-initiated: MessageId all ones) and a CANCEL.
    let h = HeaderFields {
        flags: flags::SERVER_TO_REDIR,
        message_id: u64::MAX,
        ..HeaderFields::request(Command::OPLOCK_BREAK, 0, 0, 0)
    };
    c.frame(
        &LeaseBreakNotification { new_epoch: 2, flags: 1, lease_key: [3; 16], current_state: 7, new_state: 1 }
            .to_vec(&h)
            .unwrap(),
    );
    c.frame(&Cancel.to_vec(&HeaderFields::request(Command::CANCEL, 99, SESSION, TREE)).unwrap());
    c.commands.extend([Command::OPLOCK_BREAK.0, Command::CANCEL.0]);
    // An ERROR response to a CREATE.
    let h = HeaderFields {
        status: NtStatus::OBJECT_NAME_NOT_FOUND,
        flags: flags::SERVER_TO_REDIR,
        ..HeaderFields::request(Command::CREATE, 100, SESSION, TREE)
    };
    let mut e = Vec::new();
    ErrorResponse { context_count: 0, error_data: &[] }.encode(&h, &mut e).unwrap();
    c.frame(&e);
    c.commands.push(Command::CREATE.0);
    // A compound: CREATE + QUERY_INFO + CLOSE, related.
    let mut chain = Vec::new();
    let related =
        HeaderFields { flags: flags::RELATED_OPERATIONS, ..HeaderFields::request(Command::CREATE, 0, SESSION, TREE) };
    CompoundBuilder::new(&mut chain)
        .push(
            &CreateRequest {
                desired_access: access::READ_ATTRIBUTES,
                share_access: 7,
                create_disposition: Disposition::OPEN,
                name: "dir".into(),
                ..Default::default()
            },
            &HeaderFields::request(Command::CREATE, 101, SESSION, TREE),
        )
        .unwrap()
        .push(
            &QueryInfoRequest {
                info_type: InfoType::FILE,
                info_class: FileInfoClass::ALL.0,
                output_buffer_length: 4096,
                file_id: [0xff; 16],
                ..Default::default()
            },
            &HeaderFields { message_id: 102, ..related },
        )
        .unwrap()
        .push(&CloseRequest { flags: 0, file_id: [0xff; 16] }, &HeaderFields { message_id: 103, ..related })
        .unwrap();
    c.frame(&chain);
    c.commands.extend([Command::CREATE.0, Command::QUERY_INFO.0, Command::CLOSE.0]);

    let Some(d) = keyless_testbed::tshark::dissect(
        &scratch,
        &c.frames,
        &[
            "smb2.cmd",
            "smb2.msg_id",
            "smb2.sesid",
            "smb2.filename",
            "smb2.find.pattern",
            "smb2.ioctl.function",
            "smb2.tree",
            "smb2.credits.requested",
            "smb2.credits.granted",
            "smb2.negotiate_context.type",
        ],
    ) else {
        return;
    };
    assert_eq!(d.malformed, 0, "tshark finds malformed packets or errors:\n{}", d.verbose);
    let rows: Vec<Vec<&str>> = d.fields.iter().map(|l| l.split('\t').collect()).collect();
    let cmds: Vec<u16> = rows.iter().flat_map(|r| r[0].split(',')).map(|c| c.parse().unwrap()).collect();
    assert_eq!(cmds, c.commands, "{:?}", d.fields);
    let all = d.fields.join("\n");
    assert!(all.contains("dir\\report.txt"), "CREATE name: {all}");
    assert!(all.contains("*.txt"), "search pattern: {all}");
    assert!(all.contains("0x00140204") && all.contains("0x00060194"), "FSCTLs: {all}");
    assert!(all.contains("\\\\files.example.test\\share"), "tree path: {all}");
    // Credits as we set them (10 + message id), requested and granted.
    assert_eq!((rows[0][7], rows[1][8], rows[2][7]), ("10", "10", "11"), "{:?}", d.fields);
    // Every 3.1.1 negotiate context we encode, in order.
    assert_eq!(rows[0][9], "0x0001,0x0002,0x0003,0x0005,0x0006,0x0007,0x0008", "{:?}", d.fields);
    // Message ids 0.. for the pairs, as we numbered them.
    assert_eq!(rows[0][1], "0");
    assert_eq!(rows[2][1], "1");
    assert!(rows.iter().take(20).all(|r| r[2] == "0x0000000011223344"), "{:?}", d.fields);
    // tshark decodes the payloads we built (directory entries, notify, DFS referral, lease).
    for needle in ["a.txt", "sub", "new.txt", "\\node1\\share", "renamed.txt"] {
        assert!(d.verbose.contains(needle), "{needle} not in tshark's dissection");
    }
}

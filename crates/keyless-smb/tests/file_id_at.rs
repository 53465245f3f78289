//! `header::request_file_id_at` against the encoders themselves: every request that acts on an
//! open carries its FileId exactly where the table says.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use keyless_smb::change_notify::ChangeNotifyRequest;
use keyless_smb::control::{CloseRequest, FlushRequest};
use keyless_smb::header::{HeaderFields, request_file_id_at};
use keyless_smb::info::{QueryInfoRequest, SetInfoRequest};
use keyless_smb::ioctl::IoctlRequest;
use keyless_smb::lock::LockRequest;
use keyless_smb::query_directory::QueryDirectoryRequest;
use keyless_smb::read_write::{ReadRequest, WriteRequest};
use keyless_smb::{Command, Message};

const ID: [u8; 16] = *b"0123456789abcdef";

fn check<'a, M: Message<'a>>(m: &M) {
    let bytes = m.to_vec(&HeaderFields::request(M::COMMAND, 7, 9, 3)).unwrap();
    let at = request_file_id_at(M::COMMAND).unwrap();
    assert_eq!(&bytes[at..at + 16], &ID, "{}", M::COMMAND);
}

#[test]
fn every_request_on_an_open_has_its_file_id_where_the_table_says() {
    check(&CloseRequest { flags: 1, file_id: ID });
    check(&FlushRequest { file_id: ID });
    check(&ReadRequest { length: 5, offset: 9, file_id: ID, ..Default::default() });
    check(&WriteRequest { offset: 3, file_id: ID, remaining_bytes: 0, flags: 0, data: b"data" });
    check(&LockRequest {
        lock_sequence: 0,
        file_id: ID,
        locks: vec![keyless_smb::lock::LockElement { offset: 0, length: 1, flags: 2 }],
    });
    check(&IoctlRequest {
        ctl_code: keyless_smb::ioctl::CtlCode::VALIDATE_NEGOTIATE_INFO,
        file_id: ID,
        input: b"in",
        ..Default::default()
    });
    check(&QueryDirectoryRequest {
        info_class: keyless_smb::query_directory::DirectoryClass::ID_BOTH_DIRECTORY,
        flags: 0,
        file_index: 0,
        file_id: ID,
        pattern: "*".into(),
        output_buffer_length: 100,
    });
    check(&ChangeNotifyRequest { flags: 0, output_buffer_length: 10, file_id: ID, completion_filter: 1 });
    check(&QueryInfoRequest {
        info_type: keyless_smb::info::InfoType::FILE,
        info_class: 5,
        output_buffer_length: 24,
        file_id: ID,
        ..Default::default()
    });
    check(&SetInfoRequest {
        info_type: keyless_smb::info::InfoType::FILE,
        info_class: 20,
        additional_information: 0,
        file_id: ID,
        buffer: b"12345678",
    });
    assert_eq!(request_file_id_at(Command::CREATE), None);
}

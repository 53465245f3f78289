//! MS-DFSC referral requests and responses on arbitrary bytes (see keyless_smb::fuzzing::dfs_referral).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_smb::fuzzing::dfs_referral(data));

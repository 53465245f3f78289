//! Kerberos GSS-API tokens (AP-REQ, AP-REP, MIC, Wrap) on arbitrary bytes (see keyless_gss::fuzzing::krb5_tokens).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_gss::fuzzing::krb5_tokens(data));

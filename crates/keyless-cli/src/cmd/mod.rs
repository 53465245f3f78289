//! One module per subcommand.

pub mod assets;
pub mod cifs_upcall;
pub mod dfs;
pub mod doctor;
pub mod export_files;
pub mod identity;
pub mod import;
pub mod inspect;
pub mod kdc_proxy;
pub mod kdestroy;
pub mod keytab;
pub mod kinit;
pub mod klist;
pub mod kswitch;
pub mod kvno;
pub mod raw_keys;
pub mod selftest;
pub mod smb;

//! One module per subcommand.

pub mod kdestroy;
pub mod keytab;
pub mod kinit;
pub mod klist;
pub mod kvno;
pub mod selftest;

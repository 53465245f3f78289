//! `keyless kinit` + `keyless kvno` against MIT `kinit` + `kvno`, as whole processes, on the
//! same MIT KDC on loopback (password pre-authentication, aes256 keys, a fresh cache each time).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "benchmarks fail loudly")]

use criterion::{Criterion, criterion_group, criterion_main};
use keyless_testbed::{MitKdc, require};
use std::io::Write;
use std::process::{Command, Stdio};

fn run(kdc: &MitKdc, program: &str, args: &[&str], stdin: &str) {
    let mut child = Command::new(program)
        .args(args)
        .envs(kdc.client_env())
        .env_remove("KRB5CCNAME")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn kinit_kvno(c: &mut Criterion) {
    let (Some(kdc), Some(())) = (MitKdc::start(), require(&["kinit", "kvno"])) else { return };
    let cc = format!("FILE:{}", kdc.dir.join("bench-cc").display());
    let password = format!("{}\n", kdc.password);
    let mut group = c.benchmark_group("kinit_kvno");
    group.sample_size(20);
    group.bench_function("keyless", |b| {
        b.iter(|| {
            run(&kdc, env!("CARGO_BIN_EXE_keyless"), &["kinit", "-c", &cc, &kdc.user], &password);
            run(&kdc, env!("CARGO_BIN_EXE_keyless"), &["kvno", "-c", &cc, &kdc.service], "");
        })
    });
    group.bench_function("mit", |b| {
        b.iter(|| {
            run(&kdc, "kinit", &["-c", &cc, &kdc.user], &password);
            run(&kdc, "kvno", &["-c", &cc, &kdc.service], "");
        })
    });
    group.finish();
}

criterion_group!(benches, kinit_kvno);
criterion_main!(benches);

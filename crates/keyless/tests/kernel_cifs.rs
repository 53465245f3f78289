//! The kernel's own cifs client, with keyless as its `cifs.spnego` upcall: Debian's kernel
//! booted under QEMU (keyless-testbed's `KernelVm`) runs `mount -t cifs -o sec=krb5` against
//! smbd and an MIT KDC on this machine's loopback, reached only through forwarded ports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{GuestFile, HOST_ALIAS, KernelVm, MitKdc, ScratchDir, SmbMode, Smbd};
use std::path::PathBuf;
use std::time::Duration;

mod common;

/// The guest's `/init`: modules, network, syslog, then the test's `/test.sh`, then power off.
const INIT: &str = r#"#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modlist); do insmod $m 2>/dev/null || echo "@@ insmod-failed=$m"; done
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0
syslogd -O /tmp/messages
echo "@@ kernel=$(uname -r)"
. /test.sh
echo "@@ done=yes"
sync; reboot -f
"#;

/// Mounts the share with `sec=krb5` as `label`, writes a file named after it, unmounts.
const TRY_MOUNT: &str = r#"
try_mount() {
  : > /tmp/messages
  if mount.cifs //files.example.test/$SHARE /mnt -o sec=krb5,cruid=0,vers=3.1.1,ip=10.0.2.100 2>/tmp/mount.err; then
    echo "written through the kernel by $1" > /mnt/$1.txt && sync
    umount /mnt && echo "@@ $1=PASS"
  else
    echo "@@ $1=FAIL $(cat /tmp/mount.err)"
    sed "s/^/@@ $1-syslog: /" /tmp/messages | tail -n 8
  fi
}
"#;

struct Setup {
    vm: KernelVm,
    kdc: MitKdc,
    smbd: Smbd,
    scratch: ScratchDir,
    keyless: PathBuf,
}

impl Setup {
    fn start() -> Option<Self> {
        let vm = KernelVm::prepare()?;
        let kdc = MitKdc::start()?;
        let smbd = Smbd::start(&kdc.dir, SmbMode::Signing, Some(&kdc))?;
        let scratch = ScratchDir::new("kernel-cifs");
        // The debug build without its debug sections: a tenth of the size in the guest's RAM.
        let keyless = scratch.join("keyless");
        let status = std::process::Command::new("strip").args(["-s", "-o"]).arg(&keyless).arg(common::KEYLESS).status();
        assert!(status.is_ok_and(|s| s.success()), "strip keyless");
        Some(Self { vm, kdc, smbd, scratch, keyless })
    }

    /// The guest's krb5.conf: the KDC at the forwarded port, over TCP (guestfwd is TCP only).
    fn guest_krb5_conf(&self) -> String {
        format!(
            "[libdefaults]\n  default_realm = EXAMPLE.TEST\n  default_ccache_name = FILE:/tmp/krb5cc_%{{uid}}\n  \
             dns_lookup_kdc = false\n  dns_lookup_realm = false\n  dns_canonicalize_hostname = false\n  rdns = false\n\
             [realms]\n  EXAMPLE.TEST = {{\n    kdc = tcp/{HOST_ALIAS}:88\n  }}\n\
             [domain_realm]\n  .example.test = EXAMPLE.TEST\n  example.test = EXAMPLE.TEST\n"
        )
    }

    fn boot(&self, test_script: &str, files: Vec<(&str, GuestFile<'_>)>) -> keyless_testbed::GuestRun {
        let mut all = vec![
            ("/etc/krb5.conf", GuestFile::Text(self.guest_krb5_conf())),
            ("/etc/passwd", GuestFile::Text("root:x:0:0:root:/root:/bin/sh\n".into())),
            ("/etc/group", GuestFile::Text("root:x:0:\n".into())),
            ("/etc/hosts", GuestFile::Text(format!("127.0.0.1 localhost\n{HOST_ALIAS} files.example.test\n"))),
            (
                "/test.sh",
                GuestFile::Text(format!(
                    "SHARE={}\nDEBUG={}\n{TRY_MOUNT}\n{test_script}",
                    self.smbd.share,
                    std::env::var("GUEST_DEBUG").unwrap_or_default()
                )),
            ),
        ];
        all.extend(files);
        let initrd = self.vm.initramfs(self.scratch.path(), INIT, &[(&self.keyless, "/usr/bin/keyless")], &all);
        let kdc_port = self.kdc.realms[0].port;
        let run = self.vm.boot(&initrd, &[(445, self.smbd.port), (88, kdc_port)], Duration::from_secs(240));
        assert_eq!(run.value("done"), Some("yes"), "the guest did not finish:\n{}", run.console);
        run
    }
}

/// A TGT alone: the user's FILE cache holds only a TGT (no kvno first); keyless fetches the
/// service ticket through the KDC and the kernel mounts. Debian's cifs.upcall runs the same
/// way as a control; its result is printed, not required.
#[test]
fn a_tgt_alone_mounts_through_keyless() {
    let Some(s) = Setup::start() else { return };
    let ccache = s.scratch.join("tgt-only.ccache");
    s.kdc.mit_kinit(&ccache);
    let script = r#"
cp /tgt-only.ccache /tmp/krb5cc_0; chmod 600 /tmp/krb5cc_0
keyless cifs-upcall --install >/dev/null && echo "@@ rule=$(grep -v '^#' /etc/request-key.d/keyless-cifs.spnego.conf)"
keyless --version 2>&1 | sed 's/^/@@ version: /'
keyless klist 2>&1 | sed 's/^/@@ klist: /'
ls -la /sbin/request-key /usr/sbin/request-key 2>&1 | sed 's/^/@@ ls: /' 
if [ -n "$DEBUG" ]; then
printf '#!/bin/sh\necho "args $*" >> /tmp/upcall.err\n/usr/bin/keyless cifs-upcall "$@" 2>>/tmp/upcall.err\necho "exit $?" >> /tmp/upcall.err\n' > /usr/bin/kwrap; chmod +x /usr/bin/kwrap
echo 'create cifs.spnego ver=* * /usr/bin/kwrap %k' > /etc/request-key.d/keyless-cifs.spnego.conf
fi
try_mount keyless
sed 's/^/@@ upcall: /' /tmp/upcall.err 2>/dev/null
keyless klist | grep -q cifs/files.example.test && echo "@@ stored=yes"
keyless cifs-upcall --uninstall
echo 'create cifs.spnego * * /usr/sbin/cifs.upcall %k' > /etc/request-key.conf
cp /tgt-only.ccache /tmp/krb5cc_0; chmod 600 /tmp/krb5cc_0
try_mount cifs-utils
"#;
    let run = s.boot(script, vec![("/tgt-only.ccache", GuestFile::Copy(&ccache))]);
    let reports = run.reports().join("\n");
    eprintln!("guest ({:.1} s):\n{reports}", run.took.as_secs_f64());
    assert!(
        run.value("rule").is_some_and(|r| r.starts_with("create cifs.spnego ver=* * /usr/bin/keyless cifs-upcall %k")),
        "{reports}"
    );
    assert_eq!(run.value("keyless"), Some("PASS"), "{reports}\n{}\nsmbd:\n{}", run.console, s.smbd.log());
    assert_eq!(run.value("stored"), Some("yes"), "the service ticket went into the user's cache:\n{reports}");
    let written = std::fs::read_to_string(s.smbd.share_path.join("keyless.txt")).unwrap();
    assert_eq!(written, "written through the kernel by keyless\n");
    eprintln!("control, Debian's cifs.upcall with a TGT alone: {}", run.value("cifs-utils").unwrap_or("no result"));
}

//! An MIT krb5 KDC (Debian `krb5-kdc`) for one or more realms on 127.0.0.1, each realm its own
//! database and `krb5kdc -n` process on its own port, recipes from `shared/docs/peers.md`:
//! `+requires_preauth` users, `+no_auth_data_required` services (standalone smbd refuses PACs),
//! one principal per enctype whose only key is that enctype, `allow_rc4 = true`.

use crate::{ScratchDir, free_port, require, run};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The enctypes the KDC supports, by MIT name and number.
pub const ENCTYPES: [(&str, i32); 5] = [
    ("aes256-cts-hmac-sha1-96", 18),
    ("aes128-cts-hmac-sha1-96", 17),
    ("aes256-cts-hmac-sha384-192", 20),
    ("aes128-cts-hmac-sha256-128", 19),
    ("arcfour-hmac", 23),
];

/// One realm of the KDC.
#[derive(Debug)]
pub struct Realm {
    /// Realm name.
    pub name: String,
    /// Loopback port (UDP and TCP).
    pub port: u16,
    /// Its kdc.conf.
    pub kdc_conf: PathBuf,
    process: Child,
}

/// Running MIT KDCs and the files a client needs.
#[derive(Debug)]
pub struct MitKdc {
    /// The scratch directory holding everything.
    pub dir: ScratchDir,
    /// The realms, first is the default.
    pub realms: Vec<Realm>,
    /// Client krb5.conf naming every realm.
    pub krb5_conf: PathBuf,
    /// The user principal (in the first realm) and its password.
    pub user: String,
    /// The user's password.
    pub password: String,
    /// The user's keys, exported with `ktadd -norandkey`.
    pub user_keytab: PathBuf,
    /// `cifs/files.<domain>` and the per-enctype service principals of the first realm.
    pub service: String,
    /// Keytab of every service principal.
    pub service_keytab: PathBuf,
}

impl MitKdc {
    /// Starts a KDC for `EXAMPLE.TEST`; `None` (skipped) when MIT krb5 is not installed.
    pub fn start() -> Option<Self> {
        Self::start_realms(&["EXAMPLE.TEST"])
    }

    /// Starts one KDC per realm; the first realm gets the user and the services, and every
    /// realm after the first trusts the one before it (`krbtgt/B@A` in both databases).
    pub fn start_realms(names: &[&str]) -> Option<Self> {
        Self::start_realms_with(names, &[])
    }

    /// As [`MitKdc::start_realms`], with `[domain_realm]` entries in the KDCs' own profile, so
    /// that they answer TGS requests for those hosts with referrals (RFC 6806).
    pub fn start_realms_with(names: &[&str], kdc_domain_realm: &[(&str, &str)]) -> Option<Self> {
        require(&["krb5kdc", "kdb5_util", "kadmin.local"])?;
        let dir = ScratchDir::new("kdc");
        let mut realms = Vec::new();
        for name in names {
            realms.push(Self::start_realm(&dir, name, kdc_domain_realm));
        }
        let first = names[0];
        let domain = first.to_lowercase();
        let krb5_conf = dir.join("krb5.conf");
        std::fs::write(&krb5_conf, client_conf(&dir, &realms)).unwrap();
        let kdc = MitKdc {
            user: format!("alice@{first}"),
            password: "alice-Passw0rd".into(),
            user_keytab: dir.join("user.keytab"),
            service: format!("cifs/files.{domain}@{first}"),
            service_keytab: dir.join("service.keytab"),
            krb5_conf,
            realms,
            dir,
        };
        kdc.kadmin(first, &format!("addprinc +requires_preauth -pw {} alice", kdc.password));
        kdc.kadmin(first, &format!("ktadd -norandkey -k {} alice", kdc.user_keytab.display()));
        kdc.kadmin(first, &format!("addprinc +requires_preauth +no_auth_data_required -randkey cifs/files.{domain}"));
        kdc.kadmin(first, &format!("ktadd -k {} cifs/files.{domain}", kdc.service_keytab.display()));
        for (enctype, _) in ENCTYPES {
            let p = format!("cifs/{enctype}.{domain}");
            kdc.kadmin(first, &format!("addprinc +no_auth_data_required -randkey -e {enctype}:normal {p}"));
            kdc.kadmin(first, &format!("setstr {p} session_enctypes {enctype}"));
            kdc.kadmin(first, &format!("ktadd -norandkey -k {} {p}", kdc.service_keytab.display()));
        }
        // Trust chain: realm i+1 trusts realm i (clients of i reach services of i+1).
        for pair in names.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            for realm in [a, b] {
                kdc.kadmin(realm, &format!("addprinc -pw trust-{a}-{b}-Passw0rd krbtgt/{b}@{a}"));
            }
            let svc = format!("cifs/files.{}", b.to_lowercase());
            kdc.kadmin(b, &format!("addprinc +no_auth_data_required -randkey {svc}"));
            kdc.kadmin(b, &format!("ktadd -k {} {svc}", kdc.service_keytab.display()));
        }
        Some(kdc)
    }

    fn start_realm(dir: &ScratchDir, name: &str, domain_realm: &[(&str, &str)]) -> Realm {
        let port = free_port();
        let rdir = dir.join(name);
        std::fs::create_dir_all(rdir.join("db")).unwrap();
        let kdc_conf = rdir.join("kdc.conf");
        std::fs::write(&kdc_conf, kdc_conf_text(&rdir, name, port)).unwrap();
        std::fs::write(rdir.join("kadm5.acl"), "").unwrap();
        let env = [("KRB5_KDC_PROFILE", kdc_conf.clone()), ("KRB5_CONFIG", rdir.join("krb5.conf"))];
        // The KDC reads [libdefaults] too: RC4 session keys need allow_rc4 since Debian's 1.20.1-2+deb12u4.
        let mut profile = format!("[libdefaults]\n default_realm = {name}\n allow_rc4 = true\n[domain_realm]\n");
        for (domain, realm) in domain_realm {
            profile += &format!(" {domain} = {realm}\n");
        }
        std::fs::write(rdir.join("krb5.conf"), profile).unwrap();
        run(Command::new("kdb5_util").args(["-r", name, "-P", "master-Passw0rd", "create", "-s"]).envs(env.clone()));
        let log = std::fs::File::create(rdir.join("krb5kdc.out")).unwrap();
        let process = Command::new("krb5kdc")
            .args(["-n", "-r", name])
            .envs(env)
            .env("KRB5RCACHEDIR", &rdir)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        crate::wait_for_tcp(port, "krb5kdc");
        Realm { name: name.into(), port, kdc_conf, process }
    }

    /// Runs `kadmin.local -q QUERY` against a realm's database.
    pub fn kadmin(&self, realm: &str, query: &str) -> String {
        let r = self.realm(realm);
        run(Command::new("kadmin.local")
            .args(["-r", realm, "-q", query])
            .env("KRB5_KDC_PROFILE", &r.kdc_conf)
            .env("KRB5_CONFIG", self.krb5_conf.as_os_str()))
    }

    /// A realm by name.
    pub fn realm(&self, name: &str) -> &Realm {
        self.realms.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no realm {name}"))
    }

    /// The first realm's KDC as `127.0.0.1:port`.
    pub fn kdc_addr(&self) -> String {
        format!("127.0.0.1:{}", self.realms[0].port)
    }

    /// Environment for MIT client tools (kinit, klist, kvno) and for keyless.
    pub fn client_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![("KRB5_CONFIG", self.krb5_conf.clone().into()), ("KRB5RCACHEDIR", self.dir.path().into())]
    }

    /// MIT `kinit` of the user into the FILE cache at `path` (password on stdin).
    pub fn mit_kinit(&self, path: &std::path::Path) {
        self.mit_kinit_with(path, &[]);
    }

    /// [`Self::mit_kinit`] with more options (`-T` an armor cache, say).
    pub fn mit_kinit_with(&self, path: &std::path::Path, options: &[&str]) {
        use std::io::Write;
        let mut kinit = Command::new("kinit")
            .args(["-c", &format!("FILE:{}", path.display())])
            .args(options)
            .arg(&self.user)
            .envs(self.client_env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        kinit.stdin.take().unwrap().write_all(format!("{}\n", self.password).as_bytes()).unwrap();
        assert!(kinit.wait().unwrap().success(), "MIT kinit failed");
    }

    /// Stops every realm's KDC by PID (for tests of what clients do without one).
    pub fn stop_kdcs(&mut self) {
        for r in &mut self.realms {
            crate::stop(&mut r.process);
        }
    }

    /// The KDC log of a realm (for failure messages).
    pub fn log(&self, realm: &str) -> String {
        std::fs::read_to_string(self.dir.join(realm).join("kdc.log")).unwrap_or_default()
    }
}

impl Drop for MitKdc {
    fn drop(&mut self) {
        for r in &mut self.realms {
            crate::stop(&mut r.process);
        }
    }
}

fn kdc_conf_text(rdir: &std::path::Path, name: &str, port: u16) -> String {
    let supported: Vec<String> = ENCTYPES.iter().map(|(e, _)| format!("{e}:normal")).collect();
    format!(
        "[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}
[realms]
    {name} = {{
        database_name = {db}/principal
        key_stash_file = {db}/stash
        acl_file = {acl}
        kdc_listen = 127.0.0.1:{port}
        kdc_tcp_listen = 127.0.0.1:{port}
        master_key_type = aes256-cts-hmac-sha1-96
        supported_enctypes = {supported}
        max_life = 1d
        max_renewable_life = 7d
    }}
[logging]
    kdc = FILE:{log}
",
        db = rdir.join("db").display(),
        acl = rdir.join("kadm5.acl").display(),
        log = rdir.join("kdc.log").display(),
        supported = supported.join(" "),
    )
}

fn client_conf(dir: &ScratchDir, realms: &[Realm]) -> String {
    let enctypes: Vec<&str> = ENCTYPES.iter().map(|(e, _)| *e).collect();
    let mut s = format!(
        "[libdefaults]
    default_realm = {first}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    permitted_enctypes = {enctypes}
    allow_rc4 = true
    default_ccache_name = FILE:{cc}
[realms]
",
        first = realms[0].name,
        enctypes = enctypes.join(" "),
        cc = dir.join("krb5cc_default").display(),
    );
    for r in realms {
        s += &format!("    {} = {{\n        kdc = 127.0.0.1:{}\n    }}\n", r.name, r.port);
    }
    s += "[domain_realm]\n";
    for r in realms {
        s += &format!("    .{} = {}\n", r.name.to_lowercase(), r.name);
    }
    s
}

//! Debian's python3-kdcproxy (latchset/kdcproxy) behind HTTPS on loopback, served by a small
//! WSGI server written into the scratch directory; and self-signed certificates made with the
//! `openssl` command.

use crate::{ScratchDir, free_port, require, run};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server certificate issued by a throwaway CA.
#[derive(Debug, Clone)]
pub struct TestCert {
    /// The CA certificate clients must trust (PEM).
    pub ca: PathBuf,
    /// The server's certificate (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
}

impl TestCert {
    /// A P-256 CA and a server certificate for `names` (IP addresses or DNS names), valid 2 days.
    pub fn new(dir: &ScratchDir, tag: &str, names: &[&str]) -> Option<Self> {
        require(&["openssl"])?;
        let file = |s: &str| dir.join(&format!("{tag}-{s}"));
        let (ca, ca_key, csr) = (file("ca.pem"), file("ca-key.pem"), file("csr.pem"));
        let (cert, key, ext) = (file("cert.pem"), file("key.pem"), file("ext.cnf"));
        let s = |p: &PathBuf| p.to_str().unwrap().to_string();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        run(Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .args(["-days", "2", "-subj", "/CN=keyless test CA"])
            .args(["-keyout", &s(&ca_key), "-out", &s(&ca)]));
        run(Command::new("openssl")
            .args(["req", "-new"])
            .args(ec)
            .args(["-subj", &format!("/CN={}", names[0])])
            .args(["-keyout", &s(&key), "-out", &s(&csr)]));
        let san: Vec<String> = names
            .iter()
            .map(|n| if n.parse::<std::net::IpAddr>().is_ok() { format!("IP:{n}") } else { format!("DNS:{n}") })
            .collect();
        let ext_text =
            format!("subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n", san.join(","));
        std::fs::write(&ext, ext_text).unwrap();
        run(Command::new("openssl")
            .args(["x509", "-req", "-in", &s(&csr), "-CA", &s(&ca), "-CAkey", &s(&ca_key)])
            .args(["-CAcreateserial", "-days", "2", "-extfile", &s(&ext), "-out", &s(&cert)]));
        Some(Self { ca, cert, key })
    }

    /// One certificate for `names` as OpenSSL's `req -x509` makes it by default: self-signed
    /// and marked CA:TRUE, so clients trust the server's own certificate (`ca` == `cert`).
    pub fn self_signed(dir: &ScratchDir, tag: &str, names: &[&str]) -> Option<Self> {
        require(&["openssl"])?;
        let (cert, key) = (dir.join(&format!("{tag}-cert.pem")), dir.join(&format!("{tag}-key.pem")));
        let san: Vec<String> = names
            .iter()
            .map(|n| if n.parse::<std::net::IpAddr>().is_ok() { format!("IP:{n}") } else { format!("DNS:{n}") })
            .collect();
        run(Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-days", "2", "-subj", &format!("/CN={}", names[0])])
            .args(["-addext", &format!("subjectAltName={}", san.join(","))])
            .args(["-keyout", key.to_str().unwrap(), "-out", cert.to_str().unwrap()]));
        Some(Self { ca: cert.clone(), cert, key })
    }
}

const SERVER: &str = r#"
# WSGI HTTPS server for kdcproxy.Application (keyless test harness). The TLS handshake runs in
# each worker thread with a timeout, so a stuck client cannot wedge it.
import ssl, sys, socketserver
from wsgiref.simple_server import make_server, WSGIServer, WSGIRequestHandler
import kdcproxy

class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
class Handler(WSGIRequestHandler):
    def setup(self):
        self.request.settimeout(15)
        self.request.do_handshake()
        super().setup()
    def log_message(self, *args):
        pass

port, cert, key, keylog = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
httpd = make_server("127.0.0.1", port, kdcproxy.Application(), server_class=Server, handler_class=Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.keylog_filename = keylog
if len(sys.argv) > 5 and sys.argv[5] == "tls1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
print("ready", flush=True)
httpd.serve_forever()
"#;

/// python3-kdcproxy serving realms over HTTPS.
#[derive(Debug)]
pub struct PyKdcProxy {
    /// `https://127.0.0.1:PORT/KdcProxy`.
    pub url: String,
    /// The certificate clients must trust.
    pub cert: TestCert,
    /// The TLS key log it writes (NSS format), for decrypting captures of it.
    pub keylog: std::path::PathBuf,
    process: Child,
}

impl PyKdcProxy {
    /// Serves `realms` (name, KDC port), forwarding over TCP to 127.0.0.1.
    pub fn start(dir: &ScratchDir, realms: &[(&str, u16)]) -> Option<Self> {
        Self::start_with(dir, realms, false)
    }

    /// [`Self::start`], speaking TLS 1.2 at most when `tls12`.
    pub fn start_with(dir: &ScratchDir, realms: &[(&str, u16)], tls12: bool) -> Option<Self> {
        require(&["python3", "openssl"])?;
        if !Command::new("/usr/bin/python3").args(["-c", "import kdcproxy"]).status().is_ok_and(|s| s.success()) {
            let msg = "python3-kdcproxy is not installed: run `cargo xtask deps`";
            if std::env::var_os("CI").is_some() {
                panic!("{msg}");
            }
            eprintln!("skipped: {msg}");
            return None;
        }
        let cert = TestCert::new(dir, "kdcproxy", &["127.0.0.1", "localhost"])?;
        let mut conf = "[global]\nuse_dns = false\n".to_string();
        for (realm, port) in realms {
            conf += &format!("[{realm}]\nkerberos = kerberos+tcp://127.0.0.1:{port}\n");
        }
        let conf_path = dir.join("kdcproxy.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let script = dir.join("kdcproxy_server.py");
        std::fs::write(&script, SERVER).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("kdcproxy.log")).unwrap();
        let keylog = dir.join(&format!("kdcproxy-{port}.keylog"));
        // Debian's python3 (the one with the kdcproxy module), not a pyenv one on PATH.
        let process = Command::new("/usr/bin/python3")
            .arg(&script)
            .args([port.to_string().as_str(), cert.cert.to_str().unwrap(), cert.key.to_str().unwrap()])
            .arg(&keylog)
            .args(tls12.then_some("tls1.2"))
            .env("KDCPROXY_CONFIG", &conf_path)
            .env("KRB5_CONFIG", dir.join("no-krb5.conf"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        crate::wait_for_tcp(port, "kdcproxy");
        Some(Self { url: format!("https://127.0.0.1:{port}/KdcProxy"), cert, keylog, process })
    }
}

impl Drop for PyKdcProxy {
    fn drop(&mut self) {
        crate::stop(&mut self.process);
    }
}

/// Waits until a process of ours has stopped after SIGTERM, then makes sure with SIGKILL.
pub(crate) fn stop_child(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

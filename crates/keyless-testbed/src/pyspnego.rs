//! pyspnego (PyPI, jborean93/pyspnego) as an independent NTLM/SPNEGO peer: a small script
//! speaks base64 tokens, one per line, over stdin/stdout. `cargo xtask deps` installs pyspnego
//! into `target/py`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Where `cargo xtask deps` puts the Python packages.
pub fn python_path_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/py"))
}

const SCRIPT: &str = r#"
import base64, sys, spnego
role, protocol = sys.argv[1], sys.argv[2]
def send(b): print(base64.b64encode(b or b"").decode(), flush=True)
def recv(): return base64.b64decode(sys.stdin.readline().strip())
if role == "server":
    ctx = spnego.server(protocol=protocol)
    while not ctx.complete:
        send(ctx.step(recv()))
else:
    user = None if sys.argv[3] == "-" else sys.argv[3]
    password = None if sys.argv[4] == "-" else sys.argv[4]
    ctx = spnego.client(user, password, hostname="files.example.test", service="cifs", protocol=protocol)
    out = ctx.step()
    while True:
        send(out)
        if ctx.complete:
            break
        out = ctx.step(recv())
print("SESSIONKEY " + ctx.session_key.hex(), flush=True)
"#;

/// A running pyspnego peer.
#[derive(Debug)]
pub struct PySpnego {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl PySpnego {
    /// Where `cargo xtask deps` puts the Python packages (PYTHONPATH).
    pub fn python_path() -> PathBuf {
        python_path_dir()
    }

    /// Starts pyspnego as `role` ("server" or "client") for `protocol` ("ntlm", "negotiate");
    /// a client gets `user` and `password` ("-" for none: Kerberos from `KRB5CCNAME`), a server
    /// reads `NTLM_USER_FILE` (DOMAIN:USER:PASSWORD) and, for Kerberos, `KRB5_KTNAME`.
    pub fn start(role: &str, protocol: &str, args: &[&str], env: &[(&str, &std::path::Path)]) -> Option<Self> {
        let ok = Command::new("python3")
            .args(["-c", "import spnego"])
            .env("PYTHONPATH", python_path_dir())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let msg = "pyspnego is not installed in target/py: run `cargo xtask deps`";
            if std::env::var_os("CI").is_some() {
                panic!("{msg}");
            }
            eprintln!("skipped: {msg}");
            return None;
        }
        let mut child = Command::new("python3")
            .args(["-c", SCRIPT, role, protocol])
            .args(args)
            .env("PYTHONPATH", python_path_dir())
            .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Some(Self { child, stdin, stdout })
    }

    /// Sends a token.
    pub fn send(&mut self, token: &[u8]) {
        writeln!(self.stdin, "{}", b64(token)).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Reads the next line: a token, or `SESSIONKEY <hex>` at the end.
    pub fn recv_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().to_string()
    }

    /// Reads a token.
    pub fn recv(&mut self) -> Vec<u8> {
        unb64(&self.recv_line())
    }
}

impl Drop for PySpnego {
    fn drop(&mut self) {
        crate::stop(&mut self.child);
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unb64(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).unwrap_or_else(|| panic!("not base64: {text}")) as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

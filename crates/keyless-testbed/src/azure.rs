//! Emulators of the Azure endpoints keyless uses (IMDS, App Service, Azure Arc, the Entra
//! token endpoint, ARM listKeys, the Azure Files kerbticket endpoint), written from their
//! public documentation in Python and run on loopback: `azure_emulator.py` says which
//! document each follows. The kerbticket endpoint hands out REAL service tickets from the MIT
//! KDC (kinit -k + kvno with its own principal's keytab), so smbd validates what keyless
//! presents. Tests script failures and read back the requests through `/_emulator/`.

use crate::{MitKdc, ScratchDir, TestCert, free_port, require};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const SCRIPT: &str = include_str!("azure_emulator.py");

/// The Kerberos client the kerbticket endpoint's tickets are for (Azure Files uses
/// `AzureFileClient@FILES.AZURE.STORAGE.MICROSOFT.COM`); smbd maps it to a local user.
pub const TICKET_CLIENT: &str = "azurefileclient";

/// The running emulators.
#[derive(Debug)]
pub struct AzureEmulator {
    /// `http://127.0.0.1:PORT` (IMDS, App Service at `/msi/token`, Arc at `/arc/token`).
    pub http: String,
    /// `https://127.0.0.1:PORT/` (Entra, ARM, the file endpoint).
    pub https: String,
    /// The certificate clients must trust for `https`.
    pub cert: TestCert,
    /// The Entra tenant id.
    pub tenant: String,
    /// The workload identity's client id, and its projected token file.
    pub workload_client_id: String,
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub workload_token_file: PathBuf,
    /// `IDENTITY_HEADER` of the App Service emulator.
    pub app_service_header: String,
    /// Where the Arc emulator writes its challenge files.
    pub arc_token_dir: PathBuf,
    /// The user-assigned identities IMDS knows: (client id, object id, resource id).
    pub imds_identities: Vec<(String, String, String)>,
    /// ARM: subscription, resource group, account; the account's key is the smbd user's password.
    pub arm_account: (String, String, String),
    /// The service principal kerbticket tickets are for.
    pub service: String,
    process: Child,
}

impl AzureEmulator {
    /// Starts the emulators in `kdc`'s directory. Tickets are for `kdc.service`; the ARM key
    /// of account `account_key.0` is `account_key.1`. With `identities` > 1, IMDS requires a
    /// selector, as it does on a VM with several user-assigned identities.
    pub fn start(kdc: &MitKdc, account_key: (&str, &str), identities: usize) -> Option<Self> {
        let cert = TestCert::new(&kdc.dir, "azure", &["127.0.0.1", "localhost"])?;
        Self::start_with_cert(kdc, account_key, identities, cert)
    }

    /// As [`AzureEmulator::start`], its HTTPS side serving `cert`.
    pub fn start_with_cert(kdc: &MitKdc, account_key: (&str, &str), identities: usize, cert: TestCert) -> Option<Self> {
        require(&["python3", "openssl", "kinit", "kvno"])?;
        let dir = &kdc.dir;
        let realm = &kdc.realms[0].name;
        let keytab = dir.join("azurefileclient.keytab");
        kdc.kadmin(realm, &format!("addprinc +requires_preauth -randkey {TICKET_CLIENT}"));
        kdc.kadmin(realm, &format!("ktadd -k {} {TICKET_CLIENT}", keytab.display()));
        let arc_token_dir = dir.join("arc-tokens");
        std::fs::create_dir_all(&arc_token_dir).unwrap();
        let workload_token_file = dir.join("azure-identity-token");
        // The projected service-account token, which Entra's federated credential expects.
        let assertion = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDp3b3JrbG9hZCJ9.c2ln";
        std::fs::write(&workload_token_file, format!("{assertion}\n")).unwrap();
        let imds_identities: Vec<_> = (0..identities.max(1))
            .map(|i| (format!("client-{i}"), format!("object-{i}"), format!("/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id{i}")))
            .collect();
        let (http_port, https_port) = (free_port(), free_port());
        let tenant = "72f988bf-0000-4000-8000-2d7cd011db47".to_string();
        let arm_account =
            ("00000000-1111-2222-3333-444444444444".to_string(), "keyless-rg".to_string(), account_key.0.to_string());
        let s = |p: &PathBuf| p.display().to_string();
        let config = format!(
            r#"{{"http_port":{http_port},"https_port":{https_port},"cert":"{}","key":"{}","secret":"emulator-{}","tenant":"{tenant}",
"token_lifetime":3600,"app_service_header":"app-service-header-{}","arc_token_dir":"{}",
"imds_identities":[{}],
"workload":{{"client_id":"workload-client","assertion":"{assertion}"}},
"arm":{{"subscription":"{}","resource_group":"{}","account":"{}","key":"{}"}},
"kerbticket":{{"keytab":"{}","client":"{TICKET_CLIENT}@{realm}","service":"{}","krb5_conf":"{}"}}}}"#,
            s(&cert.cert),
            s(&cert.key),
            free_port(),
            http_port,
            s(&arc_token_dir),
            imds_identities
                .iter()
                .map(|(c, o, r)| format!(r#"{{"client_id":"{c}","object_id":"{o}","resource_id":"{r}"}}"#))
                .collect::<Vec<_>>()
                .join(","),
            arm_account.0,
            arm_account.1,
            arm_account.2,
            account_key.1,
            s(&keytab),
            kdc.service,
            s(&kdc.krb5_conf),
        );
        let config_path = dir.join("azure-emulator.json");
        std::fs::write(&config_path, config).unwrap();
        let script = dir.join("azure_emulator.py");
        std::fs::write(&script, SCRIPT).unwrap();
        let log = std::fs::File::create(dir.join("azure-emulator.log")).unwrap();
        let process = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(&config_path)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        crate::wait_for_tcp(http_port, "azure emulator (http)");
        crate::wait_for_tcp(https_port, "azure emulator (https)");
        Some(Self {
            http: format!("http://127.0.0.1:{http_port}"),
            https: format!("https://127.0.0.1:{https_port}/"),
            cert,
            tenant,
            workload_client_id: "workload-client".into(),
            workload_token_file,
            app_service_header: format!("app-service-header-{http_port}"),
            arc_token_dir,
            imds_identities,
            arm_account,
            service: kdc.service.clone(),
            process,
        })
    }

    fn control(&self, path: &str, body: &str) -> String {
        let port = self.http.rsplit(':').next().unwrap();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
        write!(
            s,
            "POST /_emulator/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "{head}");
        body.to_string()
    }

    /// The next requests to `endpoint` (`imds`, `app_service`, `arc`, `entra`, `arm`,
    /// `kerbticket`) are answered with these error statuses, in order.
    pub fn script(&self, endpoint: &str, statuses: &[u16]) {
        let list: Vec<String> = statuses.iter().map(u16::to_string).collect();
        self.control("script", &format!(r#"{{"{endpoint}":[{}]}}"#, list.join(",")));
    }

    /// What the kerbticket endpoint answers: `ok`, `garbage` (a 200 with bytes that are no
    /// KRB-CRED), `encrypted` (a KRB-CRED whose enc-part claims etype 18) or `oauth_disabled`
    /// (403: the account has SMB OAuth off).
    pub fn set_kerbticket_mode(&self, mode: &str) {
        self.control("mode", &format!(r#"{{"kerbticket":"{mode}"}}"#));
    }

    /// What IMDS answers: `ok`, or `no_identity` (400 Identity not found, as on a VM
    /// without a managed identity).
    pub fn set_imds_mode(&self, mode: &str) {
        self.control("mode", &format!(r#"{{"imds":"{mode}"}}"#));
    }

    /// Every request received so far, as a JSON array of {endpoint, method, path, headers, body}.
    pub fn requests(&self) -> String {
        self.control("requests", "")
    }

    /// A token signed by the emulator for `audience`, living `lifetime` seconds (negative:
    /// already expired), as a user could have got it elsewhere.
    pub fn token(&self, audience: &str, lifetime: i64) -> String {
        let answer = self.control("token", &format!(r#"{{"audience":"{audience}","lifetime":{lifetime}}}"#));
        answer.split('"').nth(3).unwrap().to_string()
    }

    /// The environment AKS gives a pod with workload identity (authority: the emulator).
    pub fn workload_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_AUTHORITY_HOST", self.https.clone()),
            ("AZURE_TENANT_ID", self.tenant.clone()),
            ("AZURE_CLIENT_ID", self.workload_client_id.clone()),
            ("AZURE_FEDERATED_TOKEN_FILE", self.workload_token_file.display().to_string()),
        ]
    }

    /// The environment App Service gives an app with a managed identity.
    pub fn app_service_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("IDENTITY_ENDPOINT", format!("{}/msi/token", self.http)),
            ("IDENTITY_HEADER", self.app_service_header.clone()),
        ]
    }

    /// The environment of a process on an Azure Arc-enabled server.
    pub fn arc_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("IDENTITY_ENDPOINT", format!("{}/arc/token", self.http)),
            ("IMDS_ENDPOINT", self.http.clone()),
            ("KEYLESS_ARC_TOKEN_DIR", self.arc_token_dir.display().to_string()),
        ]
    }

    /// The emulator's log (for failure messages).
    pub fn log(&self, scratch: &ScratchDir) -> String {
        std::fs::read_to_string(scratch.join("azure-emulator.log")).unwrap_or_default()
    }
}

impl Drop for AzureEmulator {
    fn drop(&mut self) {
        crate::stop(&mut self.process);
    }
}

//! `cargo xtask deb`: the Debian package, staged by hand and built by `dpkg-deb` (Debian's own
//! tool, on every Debian machine): /usr/bin/keyless, /sbin/mount.keyless, man pages and bash,
//! zsh and fish completions made by `keyless generate-assets` from the CLI definition, and the
//! systemd units of packaging/systemd. The request-key rule is not installed: `keyless
//! cifs-upcall --install` does that when the user asks. `--check` installs the package with
//! `dpkg -i`, runs what it installed, and removes it with `dpkg -r`.

use super::{run, workspace_root};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the package from the keyless at `exe`; its path.
pub fn build(exe: &Path) -> Result<PathBuf, String> {
    let version = Command::new(exe).arg("--version").output().map_err(|e| format!("{}: {e}", exe.display()))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().trim_start_matches("keyless ").to_string();
    let out_dir = workspace_root().join("target/debian");
    let stage = out_dir.join(format!("keyless_{version}_amd64"));
    let _ = std::fs::remove_dir_all(&stage);
    let at = |p: &str| stage.join(p);
    let mkdir = |p: &Path| std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()));
    let copy = |from: &Path, to: &Path| {
        mkdir(to.parent().unwrap_or(to))?;
        std::fs::copy(from, to).map(|_| ()).map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))
    };

    let bin = at("usr/bin/keyless");
    copy(exe, &bin)?;
    run("strip keyless", "strip", &["--strip-unneeded", &bin.to_string_lossy()], &[])?;
    // Debian 12 merged /sbin into /usr/sbin: this is /sbin/mount.keyless for mount(8).
    mkdir(&at("usr/sbin"))?;
    std::os::unix::fs::symlink("../bin/keyless", at("usr/sbin/mount.keyless")).map_err(|e| e.to_string())?;

    let assets = out_dir.join("assets");
    let _ = std::fs::remove_dir_all(&assets);
    run("man pages and completions", &exe.to_string_lossy(), &["generate-assets", &assets.to_string_lossy()], &[])?;
    let man1 = at("usr/share/man/man1");
    mkdir(&man1)?;
    for page in std::fs::read_dir(assets.join("man")).map_err(|e| e.to_string())? {
        let page = page.map_err(|e| e.to_string())?.path();
        let to = man1.join(page.file_name().unwrap_or_default());
        copy(&page, &to)?;
        let zipped = Command::new("gzip").arg("-9n").arg(&to).status().map_err(|e| format!("gzip: {e}"))?;
        if !zipped.success() {
            return Err(format!("gzip {}: {zipped}", to.display()));
        }
    }
    let completions = assets.join("completions");
    copy(&completions.join("keyless.bash"), &at("usr/share/bash-completion/completions/keyless"))?;
    copy(&completions.join("_keyless"), &at("usr/share/zsh/vendor-completions/_keyless"))?;
    copy(&completions.join("keyless.fish"), &at("usr/share/fish/vendor_completions.d/keyless.fish"))?;
    for unit in ["keyless-mount@.service", "keyless-oauth-ticket@.service"] {
        copy(&workspace_root().join("packaging/systemd").join(unit), &at(&format!("usr/lib/systemd/system/{unit}")))?;
    }
    let doc = at("usr/share/doc/keyless");
    mkdir(&doc)?;
    std::fs::write(doc.join("copyright"), COPYRIGHT).map_err(|e| e.to_string())?;

    mkdir(&at("DEBIAN"))?;
    let size_kib = installed_size(&stage);
    std::fs::write(at("DEBIAN/control"), control(&version, size_kib)).map_err(|e| e.to_string())?;
    let deb = out_dir.join(format!("keyless_{version}_amd64.deb"));
    run(
        "dpkg-deb",
        "dpkg-deb",
        &["--root-owner-group", "--build", &stage.to_string_lossy(), &deb.to_string_lossy()],
        &[],
    )?;
    Ok(deb)
}

fn installed_size(dir: &Path) -> u64 {
    Command::new("du")
        .args(["-sk", "--exclude=DEBIAN"])
        .arg(dir)
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn control(version: &str, size_kib: u64) -> String {
    format!(
        "Package: keyless
Version: {version}
Architecture: amd64
Maintainer: keyless developers <keyless@invalid>
Installed-Size: {size_kib}
Depends: libc6 (>= 2.34), libgcc-s1
Recommends: fuse3
Suggests: krb5-user, keyutils, cifs-utils
Section: net
Priority: optional
Homepage: https://github.com/keyless/keyless
Description: SMB file shares without storage account keys
 keyless reaches SMB2/3 shares (Azure Files above all, any SMB server too) with a
 Kerberos ticket from Active Directory or Microsoft Entra Kerberos (through a KDC
 proxy), or with a managed identity's OAuth token: file commands, a FUSE mount
 (mount -t keyless), the kernel cifs client's Kerberos upcall, MIT-compatible
 kinit/klist/kvno, a KDC proxy, and keyless doctor to find what is broken.
"
    )
}

const COPYRIGHT: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: keyless

Files: *
Copyright: the keyless developers
License: MIT or Apache-2.0
 Licensed under either of the Apache License, Version 2.0, or the MIT license, at your
 option. On Debian systems the Apache license is in /usr/share/common-licenses/Apache-2.0.
";

/// Installs `deb` with dpkg, checks what it installed, and removes it. Skipped where a
/// keyless package is already installed (a developer's own), so as not to replace it.
pub fn check(deb: &Path) -> Result<(), String> {
    if Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "keyless"])
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"install ok"))
    {
        eprintln!("deb --check: a keyless package is installed already; not replacing it");
        return Ok(());
    }
    run("dpkg -i", "dpkg", &["-i", &deb.to_string_lossy()], &[])?;
    let checked = installed_works();
    run("dpkg -r", "dpkg", &["-r", "keyless"], &[])?;
    checked?;
    for gone in ["/usr/bin/keyless", "/sbin/mount.keyless", "/usr/share/man/man1/keyless.1.gz"] {
        if Path::new(gone).symlink_metadata().is_ok() {
            return Err(format!("dpkg -r left {gone} behind"));
        }
    }
    eprintln!("deb --check: installed, ran and removed {}", deb.display());
    Ok(())
}

fn installed_works() -> Result<(), String> {
    let output = |program: &str, args: &[&str], env: &[(&str, &str)]| -> Result<String, String> {
        let o = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        Ok(text)
    };
    let version = output("/usr/bin/keyless", &["--version"], &[])?;
    if !version.starts_with("keyless ") {
        return Err(format!("/usr/bin/keyless --version said {version:?}"));
    }
    // mount(8)'s helper: called with too few arguments it answers as keyless mount does.
    let helper = output("/sbin/mount.keyless", &[], &[])?;
    if !helper.contains("keyless") {
        return Err(format!("/sbin/mount.keyless said {helper:?}"));
    }
    let excluded = std::fs::read_dir("/etc/dpkg/dpkg.cfg.d")
        .into_iter()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .any(|t| t.lines().any(|l| l.starts_with("path-exclude") && l.contains("/usr/share/man")));
    if excluded {
        eprintln!("deb --check: this machine's dpkg excludes /usr/share/man; man keyless not checked");
    } else {
        let page = output("man", &["keyless"], &[("MANPAGER", "cat"), ("MANWIDTH", "80")])?;
        if !page.contains("keyless") || !page.contains("doctor") {
            return Err(format!("man keyless showed {page:?}"));
        }
    }
    // The units as systemd reads them, under an instance name each.
    if super::have("systemd-analyze", &["--version"]) {
        let dir = workspace_root().join("target/debian/units");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut args = vec!["verify".to_string()];
        for (unit, instance) in
            [("keyless-mount@", "mnt-share"), ("keyless-oauth-ticket@", "acct.file.core.windows.net")]
        {
            let to = dir.join(format!("{unit}{instance}.service"));
            std::fs::copy(format!("/usr/lib/systemd/system/{unit}.service"), &to).map_err(|e| e.to_string())?;
            args.push(to.to_string_lossy().into_owned());
        }
        let said = Command::new("systemd-analyze").args(&args).output().map_err(|e| e.to_string())?;
        if !said.status.success() {
            return Err(format!("systemd-analyze verify: {}", String::from_utf8_lossy(&said.stderr).trim()));
        }
    }
    if !Path::new("/usr/share/bash-completion/completions/keyless").exists()
        || !Path::new("/usr/lib/systemd/system/keyless-mount@.service").exists()
        || Path::new("/etc/request-key.d/keyless-cifs.spnego.conf").exists()
    {
        return Err("the package's completions, units or (wrongly) request-key rule are not as expected".into());
    }
    Ok(())
}

//! `keyless generate-assets DIR` (hidden, for packagers): man pages and shell completions made
//! from the command-line definition itself, so they cannot drift from it.

use crate::context::Failure;
use clap_complete::Shell;
use std::path::Path;

/// Writes `man/keyless.1`, `man/keyless-<command>.1` for each visible command, and
/// `completions/keyless.bash`, `_keyless` (zsh) and `keyless.fish`.
pub fn write(cli: clap::Command, dir: &Path) -> Result<(), Failure> {
    let io = |what: &Path, e: std::io::Error| Failure::from(format!("{}: {e}", what.display()));
    let man = dir.join("man");
    let completions = dir.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
    }
    let page = |command: clap::Command, name: &str| -> Result<(), Failure> {
        let path = man.join(format!("{name}.1"));
        let mut out = Vec::new();
        clap_mangen::Man::new(command).render(&mut out).map_err(|e| io(&path, e))?;
        std::fs::write(&path, out).map_err(|e| io(&path, e))
    };
    page(cli.clone(), "keyless")?;
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("keyless-{}", sub.get_name());
        page(sub.clone().name(name.clone()).display_name(name.clone()), &name)?;
    }
    for (shell, file) in [(Shell::Bash, "keyless.bash"), (Shell::Zsh, "_keyless"), (Shell::Fish, "keyless.fish")] {
        let path = completions.join(file);
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut cli.clone(), "keyless", &mut out);
        std::fs::write(&path, out).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

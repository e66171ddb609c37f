//! Shell completion scripts and man pages, generated from the clap definitions
//! ([`crate::cli::Cli`]) so that they never disagree with `--help`.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, CliError, Exit};

/// Writes the completion script for `shell` on standard output.
pub fn completion(shell: clap_complete::Shell) {
    write_completion(shell, &mut std::io::stdout());
}

fn write_completion(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "kjob", out);
}

/// Writes kjob(1) on standard output, or, with `dir`, kjob.1 and one kjob-COMMAND.1 per
/// command into it.
pub fn man(dir: Option<&Path>) -> Result<(), CliError> {
    let failed =
        |e: std::io::Error| CliError::new(Exit::Failed, format!("cannot write the man page: {e}"));
    let Some(dir) = dir else {
        return clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(failed);
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    clap_mangen::generate_to(Cli::command(), dir).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_know_every_command_and_flag() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
        ] {
            let mut out = Vec::new();
            write_completion(shell, &mut out);
            let text = String::from_utf8(out).unwrap();
            for word in ["refresh", "completion", "follow", "server", "color"] {
                assert!(text.contains(word), "{shell:?} completion lacks {word}");
            }
        }
    }

    #[test]
    fn man_pages_cover_every_command() {
        let dir = tempfile::tempdir().unwrap();
        man(Some(dir.path())).unwrap();
        let main = std::fs::read_to_string(dir.path().join("kjob.1")).unwrap();
        assert!(main.contains(".TH kjob"), "{main}");
        let logs = std::fs::read_to_string(dir.path().join("kjob-logs.1")).unwrap();
        assert!(logs.contains("follow"), "{logs}");
    }
}

//! The command line's shape: parsing and help texts.

use super::*;
use clap::CommandFactory;

#[test]
fn the_command_line_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn parses_global_flags_anywhere() {
    let cli = Cli::try_parse_from([
        "kjob",
        "up",
        "--manifest",
        "f.yaml",
        "--set",
        "a:spec.parallelism=3",
        "--yes",
        "--state-dir",
        "/s",
    ])
    .unwrap();
    assert!(cli.global.yes);
    assert_eq!(
        cli.global.set[0].0.as_ref().unwrap()[0].target.as_deref(),
        Some("a")
    );
    assert_eq!(
        cli.global.state_dir.as_deref(),
        Some(std::path::Path::new("/s"))
    );
    assert!(Cli::try_parse_from(["kjob", "destroy", "--name", "x"]).is_ok());
    assert!(
        Cli::try_parse_from(["kjob", "down"]).is_err(),
        "down needs --manifest or --name"
    );
    assert!(Cli::try_parse_from(["kjob", "down", "--name", "x", "--manifest", "f"]).is_err());
    assert!(
        Cli::try_parse_from([
            "kjob",
            "down",
            "--name",
            "x",
            "--kind",
            "KubernetesJob",
            "--env",
            "dev"
        ])
        .is_ok()
    );
    assert!(
        Cli::try_parse_from(["kjob", "down", "--manifest", "f", "--kind", "KubernetesJob"])
            .is_err(),
        "--kind goes with --name"
    );
    // A bad --set is reported by the command, not by clap (which would quote it whole).
    let cli = Cli::try_parse_from(["kjob", "up", "--manifest", "f", "--set", "nonsense"]);
    assert!(cli.unwrap().global.set[0].0.is_err());
}

#[test]
fn any_number_of_seconds_parses_and_a_bad_one_is_named() {
    let max = u64::MAX.to_string();
    let cli = Cli::try_parse_from([
        "kjob",
        "up",
        "--manifest",
        "f",
        "--timeout",
        &max,
        "--lock-timeout",
        &max,
    ])
    .unwrap();
    assert_eq!(cli.global.lock_timeout, u64::MAX);
    let Command::Up(up) = cli.command else {
        panic!("parsed as up")
    };
    assert_eq!(up.timeout, u64::MAX);
    let wait = Cli::try_parse_from(["kjob", "wait", "--name", "x", "--timeout", &max]).unwrap();
    let Command::Wait(wait) = wait.command else {
        panic!("parsed as wait")
    };
    assert_eq!(wait.timeout, u64::MAX);
    // Past u64, negative, fractional or not a number: an error that names the flag.
    for (flag, value) in [
        ("--timeout", "18446744073709551616"),
        ("--timeout", "-1"),
        ("--lock-timeout", "1.5"),
        ("--lock-timeout", "inf"),
    ] {
        let arg = format!("{flag}={value}");
        let err = Cli::try_parse_from(["kjob", "up", "--manifest", "f", &arg])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("'{value}' for '{flag} <SECONDS>'")),
            "{flag} {value}: {err}"
        );
    }
}

#[test]
fn exit_codes_are_documented() {
    let help = Cli::command().render_long_help().to_string();
    for code in [
        "0  success",
        "1  deployment failed",
        "2  nothing was done",
        "3  the state store is locked",
        "4  the cluster could not be reached",
    ] {
        assert!(help.contains(code), "{code} missing from --help");
    }
}

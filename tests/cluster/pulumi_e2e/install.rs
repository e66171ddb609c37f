//! Pulumi's install path: the provider under test is packed by `scripts/release --binary` into the
//! release archive (`pulumi-resource-kjob-v<version>-<os>-<arch>.tar.gz`, once per test process),
//! and every run installs it with `pulumi plugin install resource kjob <version> --file <archive>`
//! into its own PULUMI_HOME. The engine's PATH never holds a `pulumi-resource-kjob`: the installed
//! plugin is the only one the engine can find.

use super::*;

/// The plugin version the archive is installed as, and the version the SDKs ask for
/// (`respectSchemaVersion`).
pub(super) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The binary under test.
const PROVIDER: &str = env!("CARGO_BIN_EXE_pulumi-resource-kjob");

/// Pulumi's `<os>-<arch>` of this machine, as in the archive's name.
fn platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}-{arch}")
}

/// The release archive of the binary under test, made by `scripts/release --binary` into a
/// directory of this test process (older leftovers of other processes are removed).
pub(super) fn archive() -> PathBuf {
    static ARCHIVE: OnceLock<PathBuf> = OnceLock::new();
    ARCHIVE
        .get_or_init(|| {
            let root = std::env::temp_dir().join("kjob-pulumi-e2e-dist");
            if let Ok(entries) = std::fs::read_dir(&root) {
                for entry in entries.flatten() {
                    let old = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > Duration::from_secs(3600));
                    if old {
                        let _ = std::fs::remove_dir_all(entry.path());
                    }
                }
            }
            let out_dir = root.join(std::process::id().to_string());
            let started = Instant::now();
            let out = Command::new(repo().join("scripts/release"))
                .args(["--binary", PROVIDER, "--out"])
                .arg(&out_dir)
                .output()
                .expect("run scripts/release");
            assert!(
                out.status.success(),
                "scripts/release --binary failed:\n{}",
                show(&out)
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            let archive = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
            let expected = format!("pulumi-resource-kjob-v{VERSION}-{}.tar.gz", platform());
            assert_eq!(
                archive.file_name().and_then(|n| n.to_str()),
                Some(expected.as_str()),
                "scripts/release printed {stdout}"
            );
            assert!(archive.is_file(), "{} exists", archive.display());
            eprintln!(
                "scripts/release --binary -> {} in {:.1}s",
                archive.display(),
                started.elapsed().as_secs_f64()
            );
            archive
        })
        .clone()
}

/// The directories of `path` without any that holds a `pulumi-resource-kjob`.
pub(super) fn without_provider(path: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    path.into_iter()
        .filter(|dir| !dir.join("pulumi-resource-kjob").exists())
        .collect()
}

/// Where `pulumi plugin install` puts the plugin in `run`'s PULUMI_HOME.
pub(super) fn installed_binary(run: &Run) -> PathBuf {
    run.dir
        .join("pulumi-home/plugins")
        .join(format!("resource-kjob-v{VERSION}"))
        .join("pulumi-resource-kjob")
}

impl Run {
    /// `pulumi plugin install resource kjob <version> --file <archive>`, then checks with the CLI
    /// that the plugin is installed, and that it is the binary under test.
    pub(super) fn install_provider(&self) {
        let archive = archive();
        self.ok(
            &self.dir,
            &[
                "plugin",
                "install",
                "resource",
                "kjob",
                VERSION,
                "--file",
                archive.to_str().expect("UTF-8 temp path"),
            ],
        );
        let listed = self.ok(&self.dir, &["plugin", "ls", "--json"]);
        let plugins: Value = serde_json::from_str(&listed)
            .unwrap_or_else(|e| panic!("plugin ls --json is not JSON ({e}): {listed}"));
        let kjob: Vec<&Value> = plugins
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == "kjob")
            .collect();
        assert_eq!(kjob.len(), 1, "one kjob plugin is installed: {listed}");
        assert_eq!(kjob[0]["kind"], "resource", "{listed}");
        assert_eq!(kjob[0]["version"], VERSION, "{listed}");
        let installed = installed_binary(self);
        let same = std::fs::read(&installed).ok() == std::fs::read(PROVIDER).ok();
        assert!(
            same,
            "{} is the binary under test ({PROVIDER})",
            installed.display()
        );
    }
}

/// The installed plugin serves the committed schema, with the fields Pulumi's install path reads
/// (pluginDownloadURL, the SDKs' package names), and the engine starts it from PULUMI_HOME.
#[test]
fn the_installed_plugin_serves_the_schema_and_runs_from_pulumi_home() {
    let run = Run::new("install");
    let text = run.ok(
        &run.dir,
        &["package", "get-schema", &format!("kjob@{VERSION}")],
    );
    let served: Value = serde_json::from_str(&text).expect("get-schema prints JSON");
    assert_eq!(
        served,
        kjob::schema::pulumi_schema(),
        "the installed plugin's schema"
    );
    assert_eq!(
        served["pluginDownloadURL"],
        "github://api.github.com/project-planton/kjob"
    );
    assert_eq!(served["version"], VERSION);
    assert_eq!(
        served["language"]["nodejs"]["packageName"],
        "@project-planton/kjob"
    );
    assert_eq!(served["language"]["python"]["packageName"], "pulumi_kjob");
    assert_eq!(
        served["language"]["go"]["importBasePath"],
        "github.com/project-planton/kjob/sdk/go/kjob"
    );

    // The engine's own log names the binary it starts: the installed one.
    let out = run.pulumi(
        &run.dir,
        &[
            "package",
            "get-schema",
            &format!("kjob@{VERSION}"),
            "--logtostderr",
            "-v=9",
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    let installed = installed_binary(&run);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("pulumi-resource-kjob"))
        .collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| !l.contains(PROVIDER)),
        "the engine's log names the plugin, never the build's binary:\n{}",
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&installed.display().to_string())),
        "the engine runs {}:\n{}",
        installed.display(),
        lines.join("\n")
    );
}

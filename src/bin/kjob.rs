//! `kjob`: the manifest command line (see `kjob --help`).

fn main() {
    kjob::cli::main()
}

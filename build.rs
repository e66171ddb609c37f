//! Compiles every `.proto` under `proto/` with protox (no system `protoc`), generates prost
//! messages and tonic services, and keeps the encoded descriptor set in `OUT_DIR` so the
//! library can read field options (defaults, reference hints) at run time.

use std::path::{Path, PathBuf};

fn proto_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            proto_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "proto") {
            out.push(path);
        }
    }
}

fn main() {
    let root = Path::new("proto");
    println!("cargo:rerun-if-changed=proto");
    let mut files = Vec::new();
    proto_files(root, &mut files);
    let mut compiler = protox::Compiler::new([root]).expect("proto include root");
    compiler.include_imports(true).include_source_info(true);
    compiler
        .open_files(&files)
        .unwrap_or_else(|e| panic!("compiling protos: {e:?}"));

    // The encoded set keeps custom option values (defaults, reference hints) and comments;
    // prost_types' FileDescriptorSet would drop the options, so write the compiler's bytes.
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(
        out.join("descriptors.bin"),
        compiler.encode_file_descriptor_set(),
    )
    .expect("write descriptors.bin");
    let fds = compiler.file_descriptor_set();

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .btree_map(".")
        .compile_fds(fds)
        .expect("generate Rust from protos");
}

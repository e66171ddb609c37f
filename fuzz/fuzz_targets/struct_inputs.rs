//! Any protobuf `Struct` as the engine would send it to Check: secrets and unknowns revealed,
//! inputs checked, secrets concealed again. Never a panic.
#![no_main]

use kjob::provider::{inputs, values};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = prost_types::Struct::decode(data) else {
        return;
    };
    let (plain, secret_paths) = values::reveal(&values::from_struct(&s));
    let checked = inputs::check(&plain, "fuzz", &[]);
    let mut out = checked.inputs.clone();
    values::conceal(&mut out, &secret_paths);
    let _ = values::to_struct(&out);
});

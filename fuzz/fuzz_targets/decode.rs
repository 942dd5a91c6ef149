//! Any bytes as a binlog file, through the same steps as the pipeline: file
//! reading (event lengths, compressed payloads), transaction boundaries,
//! table maps and rows decoded into MessagePack events. Errors are fine;
//! panics, aborts, hangs and runaway allocations are bugs.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Inputs without the magic number get it, so mutations of the corpus's
    // bodies are not all stopped at the first check.
    let mut owned;
    let bytes = if data.starts_with(b"\xfebin") {
        data
    } else {
        owned = b"\xfebin".to_vec();
        owned.extend_from_slice(data);
        &owned[..]
    };
    sluice::fuzzing::decode_file(bytes, &mut |mut value| {
        // Every event must be well-formed MessagePack.
        if !value.is_empty() {
            rmpv::decode::read_value(&mut value).expect("event is MessagePack");
        }
    });
});

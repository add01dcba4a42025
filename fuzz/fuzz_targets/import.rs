//! Any bytes offered as a demonstration file: parsing refuses or accepts them, and
//! verification replays what it accepts; neither may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = amf_studio::demo_file::parse(data) {
        let _ = amf_studio::demo_file::verify(&file, &[]);
    }
});

//! The crate's modules in layers (ARCHITECTURE.md, "Layers"): a module names only modules
//! of its own layer or below, in code and tests alike (comments aside). A type two layers
//! need lives in the lower one; an import that climbs fails here, naming the line.

use std::path::Path;

/// From the bottom. A module of the crate that is not listed fails the test too: every
/// new module takes a place.
const LAYERS: &[&[&str]] = &[
    &["sim"],
    &["tasks"],
    &["policy", "teleop"],
    &["record", "select", "terms", "quality", "curation"],
    &["round", "assessment", "opening", "export", "integrator"],
    &["experiment", "crowd"],
    &["session"],
    &["demo_file"],
    &["page", "service"],
    &["web", "cli", "bench"],
    &["bin"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file of `src/` belongs to (`None`: the crate's root).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?.to_string();
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(name) => Some(name.to_string()),
        None => Some(first),
    }
}

/// The modules `source` names as `crate::name` outside comments, with their lines.
fn named_modules(source: &str) -> Vec<(usize, String)> {
    let mut named = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            // `amf_studio::crate::` never occurs; `$crate::` in macros names the crate's root.
            let is_dollar = at > 0 && rest.as_bytes()[at - 1] == b'$';
            if !name.is_empty() && !is_dollar {
                named.push((index + 1, name));
            }
            rest = after;
        }
    }
    named
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_names_a_module_of_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut climbing = Vec::new();
    let mut unplaced = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(module) = module_of(relative) else { continue };
        let Some(own) = layer_of(&module) else {
            unplaced.push(module);
            continue;
        };
        for (line, named) in named_modules(&std::fs::read_to_string(file).unwrap()) {
            match layer_of(&named) {
                Some(layer) if layer > own => climbing.push(format!("src/{}:{line}: {module} names {named}", relative.display())),
                Some(_) => {}
                None => unplaced.push(named),
            }
        }
    }
    unplaced.sort();
    unplaced.dedup();
    assert!(unplaced.is_empty(), "modules with no place in LAYERS: {unplaced:?}");
    assert!(climbing.is_empty(), "imports that climb the layers:\n{}", climbing.join("\n"));
}

#[test]
fn the_check_sees_a_climbing_import() {
    let named = named_modules("use crate::session::Settings; // crate::web in a comment\nfn f() { $crate::x }\n");
    assert_eq!(named, vec![(1, "session".to_string())]);
    assert!(layer_of("session") > layer_of("round"));
    assert_eq!(module_of(Path::new("round.rs")).as_deref(), Some("round"));
    assert_eq!(module_of(Path::new("select/gp.rs")).as_deref(), Some("select"));
    assert_eq!(module_of(Path::new("lib.rs")), None);
}

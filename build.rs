//! Writes each Rust block of README.md to `$OUT_DIR/readme/N.rs` as one block expression, for
//! `tests/readme.rs` to compile as written, and their number to `$OUT_DIR/readme/count.rs`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=README.md");
    let readme = std::fs::read_to_string("README.md").expect("README.md beside Cargo.toml");
    let out = Path::new(&std::env::var("OUT_DIR").expect("set by cargo")).join("readme");
    std::fs::create_dir_all(&out).expect("a directory in OUT_DIR");
    let mut blocks = 0;
    let mut block: Option<String> = None;
    for (number, line) in readme.lines().enumerate() {
        match block.as_mut() {
            None if line.trim_end() == "```rust" => {
                block = Some(format!("// README.md, from line {}\n{{\n", number + 1));
            }
            None => {}
            Some(text) if line.trim_end() == "```" => {
                text.push_str("}\n");
                std::fs::write(out.join(format!("{blocks}.rs")), text).expect("written");
                blocks += 1;
                block = None;
            }
            Some(text) => writeln!(text, "{line}").expect("a String takes any text"),
        }
    }
    assert!(block.is_none(), "README.md ends inside a Rust block");
    let count = format!("/// The Rust blocks in README.md.\nconst BLOCKS: usize = {blocks};\n");
    std::fs::write(out.join("count.rs"), count).expect("written");
}

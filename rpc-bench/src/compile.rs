//! The macros' compile cost: generated crates with N methods, in our two forms (with the
//! `openrpc` feature, on by default, and without it) and as a jsonrpsee `#[rpc(server)]`
//! trait, timed under `cargo check` clean and after editing one method, with the line count of
//! their macro expansion.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Options of one run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Five methods and one timing each: proves the generators, measures nothing.
    pub smoke: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Form {
    /// `#[rpc_method]` free functions collected with `methods![]`.
    OurFunctions,
    /// An `#[rpc_service]` trait (which also generates a typed client).
    OurTrait,
    /// The functions, without the `openrpc` feature (no schemas for `rpc.discover`).
    OurFunctionsPlain,
    /// The trait, without the `openrpc` feature.
    OurTraitPlain,
    /// A jsonrpsee `#[rpc(server)]` trait.
    Jsonrpsee,
}

impl Form {
    const ALL: [Form; 5] = [
        Form::OurFunctions,
        Form::OurTrait,
        Form::OurFunctionsPlain,
        Form::OurTraitPlain,
        Form::Jsonrpsee,
    ];

    fn name(self) -> &'static str {
        match self {
            Form::OurFunctions => "ours, #[rpc_method] functions",
            Form::OurTrait => "ours, #[rpc_service] trait",
            Form::OurFunctionsPlain => "ours, functions, without openrpc",
            Form::OurTraitPlain => "ours, trait, without openrpc",
            Form::Jsonrpsee => "jsonrpsee, #[rpc(server)] trait",
        }
    }

    fn package(self, methods: usize) -> String {
        let form = match self {
            Form::OurFunctions => "ours_fn",
            Form::OurTrait => "ours_trait",
            Form::OurFunctionsPlain => "ours_fn_plain",
            Form::OurTraitPlain => "ours_trait_plain",
            Form::Jsonrpsee => "jsonrpsee",
        };
        format!("gen_{form}_{methods}")
    }

    fn dependency(self, workspace: &Path) -> String {
        let ours = workspace.join("rpc-runtime");
        match self {
            Form::Jsonrpsee => {
                r#"jsonrpsee = { version = "0.26", default-features = false, features = ["server", "macros"] }"#.into()
            }
            Form::OurFunctionsPlain | Form::OurTraitPlain => format!(
                "rpc-runtime = {{ path = {ours:?}, default-features = false, features = [\"client\"] }}"
            ),
            _ => format!("rpc-runtime = {{ path = {ours:?} }}"),
        }
    }

    /// The form without `openrpc` this one is compared with.
    fn plain(self) -> Option<Form> {
        match self {
            Form::OurFunctions => Some(Form::OurFunctionsPlain),
            Form::OurTrait => Some(Form::OurTraitPlain),
            _ => None,
        }
    }

    /// The crate's source; `edit` changes one method's body, as a developer would.
    fn source(self, methods: usize, edit: bool) -> String {
        let offset = |i: usize| if edit && i == 0 { 1000 } else { i };
        let mut out = String::new();
        match self {
            Form::OurFunctions | Form::OurFunctionsPlain => {
                out.push_str("use rpc_runtime::{Router, methods, rpc_method};\n\n");
                for i in 0..methods {
                    let k = offset(i);
                    out.push_str(&format!(
                        "#[rpc_method]\npub fn method_{i}(a: i64, b: i64) -> i64 {{\n    a + b + {k}\n}}\n\n"
                    ));
                }
                let names: Vec<String> = (0..methods).map(|i| format!("method_{i}")).collect();
                out.push_str(&format!(
                    "pub fn router() -> Router {{\n    methods![{}]\n}}\n",
                    names.join(", ")
                ));
            }
            Form::OurTrait | Form::OurTraitPlain => {
                out.push_str(
                    "use rpc_runtime::{Router, rpc_service};\n\n#[rpc_service]\npub trait Api {\n",
                );
                for i in 0..methods {
                    out.push_str(&format!(
                        "    fn method_{i}(&self, a: i64, b: i64) -> i64;\n"
                    ));
                }
                out.push_str("}\n\npub struct Impl;\n\nimpl Api for Impl {\n");
                for i in 0..methods {
                    let k = offset(i);
                    out.push_str(&format!("    fn method_{i}(&self, a: i64, b: i64) -> i64 {{\n        a + b + {k}\n    }}\n"));
                }
                out.push_str("}\n\npub fn router() -> Router {\n    Impl.into_router()\n}\n");
            }
            Form::Jsonrpsee => {
                out.push_str("use jsonrpsee::RpcModule;\nuse jsonrpsee::core::RpcResult;\nuse jsonrpsee::proc_macros::rpc;\n\n");
                out.push_str("#[rpc(server)]\npub trait Api {\n");
                for i in 0..methods {
                    out.push_str(&format!(
                        "    #[method(name = \"method_{i}\")]\n    fn method_{i}(&self, a: i64, b: i64) -> RpcResult<i64>;\n"
                    ));
                }
                out.push_str("}\n\npub struct Impl;\n\nimpl ApiServer for Impl {\n");
                for i in 0..methods {
                    let k = offset(i);
                    out.push_str(&format!(
                        "    fn method_{i}(&self, a: i64, b: i64) -> RpcResult<i64> {{\n        Ok(a + b + {k})\n    }}\n"
                    ));
                }
                out.push_str("}\n\npub fn module() -> RpcModule<Impl> {\n    Impl.into_rpc()\n}\n");
            }
        }
        out
    }
}

struct Measure {
    form: Form,
    methods: usize,
    source_lines: usize,
    expanded_lines: usize,
    clean: Duration,
    edited: Duration,
}

impl Measure {
    /// This measure over `other`: each time and the expansion's size.
    fn against(&self, other: &Measure) -> String {
        format!(
            "clean check {:.2}x, after an edit {:.2}x, expansion {:.2}x",
            self.clean.as_secs_f64() / other.clean.as_secs_f64(),
            self.edited.as_secs_f64() / other.edited.as_secs_f64(),
            self.expanded_lines as f64 / other.expanded_lines as f64,
        )
    }
}

pub fn run(options: Options) -> Result<(), Error> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace")?
        .to_path_buf();
    let root = workspace.join("target").join("bench-compile");
    let target = root.join("target");
    let sizes: &[usize] = if options.smoke { &[5] } else { &[50, 200] };
    let repeats = if options.smoke { 1 } else { 3 };

    let mut measures = Vec::new();
    for &methods in sizes {
        for form in Form::ALL {
            let dir = write_crate(&root, &workspace, form, methods)?;
            eprintln!("{} with {methods} methods", form.name());
            // Dependencies are built once, outside the measurement.
            cargo(&dir, &target, &["check", "--quiet"])?;
            let package = form.package(methods);
            let clean = median(repeats, || {
                cargo(&dir, &target, &["clean", "--quiet", "-p", &package])?;
                timed(|| cargo(&dir, &target, &["check", "--quiet"]))
            })?;
            let edited = median(repeats, || {
                let mut last = Duration::ZERO;
                // Edit, then undo: both are one-method edits, so both are timed.
                for edit in [true, false] {
                    std::fs::write(dir.join("src/lib.rs"), form.source(methods, edit))?;
                    last = timed(|| cargo(&dir, &target, &["check", "--quiet"]))?;
                }
                Ok(last)
            })?;
            measures.push(Measure {
                form,
                methods,
                source_lines: form.source(methods, false).lines().count(),
                expanded_lines: expanded_lines(&dir, &target)?,
                clean,
                edited,
            });
        }
    }
    println!("{}", report(&measures, repeats)?);
    Ok(())
}

fn write_crate(
    root: &Path,
    workspace: &Path,
    form: Form,
    methods: usize,
) -> Result<PathBuf, Error> {
    let dir = root.join(form.package(methods));
    std::fs::create_dir_all(dir.join("src"))?;
    let manifest = format!(
        "[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\n{}\n\n# Standalone: not a member of the rpc workspace.\n[workspace]\n",
        form.package(methods),
        form.dependency(workspace)
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(dir.join("src/lib.rs"), form.source(methods, false))?;
    // The workspace's lock file, so the generated crates use the versions already built.
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    Ok(dir)
}

fn cargo(dir: &Path, target: &Path, args: &[&str]) -> Result<(), Error> {
    let status = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .status()?;
    if !status.success() {
        return Err(format!("cargo {} failed in {}", args.join(" "), dir.display()).into());
    }
    Ok(())
}

/// The expansion's length, by the compiler's own pretty-printer. `-Zunpretty` is unstable;
/// RUSTC_BOOTSTRAP lets the stable compiler print it, for this measurement only.
fn expanded_lines(dir: &Path, target: &Path) -> Result<usize, Error> {
    let output = Command::new(env!("CARGO"))
        .args([
            "rustc",
            "--quiet",
            "--profile",
            "check",
            "--",
            "-Zunpretty=expanded",
        ])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("RUSTC_BOOTSTRAP", "1")
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("expanding {} failed", dir.display()).into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).lines().count())
}

fn timed(run: impl FnOnce() -> Result<(), Error>) -> Result<Duration, Error> {
    let start = Instant::now();
    run()?;
    Ok(start.elapsed())
}

fn median(
    repeats: usize,
    mut run: impl FnMut() -> Result<Duration, Error>,
) -> Result<Duration, Error> {
    let mut times = (0..repeats).map(|_| run()).collect::<Result<Vec<_>, _>>()?;
    times.sort_unstable();
    Ok(times[times.len() / 2])
}

fn report(measures: &[Measure], repeats: usize) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    writeln!(
        out,
        "`cargo check` times are the median of {repeats}; dependencies were built beforehand.\n"
    )?;
    writeln!(
        out,
        "| crate | methods | source lines | expanded lines | clean check (s) | after editing one method (s) |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
    for m in measures {
        writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2} |",
            m.form.name(),
            m.methods,
            m.source_lines,
            m.expanded_lines,
            m.clean.as_secs_f64(),
            m.edited.as_secs_f64()
        )?;
    }
    for methods in measures
        .iter()
        .map(|m| m.methods)
        .collect::<std::collections::BTreeSet<_>>()
    {
        let find = |form| {
            measures
                .iter()
                .find(|m| m.form == form && m.methods == methods)
        };
        let Some(theirs) = find(Form::Jsonrpsee) else {
            continue;
        };
        for form in Form::ALL
            .into_iter()
            .filter(|form| *form != Form::Jsonrpsee)
        {
            let Some(ours) = find(form) else { continue };
            writeln!(
                out,
                "\n{methods} methods, {} / jsonrpsee: {}",
                form.name(),
                ours.against(theirs)
            )?;
            if let Some(plain) = form.plain().and_then(find) {
                writeln!(
                    out,
                    "\n{methods} methods, {}: with openrpc / without: {}",
                    form.name(),
                    ours.against(plain)
                )?;
            }
        }
    }
    Ok(out)
}

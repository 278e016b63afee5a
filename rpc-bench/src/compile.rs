//! The macros' compile cost (placeholder until the next commit).

/// Options of one run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub smoke: bool,
}

pub fn run(_options: Options) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err("not yet".into())
}

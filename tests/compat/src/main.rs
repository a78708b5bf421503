//! `zerofs-compat-check [TARGET]`: builds (and with a target, runs) the compatibility program.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1) {
        Some(target) => zerofs_compat_check::run(&target).await,
        None => Ok(()),
    }
}

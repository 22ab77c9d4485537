//! `reji demo` and `reji fake-komoju` (filled in when the fake lands).
use reji::register::Error;
#[derive(clap::Args, Debug)]
pub struct DemoArgs {}
pub async fn fake_komoju(_port: u16, _json: bool) -> Result<(), Error> { Ok(()) }
pub async fn run(_a: DemoArgs) -> Result<(), Error> { Ok(()) }

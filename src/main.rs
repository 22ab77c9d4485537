//! `reji`: the scriptable register. A thin layer over the core: parse, call, print, map the error
//! to the contract's exit codes (0 ok, 1 KOMOJU/network, 2 bad input, 3 not found, 4 not allowed,
//! 5 the ledger or a local file could not be read or written).

mod cli;

fn main() {
    std::process::exit(cli::main());
}

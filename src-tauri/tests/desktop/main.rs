//! The desktop shell's integration tests, in one test binary (one link of Tauri and WebKitGTK instead
//! of three): the security configuration (`config`), commands through Tauri's IPC with the mock runtime
//! (`ipc`), and the app end to end in a real WebKit window (`e2e`, with `REJI_E2E=1`).

mod config;
mod e2e;
mod e2e_installed;
mod e2e_print;
mod e2e_sysprint;
mod ipc;

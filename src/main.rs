//! The `transfervm` binary: a Luxd plugin when started by the host, a CLI otherwise.

use clap::Parser;
use transfervm::cli::{self, Cli};
use transfervm::plugin::Protocol;

/// The engine address variables, Lux first (the plugin accepts either host family).
const ENGINE_ADDR_VARS: [&str; 2] = [
    "LUX_VM_RUNTIME_ENGINE_ADDR",
    "AVALANCHE_VM_RUNTIME_ENGINE_ADDR",
];

fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRANSFERVM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // No colours: Luxd copies the plugin's output into its own log.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("transfervm: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match cli.command {
        Some(command) => {
            init_logging("info");
            match runtime.block_on(cli::run(command)) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: {e}");
                    1
                }
            }
        }
        None => match ENGINE_ADDR_VARS.iter().find_map(|v| std::env::var(v).ok()) {
            Some(engine_addr) => {
                init_logging("info");
                // The name the host started us under chooses the protocol (plugin::protocol).
                let program = std::env::args_os().next().unwrap_or_default();
                let served =
                    Protocol::chosen_by(&program)
                        .map_err(Into::into)
                        .and_then(|protocol| {
                            runtime.block_on(transfervm::plugin::run(engine_addr, protocol))
                        });
                match served {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("transfervm plugin: {e}");
                        1
                    }
                }
            }
            None => {
                eprintln!(
                    "transfervm {}: a token-transfer chain VM for Luxd (rpcchainvm protocols {}).\n\n\
                     Luxd starts this binary as a plugin and sets LUX_VM_RUNTIME_ENGINE_ADDR; run by\n\
                     hand, give a command:\n\n  \
                     transfervm dev        run a local development chain with funded dev keys\n  \
                     transfervm vm-id      print the VM ID (the plugin's file name in Luxd's plugin dir)\n  \
                     transfervm --help     everything else",
                    env!("CARGO_PKG_VERSION"),
                    Protocol::numbers()
                );
                2
            }
        },
    };
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}

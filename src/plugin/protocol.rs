//! Which rpcchainvm protocol the plugin speaks, and how the operator chooses it.
//!
//! The protocol cannot be negotiated: the host's `vm.runtime.Runtime/Initialize` accepts its
//! own version once and refuses any other, and then stops the plugin. The host passes no
//! environment to a plugin (only `GRPC_*` and `GODEBUG*`) and no arguments, so the one thing an
//! operator controls is the plugin file's name. Every host line derives the VM ID from that
//! name *without its extension* (`vms/registry/vm_getter.go` in luxd v1.10.21, luxfi/node
//! v1.11.10 and avalanchego v1.11.9) and runs the file under its full name, so the extension is
//! free to carry the choice:
//!
//! * `plugins/<VM ID>` speaks protocol 30 (luxd v1.10.x), as every release before;
//! * `plugins/<VM ID>.rpcchainvm35` speaks protocol 35 (luxfi/node v1.11.10, avalanchego
//!   v1.11.3–v1.11.9).
//!
//! The plugin reads the name it was started under (`argv[0]`, not the resolved executable, so a
//! symlink named this way works too).

use std::ffi::OsStr;
use std::path::Path;

/// The extension that selects protocol `N` is `rpcchainvm<N>`.
const EXTENSION_PREFIX: &str = "rpcchainvm";

/// An rpcchainvm protocol version this binary speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Protocol 30: luxd v1.10.x (and avalanchego v1.10.15–v1.10.17). The default.
    V30,
    /// Protocol 35: luxfi/node v1.11.10 (and avalanchego v1.11.3–v1.11.9).
    V35,
}

impl Protocol {
    /// Every protocol this binary speaks, oldest first (`version --json` lists them).
    pub const ALL: [Protocol; 2] = [Protocol::V30, Protocol::V35];

    /// The protocol a plugin file without a protocol extension speaks.
    pub const DEFAULT: Protocol = Protocol::V30;

    /// The version number the handshake announces.
    pub fn number(self) -> u32 {
        match self {
            Protocol::V30 => 30,
            Protocol::V35 => 35,
        }
    }

    /// The node releases that speak this protocol, for people choosing one.
    pub fn hosts(self) -> &'static str {
        match self {
            Protocol::V30 => "luxd v1.10.x (tested: v1.10.21); avalanchego v1.10.15-v1.10.17",
            Protocol::V35 => {
                "luxfi/node v1.11.10 (tested); avalanchego v1.11.3-v1.11.9 (tested: v1.11.9)"
            }
        }
    }

    /// The plugin file name under which a node runs this binary with this protocol.
    pub fn plugin_file_name(self, vm_id: &str) -> String {
        match self {
            Protocol::DEFAULT => vm_id.to_string(),
            other => format!("{vm_id}.{EXTENSION_PREFIX}{}", other.number()),
        }
    }

    /// The protocol with version `number`, if this binary speaks it.
    pub fn from_number(number: u32) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.number() == number)
    }

    /// The protocol chosen by the name the plugin was started under (see the module docs): no
    /// extension or an unrelated one means [`Protocol::DEFAULT`]; `.rpcchainvm<N>` means `N`,
    /// and an `N` this binary does not speak is an error naming the ones it does.
    pub fn chosen_by(program: &OsStr) -> Result<Protocol, String> {
        let Some(extension) = Path::new(program).extension().and_then(OsStr::to_str) else {
            return Ok(Protocol::DEFAULT);
        };
        let Some(number) = extension.strip_prefix(EXTENSION_PREFIX) else {
            return Ok(Protocol::DEFAULT);
        };
        number
            .parse()
            .ok()
            .and_then(Protocol::from_number)
            .ok_or_else(|| {
                format!(
                    "the plugin file's extension .{extension} asks for rpcchainvm protocol \
                     {number:?}, which this build does not speak; it speaks {}",
                    Protocol::spoken()
                )
            })
    }

    /// The protocols this binary speaks, as "30 and 35", for one-line messages.
    pub fn numbers() -> String {
        Protocol::ALL
            .iter()
            .map(|p| p.number().to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// The protocols this binary speaks and the file name of each, as one phrase.
    fn spoken() -> String {
        Protocol::ALL
            .iter()
            .map(|p| {
                format!(
                    "{} (plugin file {})",
                    p.number(),
                    p.plugin_file_name("<VM ID>")
                )
            })
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// One line for the log when the host refused the handshake: the host's message names its
    /// own version ("... implements RPCChainVM protocol version N ..."), so the line can say
    /// exactly which file name would have worked.
    pub fn mismatch_advice(self, host_message: &str) -> String {
        let host = host_protocol(host_message);
        match host {
            Some(host) if host == self.number() => format!(
                "the host refused the handshake although it speaks rpcchainvm protocol {host} \
                 too: {host_message}"
            ),
            Some(host) => {
                let fix = match Protocol::from_number(host) {
                    Some(wanted) => format!(
                        "rename the plugin file to {} (README, \"Run on Luxd\")",
                        wanted.plugin_file_name("<VM ID>")
                    ),
                    None => format!(
                        "no build of this plugin speaks {host}; this one speaks {}",
                        Protocol::spoken()
                    ),
                };
                format!(
                    "rpcchainvm protocol mismatch: the host speaks {host}, this plugin was started \
                     as protocol {} (by its file name): {fix}",
                    self.number()
                )
            }
            None => format!(
                "the host refused the handshake (this plugin was started as rpcchainvm protocol \
                 {}; it speaks {}): {host_message}",
                self.number(),
                Protocol::spoken()
            ),
        }
    }
}

/// The host's protocol version from its refusal: luxd v1.10.21, luxfi/node v1.11.10 and
/// avalanchego v1.11.9 all write "<node> version <v> implements RPCChainVM protocol version <N>"
/// before they name the plugin's.
fn host_protocol(message: &str) -> Option<u32> {
    const MARK: &str = "implements RPCChainVM protocol version ";
    let start = message.find(MARK)? + MARK.len();
    let digits: String = message[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM_ID: &str = "tGas3T58KzdjLHhBDMnH2TvrddhqTji5iZAMZ3RXs2NLpSnhH";

    #[test]
    fn the_file_name_chooses_the_protocol() {
        let chosen = |name: &str| Protocol::chosen_by(OsStr::new(name));
        assert_eq!(chosen(&format!("/p/plugins/{VM_ID}")), Ok(Protocol::V30));
        assert_eq!(
            chosen(&format!("/p/plugins/{VM_ID}.rpcchainvm35")),
            Ok(Protocol::V35)
        );
        assert_eq!(
            chosen(&format!("plugins/{VM_ID}.rpcchainvm30")),
            Ok(Protocol::V30)
        );
        assert_eq!(chosen("target/debug/transfervm"), Ok(Protocol::V30));
        // A dot elsewhere in the path, or an unrelated extension, is not a choice.
        assert_eq!(
            chosen("/opt/transfervm-0.1/bin/transfervm"),
            Ok(Protocol::V30)
        );
        assert_eq!(chosen("transfervm.old"), Ok(Protocol::V30));
        for bad in [
            "x.rpcchainvm31",
            "x.rpcchainvm",
            "x.rpcchainvm35x",
            "x.rpcchainvm-35",
        ] {
            let err = chosen(bad).unwrap_err();
            assert!(err.contains("30 (plugin file <VM ID>)"), "{bad}: {err}");
            assert!(
                err.contains("35 (plugin file <VM ID>.rpcchainvm35)"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_file_named_for_a_protocol_chooses_that_protocol() {
        for protocol in Protocol::ALL {
            let name = protocol.plugin_file_name(VM_ID);
            // The host's VM ID is the name without its extension.
            let stem = Path::new(&name).file_stem().and_then(OsStr::to_str);
            assert_eq!(stem, Some(VM_ID));
            assert_eq!(Protocol::chosen_by(OsStr::new(&name)), Ok(protocol));
        }
        assert_eq!(Protocol::from_number(34), None);
    }

    #[test]
    fn a_refusal_names_both_versions_and_the_file_name_that_works() {
        // The messages of avalanchego v1.11.9 and luxd v1.10.21, as their initializers write them.
        let avalanchego = "RPCChainVM protocol version mismatch between AvalancheGo and Virtual \
            Machine plugin. AvalancheGo version avalanchego/1.11.9 implements RPCChainVM protocol \
            version 35. The VM implements RPCChainVM protocol version 30. Please make sure ...";
        let line = Protocol::V30.mismatch_advice(avalanchego);
        assert!(line.contains("host speaks 35"), "{line}");
        assert!(line.contains("started as protocol 30"), "{line}");
        assert!(line.contains("<VM ID>.rpcchainvm35"), "{line}");

        let luxd = "RPCChainVM protocol version mismatch between luxd and Virtual Machine \
            plugin. luxd version lux/1.10.21 implements RPCChainVM protocol version 30. The VM \
            implements RPCChainVM protocol version 35. Please make sure ...";
        let line = Protocol::V35.mismatch_advice(luxd);
        assert!(line.contains("host speaks 30"), "{line}");
        assert!(
            line.contains("rename the plugin file to <VM ID> "),
            "{line}"
        );

        let future = "... implements RPCChainVM protocol version 42. The VM implements ...";
        let line = Protocol::V35.mismatch_advice(future);
        assert!(line.contains("no build of this plugin speaks 42"), "{line}");

        let other = "connection reset";
        let line = Protocol::V30.mismatch_advice(other);
        assert!(
            line.contains("connection reset") && line.contains("started as rpcchainvm protocol 30")
        );
    }
}

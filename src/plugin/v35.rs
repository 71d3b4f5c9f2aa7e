//! Protocol 35 (luxfi/node v1.11.10, avalanchego v1.11.3–v1.11.9): its `vm.VM` service
//! translated onto protocol 30's [`VmService`], and its gossip message.
//!
//! Everything protocol 35 changed against 30 is handled here and nowhere else:
//! * `Connected` carries the peer's name and semantic version instead of one string;
//! * `AppRequestFailed` / `CrossChainAppRequestFailed` carry an error code and message (this VM
//!   sends no app requests, so they are acknowledged and ignored, as in 30);
//! * the in-band `Error` enum lost `HEIGHT_INDEX_INCOMPLETE` (3), so `STATE_SYNC_NOT_IMPLEMENTED`
//!   moved from 4 to 3: every response with an `err` is renumbered on the way out;
//! * `CreateStaticHandlers` and `VerifyHeightIndex` are gone (the host never calls them);
//! * `AppSender.SendAppGossip` names its audience in the message ([`gossip_message`]).
//!
//! Every other RPC takes and returns protocol 30's very types (build.rs maps them), so it is
//! passed through unchanged: one line each, no conversion.

use super::vm_service::{Reply, VmService};
use crate::pb::v35::appsender::SendAppGossipMsg;
use crate::pb::v35::vm as vm35;
use crate::pb::vm::vm_server::Vm as Vm30;
use crate::pb::vm::*;
use tonic::{Request, Status};
use tracing::debug;

/// Validators each gossip message goes to: the default of protocol-30 hosts
/// (`--consensus-app-gossip-validator-size`), which chose the audience themselves.
const GOSSIP_VALIDATORS: u64 = 10;
/// Non-validators each gossip message goes to (30's `--consensus-app-gossip-non-validator-size`).
const GOSSIP_NON_VALIDATORS: u64 = 0;
/// Peers of any kind each gossip message goes to (30's `--consensus-app-gossip-peer-size`).
const GOSSIP_PEERS: u64 = 0;

/// Protocol 35's gossip message for `msg`: the audience a protocol-30 host picked by default.
/// (All counts zero would send it to nobody: protocol 35 hosts take the numbers as given.)
pub(crate) fn gossip_message(msg: Vec<u8>) -> SendAppGossipMsg {
    SendAppGossipMsg {
        node_ids: Vec::new(),
        validators: GOSSIP_VALIDATORS,
        non_validators: GOSSIP_NON_VALIDATORS,
        peers: GOSSIP_PEERS,
        msg,
    }
}

/// Protocol 30's in-band error code `err` in protocol 35's numbering.
fn error_code(err: i32) -> Result<i32, Status> {
    let renumbered = match Error::try_from(err) {
        Ok(Error::Unspecified) => vm35::Error::Unspecified,
        Ok(Error::Closed) => vm35::Error::Closed,
        Ok(Error::NotFound) => vm35::Error::NotFound,
        Ok(Error::StateSyncNotImplemented) => vm35::Error::StateSyncNotImplemented,
        Ok(Error::HeightIndexIncomplete) | Err(_) => {
            return Err(Status::internal(format!(
                "in-band error {err} has no protocol-35 equivalent"
            )))
        }
    };
    Ok(renumbered as i32)
}

/// Renumbers the `err` field of a response on its way to a protocol-35 host.
macro_rules! renumbered {
    ($reply:expr) => {{
        let mut response = $reply.await?;
        let message = response.get_mut();
        message.err = error_code(message.err)?;
        Ok(response)
    }};
}

/// The `vm.VM` service of protocol 35, served by the protocol-30 service it wraps.
pub(crate) struct Vm35(pub(crate) VmService);

#[tonic::async_trait]
impl vm35::vm_server::Vm for Vm35 {
    async fn initialize(&self, request: Request<InitializeRequest>) -> Reply<InitializeResponse> {
        Vm30::initialize(&self.0, request).await
    }

    async fn set_state(&self, request: Request<SetStateRequest>) -> Reply<SetStateResponse> {
        Vm30::set_state(&self.0, request).await
    }

    async fn shutdown(&self, request: Request<()>) -> Reply<()> {
        Vm30::shutdown(&self.0, request).await
    }

    async fn create_handlers(&self, request: Request<()>) -> Reply<CreateHandlersResponse> {
        Vm30::create_handlers(&self.0, request).await
    }

    async fn connected(&self, request: Request<vm35::ConnectedRequest>) -> Reply<()> {
        let vm35::ConnectedRequest {
            node_id,
            name,
            major,
            minor,
            patch,
        } = request.into_inner();
        self.0
            .peer_connected(node_id, &format!("{name}/{major}.{minor}.{patch}"))
    }

    async fn disconnected(&self, request: Request<DisconnectedRequest>) -> Reply<()> {
        Vm30::disconnected(&self.0, request).await
    }

    async fn build_block(&self, request: Request<BuildBlockRequest>) -> Reply<BuildBlockResponse> {
        Vm30::build_block(&self.0, request).await
    }

    async fn parse_block(&self, request: Request<ParseBlockRequest>) -> Reply<ParseBlockResponse> {
        Vm30::parse_block(&self.0, request).await
    }

    async fn get_block(&self, request: Request<GetBlockRequest>) -> Reply<GetBlockResponse> {
        renumbered!(Vm30::get_block(&self.0, request))
    }

    async fn set_preference(&self, request: Request<SetPreferenceRequest>) -> Reply<()> {
        Vm30::set_preference(&self.0, request).await
    }

    async fn health(&self, request: Request<()>) -> Reply<HealthResponse> {
        Vm30::health(&self.0, request).await
    }

    async fn version(&self, request: Request<()>) -> Reply<VersionResponse> {
        Vm30::version(&self.0, request).await
    }

    async fn app_request(&self, request: Request<AppRequestMsg>) -> Reply<()> {
        Vm30::app_request(&self.0, request).await
    }

    async fn app_request_failed(&self, request: Request<vm35::AppRequestFailedMsg>) -> Reply<()> {
        let failed = request.into_inner();
        debug!(
            code = failed.error_code,
            message = %failed.error_message,
            "AppRequestFailed for request {}", failed.request_id
        );
        let why = format!("{} (code {})", failed.error_message, failed.error_code);
        self.0
            .app_request_failed_with(&failed.node_id, failed.request_id, &why)
    }

    async fn app_response(&self, request: Request<AppResponseMsg>) -> Reply<()> {
        Vm30::app_response(&self.0, request).await
    }

    async fn app_gossip(&self, request: Request<AppGossipMsg>) -> Reply<()> {
        Vm30::app_gossip(&self.0, request).await
    }

    async fn gather(&self, request: Request<()>) -> Reply<GatherResponse> {
        Vm30::gather(&self.0, request).await
    }

    async fn cross_chain_app_request(
        &self,
        request: Request<CrossChainAppRequestMsg>,
    ) -> Reply<()> {
        Vm30::cross_chain_app_request(&self.0, request).await
    }

    async fn cross_chain_app_request_failed(
        &self,
        request: Request<vm35::CrossChainAppRequestFailedMsg>,
    ) -> Reply<()> {
        let failed = request.into_inner();
        debug!(
            code = failed.error_code,
            message = %failed.error_message,
            "CrossChainAppRequestFailed for request {}", failed.request_id
        );
        self.0.ignore("CrossChainAppRequestFailed")
    }

    async fn cross_chain_app_response(
        &self,
        request: Request<CrossChainAppResponseMsg>,
    ) -> Reply<()> {
        Vm30::cross_chain_app_response(&self.0, request).await
    }

    async fn get_ancestors(
        &self,
        request: Request<GetAncestorsRequest>,
    ) -> Reply<GetAncestorsResponse> {
        Vm30::get_ancestors(&self.0, request).await
    }

    async fn batched_parse_block(
        &self,
        request: Request<BatchedParseBlockRequest>,
    ) -> Reply<BatchedParseBlockResponse> {
        Vm30::batched_parse_block(&self.0, request).await
    }

    async fn get_block_id_at_height(
        &self,
        request: Request<GetBlockIdAtHeightRequest>,
    ) -> Reply<GetBlockIdAtHeightResponse> {
        renumbered!(Vm30::get_block_id_at_height(&self.0, request))
    }

    async fn state_sync_enabled(&self, request: Request<()>) -> Reply<StateSyncEnabledResponse> {
        renumbered!(Vm30::state_sync_enabled(&self.0, request))
    }

    async fn get_ongoing_sync_state_summary(
        &self,
        request: Request<()>,
    ) -> Reply<GetOngoingSyncStateSummaryResponse> {
        renumbered!(Vm30::get_ongoing_sync_state_summary(&self.0, request))
    }

    async fn get_last_state_summary(
        &self,
        request: Request<()>,
    ) -> Reply<GetLastStateSummaryResponse> {
        renumbered!(Vm30::get_last_state_summary(&self.0, request))
    }

    async fn parse_state_summary(
        &self,
        request: Request<ParseStateSummaryRequest>,
    ) -> Reply<ParseStateSummaryResponse> {
        renumbered!(Vm30::parse_state_summary(&self.0, request))
    }

    async fn get_state_summary(
        &self,
        request: Request<GetStateSummaryRequest>,
    ) -> Reply<GetStateSummaryResponse> {
        renumbered!(Vm30::get_state_summary(&self.0, request))
    }

    async fn block_verify(
        &self,
        request: Request<BlockVerifyRequest>,
    ) -> Reply<BlockVerifyResponse> {
        Vm30::block_verify(&self.0, request).await
    }

    async fn block_accept(&self, request: Request<BlockAcceptRequest>) -> Reply<()> {
        Vm30::block_accept(&self.0, request).await
    }

    async fn block_reject(&self, request: Request<BlockRejectRequest>) -> Reply<()> {
        Vm30::block_reject(&self.0, request).await
    }

    async fn state_summary_accept(
        &self,
        request: Request<StateSummaryAcceptRequest>,
    ) -> Reply<StateSummaryAcceptResponse> {
        renumbered!(Vm30::state_summary_accept(&self.0, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn in_band_errors_are_renumbered_by_name() {
        let code = |err: Error| error_code(err as i32).ok();
        assert_eq!(code(Error::Unspecified), Some(0));
        assert_eq!(code(Error::Closed), Some(1));
        assert_eq!(code(Error::NotFound), Some(2));
        // 30's 4 is 35's 3: the host maps 3 to ErrStateSyncableVMNotImplemented.
        assert_eq!(Error::StateSyncNotImplemented as i32, 4);
        assert_eq!(code(Error::StateSyncNotImplemented), Some(3));
        assert_eq!(
            vm35::Error::try_from(3),
            Ok(vm35::Error::StateSyncNotImplemented)
        );
        assert!(error_code(Error::HeightIndexIncomplete as i32).is_err());
        assert!(error_code(99).is_err());
    }

    /// Protocol 35's gossip message on the wire, assembled from `(field << 3) | wire type`:
    /// validators (2) = 10 as a varint, then msg (5) length-delimited; zero counts and the empty
    /// node list are not written.
    #[test]
    fn gossip_message_wire() {
        let encoded = gossip_message(b"tx".to_vec()).encode_to_vec();
        assert_eq!(encoded, [2 << 3, 10, (5 << 3) | 2, 2, b't', b'x']);
    }

    /// Protocol 35's `Connected` and `AppRequestFailed` on the wire (from the host's field
    /// numbers: name 2, major/minor/patch 3-5; error_code 3 as sint32, error_message 4).
    #[test]
    fn changed_vm_messages_wire() {
        let connected = vm35::ConnectedRequest {
            node_id: vec![7],
            name: "a".into(),
            major: 1,
            minor: 11,
            patch: 9,
        };
        assert_eq!(
            connected.encode_to_vec(),
            [
                (1 << 3) | 2,
                1,
                7,
                (2 << 3) | 2,
                1,
                b'a',
                3 << 3,
                1,
                4 << 3,
                11,
                5 << 3,
                9
            ]
        );
        let failed = vm35::AppRequestFailedMsg {
            node_id: vec![],
            request_id: 5,
            error_code: -1,
            error_message: "x".into(),
        };
        // sint32 -1 zigzags to 1.
        assert_eq!(
            failed.encode_to_vec(),
            [2 << 3, 5, 3 << 3, 1, (4 << 3) | 2, 1, b'x']
        );
    }
}

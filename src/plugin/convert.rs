//! Conversions between wire values and core values: IDs, timestamps, block statuses, errors.
//!
//! The host converts every ID with `ids.ToID` (exactly 32 bytes) and validates every timestamp
//! with `CheckValid`, so responses are built only through these helpers; requests with IDs of
//! the wrong length are refused here with a message that names the field.

use crate::chain::{BlockError, BlockStatus, Id};
use crate::pb::vm::Status as WireStatus;
use crate::storage::StoreError;
use prost_types::Timestamp;
use tonic::Status;

/// Latest instant `google.protobuf.Timestamp` allows: 9999-12-31T23:59:59Z.
const MAX_TIMESTAMP_SECS: u64 = 253_402_300_799;

/// Reads a 32-byte ID from a request field.
pub(crate) fn parse_id(bytes: &[u8], field: &str) -> Result<Id, Status> {
    Id::from_slice(bytes).ok_or_else(|| {
        Status::invalid_argument(format!(
            "{field} must be a 32-byte ID, got {} bytes",
            bytes.len()
        ))
    })
}

/// A block timestamp (unix milliseconds) as the host's `Timestamp`, in whole seconds; refuses
/// instants the host's `CheckValid` would refuse, so a hostile block is rejected here with a
/// clear reason.
///
/// Whole seconds because the host's proposervm stores its own block timestamps as unix seconds:
/// the first block after its activation gets `max(now, parent.Timestamp())` truncated to the
/// second, then fails its own "time must monotonically increase" check when the parent's
/// timestamp has a fraction of a second. On a live network that stalled the chain at height 2
/// (found by tests/host/e2e_test.go). The chain's own rules keep the milliseconds.
pub(crate) fn timestamp(unix_ms: u64) -> Result<Timestamp, Status> {
    let seconds = unix_ms / 1000;
    if seconds > MAX_TIMESTAMP_SECS {
        return Err(Status::invalid_argument(format!(
            "block timestamp {unix_ms} ms is beyond the year 9999"
        )));
    }
    Ok(Timestamp {
        seconds: seconds as i64,
        nanos: 0,
    })
}

/// The wire status of a block (`choices.Status`).
pub(crate) fn block_status(status: BlockStatus) -> i32 {
    match status {
        BlockStatus::Processing => WireStatus::Processing as i32,
        BlockStatus::Rejected => WireStatus::Rejected as i32,
        BlockStatus::Accepted => WireStatus::Accepted as i32,
    }
}

/// A chain error as a gRPC status carrying the error's own text.
pub(crate) fn block_error(error: BlockError) -> Status {
    let message = error.to_string();
    match error {
        BlockError::NotFound(_) => Status::not_found(message),
        BlockError::NotNextToAccept(_)
        | BlockError::NothingToBuild
        | BlockError::AlreadyAccepted(_)
        | BlockError::AcceptInProgress(_) => Status::failed_precondition(message),
        BlockError::Storage(_) => Status::unavailable(message),
        BlockError::SignatureCheckStopped => Status::internal(message),
        BlockError::Malformed(_)
        | BlockError::UnknownParent(_)
        | BlockError::WrongHeight { .. }
        | BlockError::BadTimestamp { .. }
        | BlockError::TooLarge(_)
        | BlockError::InvalidTx { .. }
        | BlockError::DigestMismatch { .. }
        | BlockError::BurnedOverflow => Status::invalid_argument(message),
    }
}

/// A storage failure as a gRPC status.
pub(crate) fn store_error(error: StoreError) -> Status {
    Status::unavailable(error.to_string())
}

/// A failed blocking task (a panic in the core) as a gRPC status instead of a crash.
pub(crate) fn task_error(error: tokio::task::JoinError) -> Status {
    Status::internal(format!("internal error while handling the call: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_32_bytes() {
        assert_eq!(parse_id(&[7; 32], "id").unwrap(), Id([7; 32]));
        let e = parse_id(&[7; 31], "blk_id").unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains("blk_id") && e.message().contains("31"));
        assert!(parse_id(&[], "id").is_err());
    }

    #[test]
    fn timestamps_are_whole_seconds_and_stay_valid() {
        assert_eq!(
            timestamp(1_700_000_000_123).unwrap(),
            Timestamp {
                seconds: 1_700_000_000,
                nanos: 0
            }
        );
        assert_eq!(timestamp(0).unwrap(), Timestamp::default());
        assert!(timestamp(MAX_TIMESTAMP_SECS * 1000 + 999).is_ok());
        assert!(timestamp(u64::MAX).is_err());
    }

    #[test]
    fn statuses_match_the_wire() {
        assert_eq!(block_status(BlockStatus::Processing), 1);
        assert_eq!(block_status(BlockStatus::Rejected), 2);
        assert_eq!(block_status(BlockStatus::Accepted), 3);
    }

    #[test]
    fn errors_keep_their_text() {
        let s = block_error(BlockError::NothingToBuild);
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
        assert_eq!(s.message(), BlockError::NothingToBuild.to_string());
        assert_eq!(
            block_error(BlockError::NotFound(Id::default())).code(),
            tonic::Code::NotFound
        );
    }
}

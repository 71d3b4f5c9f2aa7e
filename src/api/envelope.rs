//! The JSON-RPC 2.0 request envelope as the specification
//! (<https://www.jsonrpc.org/specification>) words it, where jsonrpsee 0.26 answers otherwise.
//! This is the one place that decides; both entry points (the dev server and `HandleSimple`)
//! reach it through [`Api::handle`](super::Api::handle).
//!
//! jsonrpsee reads anything that is not a call as a notification and answers nothing, and falls
//! back to "Parse error" when an invalid request has no `id` it can read. So, before jsonrpsee
//! sees a body, each request object (the body, or each batch entry) that the specification calls
//! invalid is replaced by a stand-in, `{"id":<id>}`, that jsonrpsee itself answers with its
//! "Invalid request" (-32600) under that id — same wording and position as every other invalid
//! request. A request is invalid here when:
//!
//! * it is valid JSON but not an object (`"text"`, `5`, `null`, `true` as the whole body): id
//!   null, where jsonrpsee said "Parse error";
//! * its `id` is an object, an array or a boolean (the specification allows only a string, a
//!   number or null): id null, where jsonrpsee answered nothing;
//! * its `id` is a number that is not an integer from 0 to 2^64-1 (fractional numbers, which the
//!   specification discourages, exponents, negative numbers): jsonrpsee cannot echo such an id,
//!   so it is refused, id null, rather than taken for a notification and silently dropped;
//! * its `params` is present and neither an object nor an array ("MUST be provided as a
//!   Structured value"): under its own id, where the method answered "Invalid params";
//! * it has no `id` and is not a valid notification either (wrong or missing `jsonrpc`, a
//!   `method` that is not a string, no `method`): id null, where jsonrpsee said "Parse error".
//!
//! What jsonrpsee already answers as the specification says passes unchanged: a body that is
//! not JSON ("Parse error", -32700, id null), an empty batch `[]` (one "Invalid request" object),
//! a batch of non-objects (one "Invalid request" per entry), a request with a usable `id` but a
//! wrong `jsonrpc` or no `method` (under its id), `"id": null` (a call, answered with id null),
//! and notifications (jsonrpsee answers them with a JSON `null`; [`Api::handle`](super::Api::handle)
//! makes that an HTTP 204 with an empty body, as it does for a batch of only notifications).

use hyper::body::Bytes;
use jsonrpsee::types::Notification;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The members of a request object this module judges; the others are left to jsonrpsee.
#[derive(Deserialize)]
struct Envelope<'a> {
    /// Absent and `null` both read as `None`: both are allowed.
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// Whether `params` is absent or structured (an object or an array), as the specification
/// requires; the direct single-call path asks this too, so both paths refuse the same requests.
pub(super) fn params_are_structured(params: Option<&RawValue>) -> bool {
    params.is_none_or(|raw| matches!(raw.get().as_bytes().first(), Some(b'{' | b'[')))
}

/// Whether jsonrpsee can take `id` as it is and echo it: a string or an integer in `u64`, the
/// non-null variants of its `Id`.
fn usable_id(id: &RawValue) -> bool {
    let text = id.get();
    text.starts_with('"') || text.parse::<u64>().is_ok()
}

/// The stand-in for the request object `entry` (valid JSON) if the specification calls it
/// invalid and jsonrpsee would not answer it so; `None` to let it through unchanged.
fn stand_in(entry: &str) -> Option<String> {
    const NULL_ID: &str = r#"{"id":null}"#;
    let Ok(envelope) = serde_json::from_str::<Envelope<'_>>(entry) else {
        return Some(NULL_ID.into());
    };
    let id = match envelope.id {
        Some(id) if usable_id(id) => Some(id),
        Some(_) => return Some(NULL_ID.into()),
        None => None,
    };
    if !params_are_structured(envelope.params) {
        return Some(format!(r#"{{"id":{}}}"#, id.map_or("null", |id| id.get())));
    }
    // Without a usable id jsonrpsee reads it as a notification or, failing that, says "Parse
    // error"; whether it is a notification is decided by jsonrpsee's own type.
    if envelope.id.is_none()
        && serde_json::from_str::<Notification<'_, Option<&RawValue>>>(entry).is_err()
    {
        return Some(NULL_ID.into());
    }
    None
}

/// The body jsonrpsee should read instead of `body`, when `body` holds requests the
/// specification calls invalid and jsonrpsee would answer otherwise (see the module doc);
/// `None` when it reads `body` as it is. A batch over `max_batch` entries is left alone: it is
/// refused whole.
pub(super) fn normalise(body: &[u8], max_batch: u32) -> Option<Bytes> {
    let text = std::str::from_utf8(body).ok()?;
    let trimmed = text.trim_start();
    if !trimmed.starts_with('[') {
        // Not JSON at all is jsonrpsee's "Parse error"; JSON is judged.
        let single = serde_json::from_str::<&RawValue>(trimmed).ok()?;
        return stand_in(single.get()).map(Bytes::from);
    }
    let entries = serde_json::from_str::<Vec<&RawValue>>(trimmed).ok()?;
    if entries.len() > max_batch as usize {
        return None;
    }
    let stand_ins: Vec<Option<String>> = entries.iter().map(|e| stand_in(e.get())).collect();
    if stand_ins.iter().all(Option::is_none) {
        return None;
    }
    let mut rebuilt = String::with_capacity(trimmed.len());
    rebuilt.push('[');
    for (i, (entry, replacement)) in entries.iter().zip(&stand_ins).enumerate() {
        if i > 0 {
            rebuilt.push(',');
        }
        rebuilt.push_str(replacement.as_deref().unwrap_or(entry.get()));
    }
    rebuilt.push(']');
    Some(Bytes::from(rebuilt))
}

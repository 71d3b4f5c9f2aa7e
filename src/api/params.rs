//! Reading a method's params: one parse of the params text straight into the method's type.
//!
//! Params are one named object; `[{…}]`, `[]`, `{}`, `null` and no params are accepted too (the
//! empty forms as `{}`, so the type's own defaults and required fields decide). The shape is
//! told from the first byte, so no intermediate `serde_json::Value` is built.

use super::errors::invalid_params;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// What a method gets when the shape of its params is wrong.
const ONE_OBJECT: &str = "params must be one object, e.g. {\"address\": \"0x…\"}";

/// How a method's params type is read from a request; every deserializable type is read as one
/// named object, [`AnyParams`] accepts anything.
pub(crate) trait MethodParams: Sized {
    /// Reads the params of one call.
    fn read(raw: &Params<'_>) -> Result<Self, ErrorObjectOwned>;
}

impl<T: DeserializeOwned> MethodParams for T {
    fn read(raw: &Params<'_>) -> Result<Self, ErrorObjectOwned> {
        parse(raw.as_str().unwrap_or(""))
    }
}

/// Params a method ignores whatever they are (`info` has always answered any params).
pub(crate) struct AnyParams;

impl MethodParams for AnyParams {
    fn read(_: &Params<'_>) -> Result<Self, ErrorObjectOwned> {
        Ok(AnyParams)
    }
}

/// Parses params text (valid JSON, as jsonrpsee hands it over) of any accepted shape into `T`.
fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ErrorObjectOwned> {
    let text = skip_whitespace(text);
    match text.as_bytes().first() {
        // No params, or `null` (the only valid JSON starting with `n`).
        None | Some(b'n') => object("{}"),
        Some(b'{') => object(text),
        Some(b'[') => match skip_whitespace(&text[1..]).as_bytes().first() {
            Some(b']') => object("{}"),
            Some(b'{') => match serde_json::from_str::<(T,)>(text) {
                Ok((value,)) => Ok(value),
                Err(e) if e.classify() == Category::Data => Err(field_error(&e)),
                // The object parsed; what follows it is another element.
                Err(_) => Err(invalid_params(ONE_OBJECT)),
            },
            _ => Err(invalid_params(ONE_OBJECT)),
        },
        _ => Err(invalid_params(ONE_OBJECT)),
    }
}

/// Parses one JSON object into `T`.
fn object<T: DeserializeOwned>(text: &str) -> Result<T, ErrorObjectOwned> {
    serde_json::from_str(text).map_err(|e| match e.classify() {
        Category::Data => field_error(&e),
        // Not JSON (or nested past serde_json's depth limit): serde_json's own words.
        _ => invalid_params(e.to_string()),
    })
}

/// "invalid params: …" for a well-formed value `T` refuses (missing, unknown or mistyped
/// field), without serde_json's position, which would point into the params text rather than
/// the request the caller sent.
fn field_error(e: &serde_json::Error) -> ErrorObjectOwned {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    invalid_params(format!("invalid params: {message}"))
}

/// `text` without leading JSON whitespace.
fn skip_whitespace(text: &str) -> &str {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{AddressParams, BlockParams};

    const ADDRESS: &str = "0x0101010101010101010101010101010101010101010101010101010101010101";

    fn read<T: DeserializeOwned>(text: Option<&str>) -> Result<T, ErrorObjectOwned> {
        T::read(&Params::new(text))
    }

    fn message<T: DeserializeOwned + std::fmt::Debug>(text: Option<&str>) -> String {
        let error = read::<T>(text).unwrap_err();
        assert_eq!(error.code(), crate::api::errors::INVALID_PARAMS);
        error.message().to_string()
    }

    #[test]
    fn every_accepted_shape_reads_the_same_object() {
        let object = format!(r#"{{"address": "{ADDRESS}"}}"#);
        for text in [
            object.clone(),
            format!(" \n{object} "),
            format!("[{object}]"),
            format!("[ \t{object}\n]"),
        ] {
            let p: AddressParams = read(Some(&text)).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(p.address.to_string(), ADDRESS, "{text}");
        }
    }

    #[test]
    fn empty_forms_are_an_empty_object_so_the_type_decides() {
        for text in [
            None,
            Some("null"),
            Some(" null"),
            Some("[]"),
            Some("[ ]"),
            Some("{}"),
        ] {
            let p: BlockParams = read(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
            assert!(p.id.is_none() && p.height.is_none(), "{text:?}");
            // A required field is still required, with the words serde gives.
            assert_eq!(
                message::<AddressParams>(text),
                "invalid params: missing field `address`",
                "{text:?}"
            );
        }
    }

    #[test]
    fn other_shapes_are_refused_as_not_one_object() {
        let object = format!(r#"{{"address": "{ADDRESS}"}}"#);
        for text in [
            "5".to_string(),
            r#""text""#.to_string(),
            "true".to_string(),
            "[1, 2]".to_string(),
            "[5]".to_string(),
            "[[]]".to_string(),
            "[null]".to_string(),
            format!("[{object}, {object}]"),
            format!("[{object}, 1]"),
        ] {
            assert_eq!(message::<AddressParams>(Some(&text)), ONE_OBJECT, "{text}");
        }
    }

    #[test]
    fn field_errors_read_as_before_without_a_position() {
        assert_eq!(
            message::<AddressParams>(Some(r#"{"address": 5}"#)),
            "invalid params: invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            message::<AddressParams>(Some(&format!(r#"[{{"address": "{ADDRESS}", "x": 1}}]"#))),
            "invalid params: unknown field `x`, expected `address`"
        );
        assert_eq!(
            message::<BlockParams>(Some(r#"{"height": "ten"}"#)),
            "invalid params: invalid type: string \"ten\", expected u64"
        );
    }

    #[test]
    fn nesting_past_the_depth_limit_is_refused_in_serde_json_words() {
        let deep = format!(r#"{{"a": {}{}}}"#, "[".repeat(200), "]".repeat(200));
        let text = message::<serde_json::Map<String, serde_json::Value>>(Some(&deep));
        assert!(text.starts_with("recursion limit exceeded"), "{text}");
    }

    #[test]
    fn any_params_accepts_anything() {
        for text in [None, Some("5"), Some("[1, 2]"), Some(r#"{"x": 1}"#)] {
            assert!(AnyParams::read(&Params::new(text)).is_ok());
        }
    }
}

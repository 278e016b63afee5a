//! Unpacking a call's params into a handler's arguments, from positional or named params alike.
//!
//! The macros generate one call to [`Params::reader`] per method, naming its params in order,
//! then one typed read per argument. Params are located as raw JSON slices in one pass, then each
//! argument is deserialized straight from its slice into its own type; no `Value` tree is built.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::RpcError;

/// What a method's param may be: any type serde can deserialize from JSON. The reader's bound,
/// so that a param that is not one is reported in these words at the user's param type.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a method's param: it does not implement `serde::Deserialize`",
    label = "not `Deserialize`",
    note = "derive it (`#[derive(serde::Deserialize)]`) or take a type that implements it"
)]
pub trait MethodParam: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> MethodParam for T {}

/// The params of one call, as raw JSON (an array, an object, or absent).
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    raw: Option<&'a RawValue>,
}

/// Where each declared param was found in one call.
///
/// `N` counts the declared params, the variadic one (if any) last.
#[doc(hidden)]
pub struct ParamReader<'a, const N: usize> {
    names: &'static [&'static str; N],
    slots: [Option<&'a RawValue>; N],
    /// Positional params past the fixed ones, for the variadic param.
    rest: Vec<&'a RawValue>,
    named: bool,
}

impl<'a> Params<'a> {
    pub(crate) fn new(raw: Option<&'a RawValue>) -> Self {
        Params { raw }
    }

    /// The params as sent.
    pub(crate) fn raw(&self) -> Option<&'a RawValue> {
        self.raw
    }

    /// Locates each param in `names` (positionally, or by name); with `variadic`, the last name
    /// collects every positional param past the others.
    #[doc(hidden)]
    pub fn reader<const N: usize>(
        self,
        names: &'static [&'static str; N],
        variadic: bool,
    ) -> Result<ParamReader<'a, N>, RpcError> {
        let mut reader = ParamReader {
            names,
            slots: [None; N],
            rest: Vec::new(),
            named: false,
        };
        let Some(raw) = self.raw else {
            return Ok(reader);
        };
        let mut problem = None;
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let located = if raw.get().starts_with('[') {
            let fixed = N - usize::from(variadic);
            de.deserialize_seq(Positional {
                reader: &mut reader,
                fixed,
                variadic,
                problem: &mut problem,
            })
        } else {
            reader.named = true;
            de.deserialize_map(Named {
                reader: &mut reader,
                problem: &mut problem,
            })
        };
        // The request parser already checked that params are an array or an object of valid
        // JSON, so a serde error here can only be the recursion limit.
        located
            .map_err(|err| RpcError::invalid_params(format!("invalid params: {}", plain(&err))))?;
        match problem {
            Some(problem) => Err(RpcError::invalid_params(problem)),
            None => Ok(reader),
        }
    }
}

impl<const N: usize> ParamReader<'_, N> {
    /// Reads the param at `index`, which must be present.
    pub fn required<T: MethodParam>(&self, index: usize) -> Result<T, RpcError> {
        match self.slots[index] {
            Some(raw) => self.decode(index, raw),
            None => Err(RpcError::invalid_params(format!(
                "missing param `{}`",
                self.names[index]
            ))),
        }
    }

    /// Reads the param at `index`; absent or `null` give `None`.
    pub fn optional<T: MethodParam>(&self, index: usize) -> Result<Option<T>, RpcError> {
        match self.slots[index] {
            Some(raw) => self.decode(index, raw),
            None => Ok(None),
        }
    }

    /// Reads the variadic param at `index`: the remaining positional params, or by name an array.
    pub fn rest<T: MethodParam>(&self, index: usize) -> Result<Vec<T>, RpcError> {
        if self.named {
            return match self.slots[index] {
                Some(raw) => self.decode(index, raw),
                None => Ok(Vec::new()),
            };
        }
        self.rest
            .iter()
            .enumerate()
            .map(|(offset, raw)| {
                serde_json::from_str(raw.get()).map_err(|err| {
                    RpcError::invalid_params(format!(
                        "invalid param `{}[{offset}]`: {}",
                        self.names[index],
                        plain(&err)
                    ))
                })
            })
            .collect()
    }

    fn decode<T: DeserializeOwned>(&self, index: usize, raw: &RawValue) -> Result<T, RpcError> {
        serde_json::from_str(raw.get()).map_err(|err| {
            RpcError::invalid_params(format!(
                "invalid param `{}`: {}",
                self.names[index],
                plain(&err)
            ))
        })
    }
}

/// serde_json's message without its "at line 1 column 5" suffix, whose position is inside one
/// param's slice and would only mislead.
fn plain(err: &serde_json::Error) -> String {
    let mut message = err.to_string();
    if err.line() != 0 {
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
    }
    message
}

struct Positional<'r, 'a, const N: usize> {
    reader: &'r mut ParamReader<'a, N>,
    fixed: usize,
    variadic: bool,
    problem: &'r mut Option<String>,
}

impl<'de, const N: usize> Visitor<'de> for Positional<'_, 'de, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of params")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut count = 0;
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            if count < self.fixed {
                self.reader.slots[count] = Some(raw);
            } else if self.variadic {
                self.reader.rest.push(raw);
            }
            count += 1;
        }
        if count > self.fixed && !self.variadic {
            *self.problem = Some(format!(
                "too many params: expected at most {}, got {count}",
                self.fixed
            ));
        }
        Ok(())
    }
}

struct Named<'r, 'a, const N: usize> {
    reader: &'r mut ParamReader<'a, N>,
    problem: &'r mut Option<String>,
}

impl<'de, const N: usize> Visitor<'de> for Named<'_, 'de, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of params")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            let Some(index) = self.reader.names.iter().position(|name| *name == key) else {
                self.problem
                    .get_or_insert_with(|| format!("unknown param `{key}`"));
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let raw = map.next_value::<&'de RawValue>()?;
            if self.reader.slots[index].replace(raw).is_some() {
                self.problem
                    .get_or_insert_with(|| format!("duplicate param `{key}`"));
            }
        }
        Ok(())
    }
}

/// An object key, borrowed unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a param name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        de.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str; 2] = &["minuend", "subtrahend"];

    fn params(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    fn read_two(text: &str) -> Result<(i64, Option<i64>), String> {
        let raw = params(text);
        let reader = Params::new(Some(&raw))
            .reader(NAMES, false)
            .map_err(|e| e.message().to_owned())?;
        let a = reader.required(0).map_err(|e| e.message().to_owned())?;
        let b = reader.optional(1).map_err(|e| e.message().to_owned())?;
        Ok((a, b))
    }

    #[test]
    fn reads_positional_and_named_alike() {
        assert_eq!(read_two("[42, 23]"), Ok((42, Some(23))));
        assert_eq!(
            read_two(r#"{"subtrahend": 23, "minuend": 42}"#),
            Ok((42, Some(23)))
        );
        assert_eq!(read_two("[42]"), Ok((42, None)));
        assert_eq!(
            read_two(r#"{"minuend": 42, "subtrahend": null}"#),
            Ok((42, None))
        );
    }

    #[test]
    fn names_the_param_and_the_problem() {
        assert_eq!(read_two("[]").unwrap_err(), "missing param `minuend`");
        assert_eq!(
            read_two("[1, 2, 3]").unwrap_err(),
            "too many params: expected at most 2, got 3"
        );
        assert_eq!(
            read_two(r#"{"minuend": 1, "x": 2}"#).unwrap_err(),
            "unknown param `x`"
        );
        assert_eq!(
            read_two(r#"{"minuend": 1, "minuend": 2}"#).unwrap_err(),
            "duplicate param `minuend`"
        );
        assert_eq!(
            read_two(r#"["x"]"#).unwrap_err(),
            r#"invalid param `minuend`: invalid type: string "x", expected i64"#
        );
    }

    #[test]
    fn collects_the_variadic_tail() {
        const REST: &[&str; 2] = &["first", "values"];
        let raw = params("[1, 2, 3, 4]");
        let reader = Params::new(Some(&raw)).reader(REST, true).unwrap();
        assert_eq!(reader.required::<i64>(0).unwrap(), 1);
        assert_eq!(reader.rest::<i64>(1).unwrap(), [2, 3, 4]);

        let raw = params(r#"{"values": [5, 6], "first": 0}"#);
        let reader = Params::new(Some(&raw)).reader(REST, true).unwrap();
        assert_eq!(reader.rest::<i64>(1).unwrap(), [5, 6]);

        let raw = params(r#"[1, 2, "x"]"#);
        let reader = Params::new(Some(&raw)).reader(REST, true).unwrap();
        assert_eq!(
            reader.rest::<i64>(1).unwrap_err().message(),
            r#"invalid param `values[1]`: invalid type: string "x", expected i64"#
        );
    }

    #[test]
    fn accepts_no_params_for_a_method_without_any() {
        assert!(Params::new(None).reader(&[], false).is_ok());
        let raw = params("[1]");
        assert!(Params::new(Some(&raw)).reader(&[], false).is_err());
    }
}

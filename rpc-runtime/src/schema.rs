//! JSON Schemas of params and results, from `schemars` with the `openrpc` feature, for
//! `rpc.discover`; without it there are none, and generated code asks nothing of the types.

#[cfg(feature = "openrpc")]
mod on {
    use schemars::transform::RecursiveTransform;

    /// Where the schemas of one document are made, their shared definitions collected under
    /// `#/components/schemas/`.
    pub type Generator = schemars::SchemaGenerator;
    pub type Schema = schemars::Schema;

    /// A type that `rpc.discover` can describe: any `schemars::JsonSchema`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` has no JSON schema, which `rpc.discover` describes the method with",
        label = "no `JsonSchema` for `{Self}`",
        note = "derive it: `#[derive(schemars::JsonSchema)]` on `{Self}` (schemars 1.x), or build rpc-runtime without its `openrpc` feature"
    )]
    pub trait Described {
        fn schema(generator: &mut Generator) -> Schema;
    }

    impl<T: ?Sized + schemars::JsonSchema> Described for T {
        fn schema(generator: &mut Generator) -> Schema {
            // The generator's transforms (draft-07's among them) reach the shared definitions
            // only; what is inlined gets them here.
            let mut schema = generator.subschema_for::<T>();
            for transform in generator.transforms_mut() {
                transform.transform(&mut schema);
            }
            schema
        }
    }

    /// How `T`'s schema is made.
    pub fn schema<T: ?Sized + Described>() -> Option<fn(&mut Generator) -> Schema> {
        Some(T::schema)
    }

    /// A generator whose definitions go where OpenRPC keeps them, in draft-07, without the
    /// number formats schemars adds (`int64`, `uint`…), which JSON Schema does not define and
    /// which strict validators (ajv, behind OpenRPC's tools) reject.
    pub fn generator() -> Generator {
        let mut settings = schemars::generate::SchemaSettings::draft07();
        settings.definitions_path = "/components/schemas".into();
        settings.meta_schema = None;
        let transform = RecursiveTransform(strip_number_format);
        settings.transforms.push(Box::new(transform));
        settings.into_generator()
    }

    fn strip_number_format(schema: &mut Schema) {
        if let Some(object) = schema.as_object_mut() {
            let numeric = object
                .get("format")
                .and_then(serde_json::Value::as_str)
                .is_some_and(is_number_format);
            if numeric {
                object.remove("format");
            }
        }
    }

    /// `int8` to `int128`, `uint8` to `uint128`, `int`, `uint`, `float`, `double`.
    fn is_number_format(format: &str) -> bool {
        let bits = format
            .strip_prefix('u')
            .unwrap_or(format)
            .strip_prefix("int");
        bits.is_some_and(|bits| ["", "8", "16", "32", "64", "128"].contains(&bits))
            || format == "float"
            || format == "double"
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn number_formats_are_left_out_and_others_kept() {
            for format in ["int64", "uint", "uint8", "int", "double"] {
                assert!(is_number_format(format), "{format}");
            }
            for format in ["date-time", "uuid", "uint65", "integer"] {
                assert!(!is_number_format(format), "{format}");
            }
            let mut generator = generator();
            let schema = <Vec<u64> as Described>::schema(&mut generator).to_value();
            assert_eq!(
                schema["items"],
                serde_json::json!({"type": "integer", "minimum": 0})
            );
        }
    }
}

#[cfg(not(feature = "openrpc"))]
mod off {
    /// Nothing to make schemas with: the `openrpc` feature is off.
    pub struct Generator;
    pub enum Schema {}

    pub fn generator() -> Generator {
        Generator
    }

    /// Any type, without the `openrpc` feature.
    pub fn schema<T: ?Sized>() -> Option<fn(&mut Generator) -> Schema> {
        None
    }
}

#[cfg(feature = "openrpc")]
pub use on::*;

#[cfg(not(feature = "openrpc"))]
pub use off::*;

/// How a param's or result's schema is made, if the `openrpc` feature is on.
pub type SchemaFn = fn(&mut Generator) -> Schema;

//! JSON Schema (draft-07, as `rpc.discover` describes params and results) to TypeScript types.

use serde_json::{Map, Value};

/// The TypeScript type of `schema`; `$ref`s to `#/components/schemas/NAME` become `NAME`'s
/// type name.
pub fn ts(schema: &Value) -> String {
    match schema {
        Value::Bool(true) => "unknown".into(),
        Value::Bool(false) => "never".into(),
        Value::Object(object) => object_type(object),
        _ => "unknown".into(),
    }
}

fn object_type(schema: &Map<String, Value>) -> String {
    if let Some(Value::String(target)) = schema.get("$ref") {
        return match target.strip_prefix("#/components/schemas/") {
            Some(name) => type_name(name),
            None => "unknown".into(),
        };
    }
    if let Some(value) = schema.get("const") {
        return literal(value);
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return union(values.iter().map(literal));
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Value::Array(schemas)) = schema.get(combinator) {
            return union(schemas.iter().map(ts));
        }
    }
    if let Some(Value::Array(schemas)) = schema.get("allOf") {
        let parts: Vec<String> = schemas.iter().map(|s| parenthesized(ts(s))).collect();
        return parts.join(" & ");
    }
    match schema.get("type") {
        Some(Value::String(kind)) => of_kind(kind, schema),
        Some(Value::Array(kinds)) => union(
            kinds
                .iter()
                .filter_map(Value::as_str)
                .map(|kind| of_kind(kind, schema)),
        ),
        _ if schema.contains_key("properties") => of_kind("object", schema),
        _ => "unknown".into(),
    }
}

fn of_kind(kind: &str, schema: &Map<String, Value>) -> String {
    match kind {
        "string" => "string".into(),
        "integer" | "number" => "number".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        "array" => match schema.get("items") {
            // A tuple, as draft-07 writes one.
            Some(Value::Array(items)) => {
                let items: Vec<String> = items.iter().map(ts).collect();
                format!("[{}]", items.join(", "))
            }
            Some(items) => format!("{}[]", parenthesized(ts(items))),
            None => "unknown[]".into(),
        },
        "object" => object_literal(schema, ""),
        _ => "unknown".into(),
    }
}

/// An object type: its properties (each with its description), and what other keys map to.
pub fn object_literal(schema: &Map<String, Value>, indent: &str) -> String {
    let required: Vec<&str> = match schema.get("required") {
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut out = String::from("{");
    let inner = format!("{indent}  ");
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            out.push('\n');
            if let Some(doc) = property.get("description").and_then(Value::as_str) {
                out.push_str(&doc_comment(doc, &inner));
            }
            let optional = if required.contains(&name.as_str()) {
                ""
            } else {
                "?"
            };
            out.push_str(&format!(
                "{inner}{}{optional}: {};",
                property_name(name),
                ts(property)
            ));
        }
    }
    match schema.get("additionalProperties") {
        Some(Value::Bool(false)) => {}
        Some(Value::Object(other)) if !other.is_empty() => {
            out.push_str(&format!(
                "\n{inner}[key: string]: {};",
                ts(&Value::Object(other.clone()))
            ));
        }
        _ if !schema.contains_key("properties") => {
            out.push_str(&format!("\n{inner}[key: string]: unknown;"));
        }
        _ => {}
    }
    if out.len() > 1 {
        out.push_str(&format!("\n{indent}"));
    }
    out.push('}');
    out
}

fn union(parts: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for part in parts {
        if !seen.contains(&part) {
            seen.push(part);
        }
    }
    match seen.len() {
        0 => "never".into(),
        _ => seen.join(" | "),
    }
}

fn parenthesized(ty: String) -> String {
    if ty.contains(' ') && !ty.starts_with('{') && !ty.starts_with('[') {
        format!("({ty})")
    } else {
        ty
    }
}

fn literal(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => value.to_string(),
        _ => "unknown".into(),
    }
}

/// A component's name as a TypeScript type name.
pub fn type_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A property key: bare if it is an identifier, quoted otherwise.
fn property_name(name: &str) -> String {
    if is_identifier(name) {
        name.to_owned()
    } else {
        Value::String(name.to_owned()).to_string()
    }
}

pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// `text` as a JSDoc comment at `indent`, with `*/` defused.
pub fn doc_comment(text: &str, indent: &str) -> String {
    let text = text.replace("*/", "*\\/");
    let mut out = format!("{indent}/**\n");
    for line in text.lines() {
        out.push_str(format!("{indent} * {line}").trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{indent} */\n"));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schemas_become_typescript_types() {
        let cases = [
            (json!({"type": "integer"}), "number"),
            (json!({"type": ["string", "null"]}), "string | null"),
            (json!({"$ref": "#/components/schemas/Point"}), "Point"),
            (
                json!({"type": "array", "items": {"type": "boolean"}}),
                "boolean[]",
            ),
            (
                json!({"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}),
                "[string, number]",
            ),
            (json!({"enum": ["a", "b"]}), r#""a" | "b""#),
            (
                json!({"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": "null"}]}),
                "A | null",
            ),
            (
                json!({"type": "array", "items": {"type": ["string", "null"]}}),
                "(string | null)[]",
            ),
            (json!({}), "unknown"),
            (
                json!({"type": "object", "additionalProperties": {"type": "integer"}}),
                "{\n  [key: string]: number;\n}",
            ),
        ];
        for (schema, expected) in cases {
            assert_eq!(ts(&schema), expected, "{schema}");
        }
    }

    #[test]
    fn objects_say_which_properties_may_be_missing() {
        let schema = json!({
            "type": "object",
            "properties": {
                "x": {"type": "integer", "description": "Across."},
                "a-b": {"type": "string"},
            },
            "required": ["x"],
        });
        let Value::Object(schema) = schema else {
            unreachable!()
        };
        assert_eq!(
            object_literal(&schema, ""),
            "{\n  \"a-b\"?: string;\n  /**\n   * Across.\n   */\n  x: number;\n}"
        );
    }
}

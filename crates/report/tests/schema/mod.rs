//! Checks a JSON value against `docs/path.schema.json`: the subset of JSON Schema that file
//! uses (`$ref` into `$defs`, `type`, `enum`, `const`, `required`, `properties`,
//! `additionalProperties: false`, `items`, `anyOf`, `minItems`, `minimum`, `maximum`).
//! A keyword the checker does not know fails the check, so the schema cannot silently grow
//! beyond what is checked.

use serde_json::Value;

const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "enum",
    "const",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "anyOf",
    "minItems",
    "minimum",
    "maximum",
];

/// The schema file.
pub fn schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/path.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("docs/path.schema.json"))
        .expect("the schema is JSON")
}

/// Panics with every violation when `value` does not match the schema.
pub fn assert_valid(value: &Value) {
    let errors = violations(&schema(), value);
    assert!(
        errors.is_empty(),
        "not valid against docs/path.schema.json:\n{}",
        errors.join("\n")
    );
}

/// Every place `value` breaks `root`.
pub fn violations(root: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(root, root, value, "$", &mut errors);
    errors
}

fn type_matches(name: &str, v: &Value) -> bool {
    match name {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("schema: unknown type {other}"),
    }
}

fn check(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        errors.push(format!("{at}: the schema here is not an object"));
        return;
    };
    for key in s.keys() {
        if !KNOWN.contains(&key.as_str()) {
            errors.push(format!("{at}: schema keyword {key} is not checked"));
        }
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r
            .strip_prefix("#/$defs/")
            .expect("only #/$defs/ references");
        match root["$defs"].get(name) {
            Some(def) => check(root, def, v, at, errors),
            None => errors.push(format!("{at}: no definition {name}")),
        }
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(n) => type_matches(n, v),
            Value::Array(ns) => ns.iter().any(|n| type_matches(n.as_str().unwrap(), v)),
            _ => false,
        };
        if !ok {
            errors.push(format!("{at}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        if !values.contains(v) {
            errors.push(format!(
                "{at}: {v} is not one of {}",
                Value::Array(values.clone())
            ));
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errors.push(format!("{at}: {v} is not {c}"));
        }
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        let branches: Vec<Vec<String>> = any
            .iter()
            .map(|b| {
                let mut e = Vec::new();
                check(root, b, v, at, &mut e);
                e
            })
            .collect();
        if branches.iter().all(|e| !e.is_empty()) {
            errors.push(format!(
                "{at}: matches no anyOf branch: {}",
                branches.concat().join("; ")
            ));
        }
    }
    let number = |key: &str| s.get(key).and_then(Value::as_f64);
    if let (Some(min), Some(x)) = (number("minimum"), v.as_f64()) {
        if x < min {
            errors.push(format!("{at}: {x} < {min}"));
        }
    }
    if let (Some(max), Some(x)) = (number("maximum"), v.as_f64()) {
        if x > max {
            errors.push(format!("{at}: {x} > {max}"));
        }
    }
    if let Some(obj) = v.as_object() {
        if let Some(req) = s.get("required").and_then(Value::as_array) {
            for k in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(k) {
                    errors.push(format!("{at}: missing {k}"));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(props) = props {
            for (k, sub) in props {
                if let Some(x) = obj.get(k) {
                    check(root, sub, x, &format!("{at}.{k}"), errors);
                }
            }
        }
        if s.get("additionalProperties") == Some(&Value::Bool(false)) {
            for k in obj.keys() {
                if !props.is_some_and(|p| p.contains_key(k)) {
                    errors.push(format!("{at}: {k} is not in the schema"));
                }
            }
        }
    }
    if let Some(items) = v.as_array() {
        if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                errors.push(format!("{at}: fewer than {min} items"));
            }
        }
        if let Some(sub) = s.get("items") {
            for (i, x) in items.iter().enumerate() {
                check(root, sub, x, &format!("{at}[{i}]"), errors);
            }
        }
    }
}

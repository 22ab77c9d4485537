//! Request bodies (JSON or form-urlencoded with bracket keys) parsed into one `serde_json::Value`,
//! and typed accessors that produce KOMOJU error bodies.

use serde_json::{Map, Value};

use super::model::ApiError;

/// Parses a request body. JSON when the content type says so (or the body looks like JSON),
/// otherwise `application/x-www-form-urlencoded` with Rails-style keys (`a[b]`, `a[]`, `a[][b]`).
pub(crate) fn parse_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::new(400, "bad_request", "The request body is not valid UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let looks_json = text.trim_start().starts_with('{');
    if ct.contains("json") || (!ct.contains("form") && looks_json) {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            ApiError::new(
                400,
                "bad_request",
                format!("The request body is not valid JSON: {e}"),
            )
        })?;
        if !v.is_object() {
            return Err(ApiError::new(
                400,
                "bad_request",
                "The request body must be a JSON object",
            ));
        }
        return Ok(v);
    }
    Ok(parse_form(text))
}

/// Form-urlencoded → nested JSON (all leaves are strings).
pub(crate) fn parse_form(text: &str) -> Value {
    let mut root = Value::Object(Map::new());
    for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
        let path = split_key(&k);
        insert(&mut root, &path, Value::String(v.into_owned()));
    }
    root
}

/// `payment_data[external_order_num]` → ["payment_data", "external_order_num"]; `a[]` → ["a", ""].
fn split_key(k: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (head, mut rest) = match k.find('[') {
        Some(i) => (&k[..i], &k[i..]),
        None => (k, ""),
    };
    out.push(head.to_string());
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(j) => {
                out.push(stripped[..j].to_string());
                rest = &stripped[j + 1..];
            }
            None => break,
        }
    }
    out
}

fn insert(node: &mut Value, path: &[String], leaf: Value) {
    let Some((first, rest)) = path.split_first() else {
        *node = leaf;
        return;
    };
    if first.is_empty() || first.chars().all(|c| c.is_ascii_digit()) {
        // Array segment: `[]` or `[0]`.
        if !node.is_array() {
            *node = Value::Array(Vec::new());
        }
        let arr = node.as_array_mut().expect("array");
        if rest.is_empty() {
            arr.push(leaf);
            return;
        }
        let idx: Option<usize> = first.parse().ok();
        let target = match idx {
            Some(i) => {
                while arr.len() <= i {
                    arr.push(Value::Object(Map::new()));
                }
                i
            }
            None => {
                // `a[][b]=..`: start a new element when the last one already has this key.
                let need_new = match arr.last() {
                    Some(Value::Object(m)) => m.contains_key(&rest[0]),
                    _ => true,
                };
                if need_new {
                    arr.push(Value::Object(Map::new()));
                }
                arr.len() - 1
            }
        };
        insert(&mut arr[target], rest, leaf);
    } else {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let obj = node.as_object_mut().expect("object");
        let child = obj.entry(first.clone()).or_insert(Value::Null);
        insert(child, rest, leaf);
    }
}

/// Integer from a JSON number or a decimal string (form bodies). `Ok(None)` when absent/null.
pub(crate) fn get_int(v: &Value, key: &str, param: &str) -> Result<Option<i64>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(param, "must be an integer")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid(param, "must be an integer")),
        Some(_) => Err(ApiError::invalid(param, "must be an integer")),
    }
}

/// String (numbers are accepted and converted). `Ok(None)` when absent/null.
pub(crate) fn get_str(v: &Value, key: &str, param: &str) -> Result<Option<String>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::invalid(param, "must be a string")),
    }
}

pub(crate) fn get_bool(v: &Value, key: &str, param: &str) -> Result<Option<bool>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(ApiError::invalid(param, "must be true or false")),
        },
        Some(_) => Err(ApiError::invalid(param, "must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_brackets() {
        let v = parse_form(
            "amount=1000&payment_data%5Bexternal_order_num%5D=X1&payment_types[]=credit_card&payment_types[]=konbini&line_items[][amount]=1&line_items[][description]=a&line_items[][amount]=2&metadata[k]=v",
        );
        assert_eq!(
            v,
            json!({"amount": "1000", "payment_data": {"external_order_num": "X1"},
                   "payment_types": ["credit_card", "konbini"],
                   "line_items": [{"amount": "1", "description": "a"}, {"amount": "2"}],
                   "metadata": {"k": "v"}})
        );
    }
}

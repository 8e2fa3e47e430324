//! Completes the generated OpenAPI document with the answers that the shared extractors and
//! middleware give every operation of a kind (a bad path, a missing token, a body that is not
//! JSON …), so each operation lists every status it can return and a generated client or a
//! schema fuzzer finds no undocumented one.

use serde_json::{Value, json};

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    })
}

/// Adds `status` to `responses` unless the operation already documents it.
fn add(responses: &mut serde_json::Map<String, Value>, status: &str, description: &str) {
    responses
        .entry(status.to_string())
        .or_insert_with(|| error(description));
}

/// The statuses every operation of `doc` can return besides its own, added in place.
pub fn complete(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Ok(m) = method.to_uppercase().parse::<axum::http::Method>() else {
                continue;
            };
            if !matches!(
                m,
                axum::http::Method::GET
                    | axum::http::Method::POST
                    | axum::http::Method::PUT
                    | axum::http::Method::PATCH
                    | axum::http::Method::DELETE
            ) {
                continue;
            }
            complete_operation(path, &m, op);
        }
    }
}

fn complete_operation(path: &str, method: &axum::http::Method, op: &mut Value) {
    let secured = op.get("security").is_some();
    let params: Vec<String> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("in").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let body_types: Vec<String> = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    let csv = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| {
            ps.iter()
                .any(|p| p["in"] == "query" && p["name"] == "format")
        });
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    // `format=csv` answers the same 200 as a CSV download.
    if csv
        && let Some(content) = responses
            .get_mut("200")
            .and_then(|r| r.get_mut("content"))
            .and_then(Value::as_object_mut)
    {
        content
            .entry("text/csv")
            .or_insert_with(|| json!({"schema": {"type": "string"}}));
    }
    for r in responses.values_mut() {
        if let Some(o) = r.as_object_mut()
            && !o.contains_key("description")
        {
            o.insert("description".into(), Value::from(""));
        }
    }
    if secured {
        add(
            responses,
            "401",
            "No credential, or one that is not valid (`auth.missing_credentials`, `auth.invalid_token`, `auth.token_expired`, `auth.session_revoked`)",
        );
    }
    if params.iter().any(|p| p == "path") {
        add(
            responses,
            "400",
            "A path parameter of the wrong shape (`request.invalid_path`)",
        );
    }
    if params.iter().any(|p| p == "query") {
        add(
            responses,
            "400",
            "An unknown or malformed query parameter (`request.invalid_query`)",
        );
    }
    if body_types.iter().any(|t| t == "application/json") {
        add(
            responses,
            "400",
            "Malformed JSON or an unknown field (`request.malformed_json`, `request.unknown_field`)",
        );
        add(
            responses,
            "413",
            "The body is over the limit (`request.too_large`)",
        );
        add(
            responses,
            "415",
            "The body is not sent as `application/json` (`request.unsupported_media_type`)",
        );
        add(
            responses,
            "422",
            "A field of the wrong type, missing or refused (`validation.*` and the operation's codes)",
        );
    } else if !body_types.is_empty() {
        add(
            responses,
            "413",
            "The body is over the limit (`request.too_large`)",
        );
    }
    if path.starts_with("/api/v1/tenants/{id}") {
        add(
            responses,
            "404",
            "No such tenant, or not the caller's (`resource.not_found`)",
        );
        if crate::http::roles::needs(method, path) != crate::http::roles::Needs::Read {
            add(
                responses,
                "403",
                "The caller's role does not allow it (`auth.read_only`, `auth.forbidden`, `auth.admin_required`), or the tenant is suspended (`tenant.suspended`)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_answers_are_added_where_they_can_happen() {
        let mut doc = json!({"paths": {
            "/api/v1/tenants/{id}/templates": {"post": {
                "security": [{"bearer": []}],
                "parameters": [{"in": "path", "name": "id"}],
                "requestBody": {"content": {"application/json": {}}},
                "responses": {"201": {"description": "made"}}
            }},
            "/api/v1/setup": {"get": {"responses": {"200": {}}}}
        }});
        complete(&mut doc);
        let post = &doc["paths"]["/api/v1/tenants/{id}/templates"]["post"]["responses"];
        for s in ["201", "400", "401", "403", "404", "413", "415", "422"] {
            assert!(post.get(s).is_some(), "{s} missing: {post}");
        }
        let get = &doc["paths"]["/api/v1/setup"]["get"]["responses"];
        assert_eq!(get.as_object().map(|o| o.len()), Some(1), "{get}");
        assert_eq!(get["200"]["description"], "");
    }
}

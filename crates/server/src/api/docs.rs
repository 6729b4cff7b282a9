//! `/api/docs`: the OpenAPI document as a plain page in Chinese, rendered on the server from the
//! same document `/api/openapi.json` serves (no script, nothing fetched from elsewhere): the
//! conventions every operation shares, then each operation by tag with its parameters, request
//! body and answers.

use askama::Template;
use serde_json::Value;

/// One parameter as the page lists it.
struct ParamView {
    name: String,
    place: &'static str,
    required: bool,
    kind: String,
    description: String,
}

/// One answer (status code) of an operation.
struct AnswerView {
    status: String,
    description: String,
    schema: String,
}

struct OperationView {
    method: String,
    path: String,
    summary: String,
    description: String,
    params: Vec<ParamView>,
    body: String,
    answers: Vec<AnswerView>,
}

struct TagView {
    name: String,
    description: String,
    operations: Vec<OperationView>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct DocsPage {
    title: String,
    version: String,
    description: String,
    tags: Vec<TagView>,
    operations: usize,
}

/// The name of a `$ref`d schema, or the JSON type of an inline one (`integer`, `string`, …).
fn schema_label(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or_default().to_owned();
    }
    match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => {
            types.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect::<Vec<_>>().join("/")
        }
        _ => String::new(),
    }
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn operation_view(method: &str, path: &str, op: &Value) -> OperationView {
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| ParamView {
            name: text(p, "name"),
            place: match p.get("in").and_then(Value::as_str) {
                Some("path") => "路径",
                Some("query") => "查询",
                Some("header") => "请求头",
                _ => "其他",
            },
            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
            kind: p.get("schema").map(schema_label).unwrap_or_default(),
            description: text(p, "description"),
        })
        .collect();
    let body = op.pointer("/requestBody/content/application~1json/schema").map(schema_label).unwrap_or_default();
    let answers = op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(status, answer)| AnswerView {
            status: status.clone(),
            description: text(answer, "description"),
            schema: answer.pointer("/content/application~1json/schema").map(schema_label).unwrap_or_default(),
        })
        .collect();
    OperationView {
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: text(op, "summary"),
        description: text(op, "description"),
        params,
        body,
        answers,
    }
}

/// The page for `doc`.
pub fn render(doc: &utoipa::openapi::OpenApi) -> String {
    let doc = serde_json::to_value(doc).unwrap_or_default();
    let mut tags: Vec<TagView> = doc
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| TagView { name: text(t, "name"), description: text(t, "description"), operations: Vec::new() })
        .collect();
    let mut count = 0;
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let tag = op.pointer("/tags/0").and_then(Value::as_str).unwrap_or_default().to_owned();
            let view = operation_view(method, path, op);
            count += 1;
            match tags.iter_mut().find(|t| t.name == tag) {
                Some(t) => t.operations.push(view),
                None => tags.push(TagView { description: tag.clone(), name: tag, operations: vec![view] }),
            }
        }
    }
    tags.retain(|t| !t.operations.is_empty());
    let page = DocsPage {
        title: doc.pointer("/info/title").and_then(Value::as_str).unwrap_or_default().to_owned(),
        version: doc.pointer("/info/version").and_then(Value::as_str).unwrap_or_default().to_owned(),
        description: doc.pointer("/info/description").and_then(Value::as_str).unwrap_or_default().to_owned(),
        tags,
        operations: count,
    };
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "api docs page");
        String::new()
    })
}

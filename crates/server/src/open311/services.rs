//! GeoReport v2 service discovery, the service list (`services.json`, `services.xml`) and a
//! service's definition (`services/{code}.json`): the attributes its form asks for beyond the
//! standard fields (`first_name`/`last_name`, `phone`, `description`, `address_id`).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use xiaowei_core::message::{MessageKind, PhoneRule};
use xiaowei_core::open311::ServiceCode;
use xiaowei_store::ServiceItem;

use super::{Open311Error, XML, json, xml_list};
use crate::state::AppState;

/// One service as GeoReport v2 lists it.
#[derive(Debug, Serialize)]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// Whether `services/{code}.json` lists attributes.
    pub metadata: bool,
    /// Always `realtime`: a request gets its id at once.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub keywords: String,
    pub group: String,
}

/// One attribute of a service definition.
#[derive(Debug, Serialize)]
pub struct Attribute {
    pub variable: bool,
    pub code: &'static str,
    pub datatype: &'static str,
    pub required: bool,
    pub datatype_description: String,
    pub order: u32,
    pub description: String,
    pub values: Vec<Value>,
}

#[derive(Debug, Serialize)]
pub struct Value {
    pub key: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Definition {
    pub service_code: String,
    pub attributes: Vec<Attribute>,
}

fn item_service(item: &ServiceItem) -> Service {
    let limit = item.time_limit.label();
    let mut description = item.conditions.trim().to_owned();
    if !limit.is_empty() {
        description.push_str(&format!("（办理时限：{limit}）"));
    }
    Service {
        service_code: ServiceCode::Item(item.id).to_string(),
        service_name: item.name.clone(),
        description,
        metadata: true,
        kind: "realtime",
        keywords: format!("我要办事,{}", item.department_name),
        group: item.department_name.clone(),
    }
}

fn message_service(kind: MessageKind, complaint_days: u32) -> Option<Service> {
    let code = ServiceCode::for_message(kind)?;
    let phone = if kind.phone_rule() == PhoneRule::Required { "须留手机号；" } else { "" };
    Some(Service {
        service_code: code.to_string(),
        service_name: format!("留言箱：{}", kind.label()),
        description: format!("{}。{phone}{}个工作日内答复", kind.hint(), kind.reply_days(complaint_days)),
        metadata: kind.may_be_public(),
        kind: "realtime",
        keywords: format!("留言箱,{}", kind.label()),
        group: "留言箱".to_owned(),
    })
}

/// Every service: the active items by department, then the message kinds (never 举报).
async fn all(state: &AppState) -> Result<Vec<Service>, Open311Error> {
    let mut out: Vec<Service> = state.store().service_items(true).await?.iter().map(item_service).collect();
    let days = state.config().complaint_reply_days;
    out.extend(MessageKind::ALL.into_iter().filter_map(|k| message_service(k, days)));
    Ok(out)
}

pub async fn list_json(State(state): State<AppState>) -> Result<Response, Open311Error> {
    Ok(json(all(&state).await?, false))
}

pub async fn list_xml(State(state): State<AppState>) -> Result<Response, Open311Error> {
    let services = all(&state).await.map_err(Open311Error::in_xml)?;
    let body = xml_list("services", "service", &services).map_err(Open311Error::in_xml)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(XML))], body).into_response())
}

/// `services/{code}.json`: the attributes of one service.
pub async fn definition(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, Open311Error> {
    let code = file
        .strip_suffix(".json")
        .ok_or_else(|| Open311Error::invalid("服务定义只提供JSON格式：请使用 services/{service_code}.json"))?;
    let attributes = match ServiceCode::parse(code) {
        Some(ServiceCode::Item(id)) => {
            let item = state
                .store()
                .find_service_item(id)
                .await?
                .filter(|i| i.active)
                .ok_or_else(|| Open311Error::not_found("该服务（service_code）"))?;
            vec![Attribute {
                variable: true,
                code: "id_number",
                datatype: "string",
                required: item.requires_id,
                datatype_description: "18位居民身份证号码".to_owned(),
                order: 1,
                description: if item.requires_id {
                    "申请人身份证号（本事项必填，加密保存，不公开）".to_owned()
                } else {
                    "申请人身份证号（选填，加密保存，不公开）".to_owned()
                },
                values: Vec::new(),
            }]
        }
        Some(ServiceCode::Message(kind)) if kind.may_be_public() => vec![Attribute {
            variable: true,
            code: "public",
            datatype: "singlevaluelist",
            required: false,
            datatype_description: "是否同意答复后在留言箱公开（隐去姓名和号码）".to_owned(),
            order: 1,
            description: "同意公开".to_owned(),
            values: vec![Value { key: "1", name: "同意公开" }, Value { key: "0", name: "不公开" }],
        }],
        Some(ServiceCode::Message(_)) => Vec::new(),
        None => return Err(Open311Error::not_found("该服务（service_code）")),
    };
    Ok(json(Definition { service_code: code.to_owned(), attributes }, false))
}

/// The GeoReport v2 discovery document.
#[derive(Serialize)]
pub struct Discovery {
    pub changeset: String,
    pub contact: String,
    pub key_service: String,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Serialize)]
pub struct Endpoint {
    pub specification: &'static str,
    pub url: String,
    pub changeset: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub formats: Vec<&'static str>,
}

pub async fn discovery(State(state): State<AppState>) -> Result<Response, Open311Error> {
    let changeset = "2026-01-01T00:00:00+08:00".to_owned();
    Ok(json(
        Discovery {
            changeset: changeset.clone(),
            contact: "县级管理员（工作人员后台）".to_owned(),
            key_service: "接口密钥由县级管理员在工作人员后台“接口密钥”页面签发".to_owned(),
            endpoints: vec![Endpoint {
                specification: "http://wiki.open311.org/GeoReport_v2",
                url: state.config().public_link("/open311/v2"),
                changeset,
                kind: "production",
                formats: vec!["application/json", "text/xml"],
            }],
        },
        false,
    ))
}

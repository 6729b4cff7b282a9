//! Uploaded files: the one size limit every form states (8 MB a file, [`MAX_FILE_BYTES`]), the
//! request body limits derived from it with a Chinese refusal instead of a reset connection, and
//! the bounded pool where uploaded spreadsheets are parsed, so that a few large or hostile files
//! can neither take every core from the public pages nor hold many parses in memory at once.

use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::Semaphore;

use crate::app::photos::MAX_PHOTOS;
use crate::web::error::AppError;

/// The largest file any form accepts.
pub const MAX_FILE_BYTES: usize = xiaowei_integrations::MAX_UPLOAD_BYTES as usize;
/// The same, in the MB the forms show.
pub const MAX_FILE_MB: usize = MAX_FILE_BYTES / (1024 * 1024);
/// Text fields and multipart framing around the files.
const FORM_OVERHEAD_BYTES: usize = 1024 * 1024;
/// The largest request body: a form with its most files, each at the limit.
pub const MAX_BODY_BYTES: usize = MAX_PHOTOS * MAX_FILE_BYTES + FORM_OVERHEAD_BYTES;
/// How much of a refused body is read and dropped, so the client sees the answer rather than a
/// reset connection; beyond this the connection is simply closed.
const MAX_DRAIN_BYTES: usize = 4 * MAX_BODY_BYTES;

/// The refusal of a file over the limit; `what` names the field (文件, 照片).
pub fn too_large(what: &str) -> AppError {
    AppError::TooLarge(format!("{what}过大：单个文件不能超过{MAX_FILE_MB}MB，请压缩或拆分后重新上传"))
}

/// Refuses a body announced larger than [`MAX_BODY_BYTES`] with a Chinese page, after reading
/// and dropping it; a body without a length is cut at the limit when a handler reads it.
pub async fn limit(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES) {
        let mut stream = request.into_body().into_data_stream();
        let mut read = 0;
        let drain = async {
            while let Some(Ok(chunk)) = stream.next().await {
                read += chunk.len();
                if read > MAX_DRAIN_BYTES {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(60), drain).await;
        let mut response = too_large("提交的内容").into_response();
        if read > MAX_DRAIN_BYTES {
            response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        }
        return response;
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES));
    next.run(Request::from_parts(parts, body)).await
}

/// Spreadsheets parsed at once: one per two cores, at least one.
static SHEET_PERMITS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = crate::app::cores();
    Semaphore::new(cores.div_ceil(2))
});
/// How long an upload waits for a parsing slot before it is refused.
const SHEET_WAIT: Duration = Duration::from_secs(30);

/// Runs a spreadsheet parse on the blocking pool once a parsing slot is free; refused with a
/// Chinese message when none frees up in time.
pub async fn parse_sheet<T: Send + 'static>(parse: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    let permit = tokio::time::timeout(SHEET_WAIT, SHEET_PERMITS.acquire())
        .await
        .map_err(|_| AppError::Throttled("正在处理的文件较多，请稍后再上传"))?
        .map_err(|_| AppError::Internal("sheet permits closed".into()))?;
    let parsed =
        tokio::task::spawn_blocking(parse).await.map_err(|e| AppError::Internal(format!("sheet parse task: {e}")));
    drop(permit);
    parsed
}

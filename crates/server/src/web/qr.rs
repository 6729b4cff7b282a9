//! QR codes as SVG images: for a text (an address) and as a cacheable `image/svg+xml` answer.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::web::error::AppError;

/// The SVG of `text`'s QR code (error correction M, quiet zone), at least `size` pixels wide.
pub fn svg(text: &str, size: u32) -> Result<String, AppError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("qr: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(size, size).quiet_zone(true).build())
}

/// `text`'s QR code as an image answer, cached for a day.
pub fn svg_response(text: &str, size: u32) -> Result<Response, AppError> {
    let svg = svg(text, size)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], svg)
        .into_response())
}

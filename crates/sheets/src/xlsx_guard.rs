//! Limits an xlsx must meet before calamine opens it. An xlsx is a zip archive, and a small one
//! can inflate to gigabytes (a "zip bomb"): calamine would hold the whole shared-string table in
//! memory. This checks the archive's declared sizes and compression ratios, then inflates every
//! part into nothing, counting, so a part that lies about its size is stopped at the limit too;
//! it reads the shared-string count and each worksheet's declared extent from the parts' first
//! bytes. Nothing inflated is kept.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use crate::error::SheetError;
use crate::read::{MAX_CELLS, MAX_COLUMNS, MAX_ROWS};

const MIB: u64 = 1024 * 1024;
/// The most one part may inflate to.
pub const MAX_PART_BYTES: u64 = 256 * MIB;
/// The most the shared-string table may inflate to (calamine keeps all of it in memory).
pub const MAX_SHARED_STRINGS_BYTES: u64 = 64 * MIB;
/// The most all parts together may inflate to.
pub const MAX_TOTAL_BYTES: u64 = 512 * MIB;
/// Inflated size over compressed size above which a part is refused, once over
/// [`RATIO_FLOOR_BYTES`] (Apache POI refuses the same ratio by default).
pub const MAX_RATIO: u64 = 100;
const RATIO_FLOOR_BYTES: u64 = MIB;
/// How much of a part's beginning is searched for its header attributes.
const HEAD_BYTES: usize = 16 * 1024;

const SHARED_STRINGS: &str = "xl/sharedStrings.xml";

fn refuse(why: String) -> SheetError {
    SheetError::Bomb(why)
}

/// A part's name as shown in a message: short, whatever the archive says.
fn shown(name: &str) -> String {
    name.chars().take(60).collect()
}

/// Checks an xlsx archive against the limits above; `Ok` means calamine may open it.
pub fn check(bytes: &[u8]) -> Result<(), SheetError> {
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|e| SheetError::Corrupt(format!("压缩包结构无效（{e}）")))?;
    let mut declared_total: u64 = 0;
    for i in 0..archive.len() {
        let part = archive.by_index_raw(i).map_err(|e| SheetError::Corrupt(format!("压缩包结构无效（{e}）")))?;
        let name = part.name().to_owned();
        check_size(&name, part.size(), part.compressed_size())?;
        declared_total = declared_total.saturating_add(part.size());
        if declared_total > MAX_TOTAL_BYTES {
            return Err(refuse(format!("解压后总大小超过 {} MB", MAX_TOTAL_BYTES / MIB)));
        }
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).map_err(|e| SheetError::Corrupt(format!("压缩包结构无效（{e}）")))?;
        let name = part.name().to_owned();
        let compressed = part.compressed_size();
        let mut head = Vec::new();
        let inflated = inflate_counting(&mut part, limit_of(&name), &mut head)
            .map_err(|e| SheetError::Corrupt(format!("{} 无法解压（{e}）", shown(&name))))?;
        check_size(&name, inflated, compressed)?;
        total = total.saturating_add(inflated);
        if total > MAX_TOTAL_BYTES {
            return Err(refuse(format!("解压后总大小超过 {} MB", MAX_TOTAL_BYTES / MIB)));
        }
        if name == SHARED_STRINGS {
            check_shared_strings(&head)?;
        } else if name.starts_with("xl/worksheets/") && name.ends_with(".xml") {
            check_dimension(&name, &head)?;
        }
    }
    Ok(())
}

fn limit_of(name: &str) -> u64 {
    if name == SHARED_STRINGS { MAX_SHARED_STRINGS_BYTES } else { MAX_PART_BYTES }
}

fn check_size(name: &str, inflated: u64, compressed: u64) -> Result<(), SheetError> {
    let limit = limit_of(name);
    if inflated > limit {
        return Err(refuse(format!("{} 解压后超过 {} MB", shown(name), limit / MIB)));
    }
    if inflated > RATIO_FLOOR_BYTES && inflated / compressed.max(1) > MAX_RATIO {
        return Err(refuse(format!("{} 的压缩比异常（解压后超过原来的 {MAX_RATIO} 倍）", shown(name))));
    }
    Ok(())
}

/// Inflates a part into nothing, stopping one byte past `limit`; keeps its first bytes in `head`.
fn inflate_counting(part: &mut impl Read, limit: u64, head: &mut Vec<u8>) -> std::io::Result<u64> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = part.read(&mut buffer)?;
        if n == 0 {
            return Ok(total);
        }
        if head.len() < HEAD_BYTES {
            let take = n.min(HEAD_BYTES - head.len());
            head.extend_from_slice(&buffer[..take]);
        }
        total += n as u64;
        if total > limit {
            return Ok(total);
        }
    }
}

/// The value of `attribute` in the first `<element …>` tag of `head`, if any.
fn attribute<'a>(head: &'a [u8], element: &str, attribute: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(head).ok().or_else(|| {
        let valid = std::str::from_utf8(head).err()?.valid_up_to();
        std::str::from_utf8(&head[..valid]).ok()
    })?;
    let open = format!("<{element}");
    let start = text
        .match_indices(&open)
        .map(|(i, _)| i)
        .find(|&i| text[i + open.len()..].starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/'))?;
    let tag = &text[start..start + text[start..].find('>')?];
    let key = format!(" {attribute}=\"");
    let from = tag.find(&key)? + key.len();
    Some(&tag[from..from + tag[from..].find('"')?])
}

fn check_shared_strings(head: &[u8]) -> Result<(), SheetError> {
    for name in ["uniqueCount", "count"] {
        if let Some(n) = attribute(head, "sst", name).and_then(|v| v.parse::<u64>().ok())
            && n > MAX_CELLS as u64
        {
            return Err(refuse(format!("共享字符串表声明了 {n} 个字符串，最多 {MAX_CELLS} 个")));
        }
    }
    Ok(())
}

/// Refuses a worksheet whose declared extent (`<dimension ref="A1:Z100"/>`) is over the limits.
fn check_dimension(name: &str, head: &[u8]) -> Result<(), SheetError> {
    let Some(range) = attribute(head, "dimension", "ref") else { return Ok(()) };
    let last = range.rsplit(':').next().unwrap_or(range);
    let letters: String = last.chars().take_while(char::is_ascii_alphabetic).collect();
    let column = letters
        .chars()
        .fold(0u64, |n, c| n.saturating_mul(26).saturating_add(u64::from(c.to_ascii_uppercase() as u8 - b'A' + 1)));
    let row = last[letters.len()..].parse::<u64>().unwrap_or(0);
    if row > MAX_ROWS as u64 || column > MAX_COLUMNS as u64 {
        return Err(refuse(format!(
            "{} 声明的范围 {} 过大（最多 {MAX_ROWS} 行、{MAX_COLUMNS} 列）",
            shown(name),
            range.chars().take(40).collect::<String>()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    /// A zip archive of the given parts, deflated at the highest level.
    fn archive(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9));
        for (name, content) in parts {
            writer.start_file(*name, options).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn is_bomb(result: Result<Vec<Vec<String>>, SheetError>) -> bool {
        matches!(result, Err(SheetError::Bomb(_)))
    }

    #[test]
    fn a_shared_string_table_that_inflates_a_hundredfold_is_refused_before_calamine_reads_it() {
        let bytes = crate::shared_strings_bomb(8 * MIB as usize).unwrap();
        assert!(bytes.len() < 64 * 1024, "the bomb is small: {} bytes", bytes.len());
        let result = crate::read_grid(&bytes);
        assert!(is_bomb(result.clone()), "{result:?}");
        assert!(result.unwrap_err().to_string().contains("压缩比异常"));
    }

    #[test]
    fn a_declared_shared_string_count_over_the_cell_limit_is_refused() {
        let strings = b"<?xml version=\"1.0\"?>\n<sst xmlns=\"x\" count=\"900000000\" uniqueCount=\"900000000\"><si><t>a</t></si></sst>";
        let result = crate::read_grid(&archive(&[(SHARED_STRINGS, strings)]));
        assert!(result.clone().unwrap_err().to_string().contains("共享字符串"), "{result:?}");
    }

    #[test]
    fn a_worksheet_declaring_a_million_rows_is_refused() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        sheet.write_string(1_048_575, 16_383, "x").unwrap();
        let result = crate::read_grid(&book.save_to_buffer().unwrap());
        assert!(result.clone().unwrap_err().to_string().contains("XFD1048576"), "{result:?}");
    }

    #[test]
    fn an_ordinary_workbook_passes() {
        check(&crate::sample_roster_xlsx(200, 1).unwrap()).unwrap();
    }

    #[test]
    fn attributes_are_read_from_the_first_matching_tag() {
        let head = b"<worksheet><dimensionX ref=\"A1\"/><dimension ref=\"A1:C20\"/>";
        assert_eq!(attribute(head, "dimension", "ref"), Some("A1:C20"));
        assert_eq!(attribute(b"<sst count=\"5\">", "sst", "uniqueCount"), None);
    }
}

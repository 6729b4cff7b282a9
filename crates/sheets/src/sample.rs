//! Synthetic rosters for tests, demos and benchmarks: deterministic names, groups, amounts,
//! accounts and valid, unique ID numbers. Never real people.

use xiaowei_core::Fen;
use xiaowei_core::resident_id::check_char;

use crate::calendar::{civil_from_days, days_from_civil};
use crate::error::SheetError;
use crate::read::MAX_ROWS;
use crate::write::{ExportRoster, ExportRow, roster_xlsx};

const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋",
];
const GIVEN: [&str; 32] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞",
    "平", "刚", "桂", "英", "华", "玉", "兰", "建", "国", "文", "德", "春", "生",
];
const GROUPS: [&str; 8] = ["一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组"];
const REGIONS: [&str; 4] = ["620921", "620922", "620923", "620924"];

/// Birth dates run over this many days from 1940-01-01; with 1,000 sequence numbers per day
/// this gives 20 million distinct ID numbers.
const BIRTH_DAYS: u64 = 20_000;
const ID_SPACE: u64 = BIRTH_DAYS * 1_000;
/// Coprime with `ID_SPACE` (= 2⁸·5⁷), so `i ↦ i·STEP + seed` is a permutation of it.
const STEP: u64 = 7_919;

/// A roster of `rows` people as xlsx, the same for the same `seed`. It reads back and checks
/// clean. At most [`MAX_ROWS`] rows.
pub fn sample_roster_xlsx(rows: usize, seed: u64) -> Result<Vec<u8>, SheetError> {
    if rows > MAX_ROWS {
        return Err(SheetError::TooManyRows(MAX_ROWS));
    }
    let rows = (0..rows as u64)
        .map(|i| {
            let mut random = SplitMix(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let region = REGIONS[random.below(REGIONS.len())];
            let mut name = SURNAMES[random.below(SURNAMES.len())].to_owned();
            for _ in 0..1 + random.below(2) {
                name.push_str(GIVEN[random.below(GIVEN.len())]);
            }
            ExportRow {
                name,
                resident_id: sample_id(i, seed, region),
                group: Some(GROUPS[random.below(GROUPS.len())].to_owned()),
                amount: Fen::new(10_000 + random.below(290_000) as i64).unwrap_or_default(),
                account: Some(format!("622848{:013}", random.next() % 10_000_000_000_000)),
                note: (random.below(10) == 0).then(|| "新增".to_owned()),
            }
        })
        .collect();
    roster_xlsx(&ExportRoster {
        title: "样例村补贴发放花名册".to_owned(),
        subtitle: vec!["单位：元（样例数据，非真实人员）".to_owned()],
        with_account: true,
        rows,
    })
}

/// The valid ID number of row `index`: birth date and sequence number come from a permutation
/// of the ID space, so different rows of the same seed never share a number.
fn sample_id(index: u64, seed: u64, region: &str) -> String {
    let key = (index * STEP + seed % ID_SPACE) % ID_SPACE;
    let (year, month, day) = civil_from_days(days_from_civil(1940, 1, 1) + (key / 1_000) as i64);
    let sequence = key % 1_000;
    let body = format!("{region}{year:04}{month:02}{day:02}{sequence:03}");
    let mut digits = [0u32; 17];
    for (slot, byte) in digits.iter_mut().zip(body.bytes()) {
        *slot = u32::from(byte - b'0');
    }
    let mut id = body;
    id.push(check_char(&digits));
    id
}

/// A small, fast, deterministic pseudo-random generator (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A hostile workbook for tests and benchmarks: a real xlsx whose shared-string table is one
/// string of `inflated` bytes, deflated to about a thousandth of that (a "zip bomb").
pub fn shared_strings_bomb(inflated: usize) -> Result<Vec<u8>, SheetError> {
    use std::io::{Cursor, Write};

    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().write_string(0, 0, "姓名")?;
    let plain = book.save_to_buffer()?;
    let broken = |e: zip::result::ZipError| SheetError::Write(e.to_string());
    let io = |e: std::io::Error| SheetError::Write(e.to_string());
    let mut source = zip::ZipArchive::new(Cursor::new(plain)).map_err(broken)?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..source.len() {
        let part = source.by_index_raw(i).map_err(broken)?;
        if part.name() != "xl/sharedStrings.xml" {
            out.raw_copy_file(part).map_err(broken)?;
        }
    }
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    out.start_file("xl/sharedStrings.xml", options).map_err(broken)?;
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n").map_err(io)?;
    out.write_all(b"<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"1\" uniqueCount=\"1\"><si><t>")
        .map_err(io)?;
    let chunk = vec![b'a'; 1024 * 1024];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n]).map_err(io)?;
        left -= n;
    }
    out.write_all(b"</t></si></sst>").map_err(io)?;
    Ok(out.finish().map_err(broken)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::check_file;
    use std::collections::HashSet;

    #[test]
    fn a_thousand_row_sample_checks_clean() {
        let bytes = sample_roster_xlsx(1000, 7).unwrap_or_default();
        let check = check_file(&bytes, None).unwrap_or_default();
        assert!(check.is_clean(), "{:?}", &check.errors[..check.errors.len().min(5)]);
        assert_eq!(check.lines.len(), 1000);
        assert_eq!(check.lines[0].row, 4, "title, subtitle and header come first");
        assert!(check.lines.iter().all(|l| l.account.as_ref().is_some_and(|a| a.len() == 19)));
    }

    #[test]
    fn the_same_seed_gives_the_same_roster() {
        // Cells, not bytes: the workbook's properties carry the second it was written.
        let cells = |seed| sample_roster_xlsx(50, seed).ok().and_then(|bytes| crate::read::read_grid(&bytes).ok());
        assert!(cells(1).is_some());
        assert_eq!(cells(1), cells(1));
        assert_ne!(cells(1), cells(2));
    }

    #[test]
    fn generated_ids_are_unique_and_valid_across_two_hundred_thousand_rows() {
        let mut seen = HashSet::new();
        for i in 0..MAX_ROWS as u64 {
            let id = sample_id(i, 12_345, "620922");
            assert!(seen.insert(id), "row {i}");
        }
        for id in seen.iter().take(2_000) {
            assert!(xiaowei_core::ResidentId::parse(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn more_rows_than_a_file_may_have_are_refused() {
        assert_eq!(sample_roster_xlsx(MAX_ROWS + 1, 0), Err(SheetError::TooManyRows(MAX_ROWS)));
    }
}

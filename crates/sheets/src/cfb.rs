//! A structural check of .xls files (OLE2 compound files holding BIFF records) before calamine
//! parses them. Calamine trusts the sector numbers, lengths and sheet dimensions it reads: on a
//! damaged file it can try to allocate terabytes or follow a sector chain forever, which aborts
//! the process instead of returning an error. This walks the same structures with bounds and
//! cycle checks first.

use crate::error::SheetError;
use crate::read::{MAX_COLUMNS, MAX_ROWS};

const HEADER_SIZE: usize = 512;
const DIFSECT: u32 = 0xFFFF_FFFC;
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
const FIRST_RESERVED: u32 = 0xFFFF_FFFA;
const MINI_SECTOR_SIZE: usize = 64;
/// Streams shorter than this live in the mini stream.
const MINI_STREAM_CUTOFF: usize = 4096;
/// Calamine reserves a vector from a header field that real files keep small.
const MAX_RESERVED_ENTRIES: usize = 1 << 24;

fn damaged() -> SheetError {
    SheetError::Corrupt("复合文档结构无效".to_owned())
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32s(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Sectors of one size laid out after a header (or inside the mini stream).
struct Sectors<'a> {
    data: &'a [u8],
    size: usize,
}

impl<'a> Sectors<'a> {
    fn count(&self) -> usize {
        self.data.len().div_ceil(self.size)
    }

    fn get(&self, id: u32) -> Result<&'a [u8], SheetError> {
        let start = (id as usize).checked_mul(self.size).filter(|s| *s < self.data.len()).ok_or_else(damaged)?;
        Ok(&self.data[start..(start + self.size).min(self.data.len())])
    }

    /// Follows a chain through `table`, refusing ids outside the file and cycles.
    fn chain(&self, start: u32, table: &[u32]) -> Result<Vec<u8>, SheetError> {
        let mut out = Vec::new();
        let mut id = start;
        let mut steps = 0;
        while id != END_OF_CHAIN {
            steps += 1;
            if steps > self.count() {
                return Err(damaged());
            }
            out.extend_from_slice(self.get(id)?);
            id = *table.get(id as usize).ok_or_else(damaged)?;
        }
        Ok(out)
    }
}

/// Checks that every sector calamine will read exists and every chain ends.
pub(crate) fn check(bytes: &[u8]) -> Result<(), SheetError> {
    let header = bytes.get(..HEADER_SIZE).ok_or_else(damaged)?;
    let field = |at: usize| u32_at(header, at).map(|v| v as usize).ok_or_else(damaged);
    let size = match u16::from_le_bytes([header[30], header[31]]) {
        9 => 512,
        12 => 4096,
        _ => return Err(damaged()),
    };
    let sectors = Sectors { data: bytes.get(size..).ok_or_else(damaged)?, size };
    let n = sectors.count();
    let (dir_len, fat_len, mini_fat_len) = (field(40)?, field(44)?, field(64)?);
    if fat_len > n
        || mini_fat_len > n
        || dir_len.saturating_mul(size) > bytes.len()
        || field(62)? > MAX_RESERVED_ENTRIES
    {
        return Err(damaged());
    }

    let mut difat: Vec<u32> = u32s(&header[76..]).collect();
    let mut id = u32_at(header, 68).ok_or_else(damaged)?;
    let mut steps = 0;
    while id < FIRST_RESERVED {
        steps += 1;
        if steps > n {
            return Err(damaged());
        }
        difat.extend(u32s(sectors.get(id)?));
        id = difat.pop().ok_or_else(damaged)?;
    }
    let fat_sectors: Vec<u32> = difat.into_iter().filter(|id| *id < DIFSECT).collect();
    if fat_sectors.len() > n {
        return Err(damaged());
    }
    let mut fat = Vec::new();
    for id in fat_sectors {
        fat.extend(u32s(sectors.get(id)?));
    }

    let directory = sectors.chain(u32_at(header, 48).ok_or_else(damaged)?, &fat)?;
    if directory.len() % 128 != 0 {
        return Err(damaged());
    }
    let entries: Vec<(String, u32, usize)> = directory
        .chunks_exact(128)
        .map(|entry| {
            let name = String::from_utf16_lossy(
                &entry[..64]
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .take_while(|u| *u != 0)
                    .collect::<Vec<u16>>(),
            );
            let start = u32_at(entry, 116).unwrap_or(END_OF_CHAIN);
            let low = u32_at(entry, 120).unwrap_or_default() as usize;
            let high = if size == 512 { 0 } else { u32_at(entry, 124).unwrap_or_default() as usize };
            (name, start, if high == 0 { low } else { usize::MAX })
        })
        .collect();
    let Some((_, root_start, root_len)) = entries.first().cloned() else { return Ok(()) };
    if root_len > bytes.len() {
        return Err(damaged());
    }
    let (mini_stream, mini_fat) = if mini_fat_len > 0 {
        let mut stream = sectors.chain(root_start, &fat)?;
        stream.truncate(root_len);
        let mini_fat: Vec<u32> = u32s(&sectors.chain(u32_at(header, 60).ok_or_else(damaged)?, &fat)?).collect();
        (stream, mini_fat)
    } else {
        (Vec::new(), Vec::new())
    };
    let mini = Sectors { data: &mini_stream, size: MINI_SECTOR_SIZE };
    for (name, start, len) in entries.iter().skip(1).filter(|(_, _, len)| *len > 0) {
        if *len > bytes.len() {
            return Err(damaged());
        }
        let mut stream =
            if *len < MINI_STREAM_CUTOFF { mini.chain(*start, &mini_fat)? } else { sectors.chain(*start, &fat)? };
        if name == "Workbook" || name == "Book" {
            stream.truncate(*len);
            check_records(&stream)?;
        }
    }
    Ok(())
}

/// Checks the BIFF records calamine sizes its cell storage by: sheet dimensions and the column
/// of every cell.
fn check_records(stream: &[u8]) -> Result<(), SheetError> {
    let mut at = 0;
    while let (Some(kind), Some(len)) = (u16_at(stream, at), u16_at(stream, at + 2)) {
        let data = stream.get(at + 4..at + 4 + len as usize).unwrap_or_default();
        at += 4 + len as usize;
        match kind {
            0x0200 => {
                let (first_row, last_row, first_column, last_column) = match data.len() {
                    10 => (
                        u16_at(data, 0).map(u32::from),
                        u16_at(data, 2).map(u32::from),
                        u16_at(data, 4),
                        u16_at(data, 6),
                    ),
                    14 => (u32_at(data, 0), u32_at(data, 4), u16_at(data, 8), u16_at(data, 10)),
                    _ => continue,
                };
                let (first_row, last_row) = (first_row.unwrap_or_default(), last_row.unwrap_or_default());
                let (first_column, last_column) = (first_column.unwrap_or_default(), last_column.unwrap_or_default());
                if last_row < first_row {
                    return Err(damaged());
                }
                if (last_row - first_row) as usize > MAX_ROWS {
                    return Err(SheetError::TooManyRows(MAX_ROWS));
                }
                let first_column = if first_column > 0xFF || last_column < first_column { 0 } else { first_column };
                if usize::from(last_column - first_column) > MAX_COLUMNS {
                    return Err(SheetError::TooManyColumns(MAX_COLUMNS));
                }
            }
            0x0006 | 0x00BD | 0x00FD | 0x0203 | 0x0204 | 0x0205 | 0x027E => {
                let last_column =
                    if kind == 0x00BD { u16_at(data, data.len().saturating_sub(2)) } else { u16_at(data, 2) };
                if usize::from(last_column.unwrap_or_default()) >= MAX_COLUMNS {
                    return Err(SheetError::TooManyColumns(MAX_COLUMNS));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &[u8] = include_bytes!("../tests/fixtures/roster.xls");

    #[test]
    fn a_sound_file_passes() {
        assert_eq!(check(FIXTURE), Ok(()));
    }

    #[test]
    fn sector_numbers_outside_the_file_and_cycles_are_refused() {
        let with = |at: usize, value: u32| {
            let mut file = FIXTURE.to_vec();
            file[at..at + 4].copy_from_slice(&value.to_le_bytes());
            file
        };
        let cases = [
            ("directory start beyond the file", with(48, 0x00FF_FFFF)),
            ("first FAT sector beyond the file", with(76, 0x7FFF_FFFF)),
            ("directory length of terabytes", with(40, u32::MAX)),
            ("DIFAT chain into the void", with(68, 0x0FFF_FFFF)),
            ("truncated header", FIXTURE[..100].to_vec()),
        ];
        for (what, file) in cases {
            assert!(matches!(check(&file), Err(SheetError::Corrupt(_))), "{what}");
        }
    }
}

//! The compact binary form of the screening registries' records ([`Record`]): a share of the
//! records encoded with `postcard` behind a format byte. The server keeps the registries it read
//! as sealed parts of this form in the database, so that a server started again reads them back
//! without unpacking a million rows (see the server's `state::registries`). Encoding and decoding
//! only, no I/O.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::registry::RegistryKind;
use crate::screening::Record;

/// The format byte every part starts with; a part of another format is not read.
const FORMAT: u8 = 1;

/// Why a part could not be decoded (the caller reads the registries from their rows instead).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SnapshotError {
    #[error("registry snapshot part of format {0}, expected {FORMAT}")]
    Format(u8),
    #[error("registry snapshot part is empty")]
    Empty,
    #[error("registry snapshot part undecodable: {0}")]
    Decode(#[from] postcard::Error),
    #[error("registry snapshot part holds an impossible value: {0}")]
    Value(&'static str),
}

/// A calendar day as year, month and day.
type Day = (i16, i8, i8);

/// One record as encoded: the kind as its position in [`RegistryKind::ALL`], days as triples.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    id: i64,
    kind: u8,
    person: &'a str,
    name: &'a str,
    masked_id: &'a str,
    birth_date: Option<Day>,
    #[serde(borrow)]
    village: Option<&'a str>,
    #[serde(borrow)]
    household: Option<&'a str>,
    members: Option<i64>,
    #[serde(borrow)]
    relation: Option<&'a str>,
    #[serde(borrow)]
    detail: Option<&'a str>,
    date: Option<Day>,
}

fn day(date: Date) -> Day {
    (date.year(), date.month(), date.day())
}

fn date((year, month, day): Day) -> Result<Date, SnapshotError> {
    Date::new(year, month, day).map_err(|_| SnapshotError::Value("date"))
}

fn kind_code(kind: RegistryKind) -> u8 {
    RegistryKind::ALL.iter().position(|k| *k == kind).and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX)
}

/// `records` as one part.
pub fn encode(records: &[Record]) -> Vec<u8> {
    let wire: Vec<Wire<'_>> = records
        .iter()
        .map(|r| Wire {
            id: r.id,
            kind: kind_code(r.kind),
            person: &r.person,
            name: &r.name,
            masked_id: &r.masked_id,
            birth_date: r.birth_date.map(day),
            village: r.village.as_deref(),
            household: r.household.as_deref(),
            members: r.members,
            relation: r.relation.as_deref(),
            detail: r.detail.as_deref(),
            date: r.date.map(day),
        })
        .collect();
    let mut out = vec![FORMAT];
    // Serializing borrowed strings, integers and options into a growable buffer cannot fail.
    out.extend(postcard::to_allocvec(&wire).unwrap_or_default());
    out
}

/// An empty record for [`decode_into`] to fill (allocates nothing).
pub fn slot() -> Record {
    Record {
        id: 0,
        kind: RegistryKind::Deaths,
        person: String::new(),
        name: String::new(),
        masked_id: String::new(),
        birth_date: None,
        village: None,
        household: None,
        members: None,
        relation: None,
        detail: None,
        date: None,
    }
}

/// Decodes a part [`encode`] wrote into `slots`, which must number exactly its records (a snapshot of a million
/// records is decoded into place, part by part, without building and copying each part's list).
pub fn decode_into(part: &[u8], slots: &mut [Record]) -> Result<(), SnapshotError> {
    let mut slots = slots.iter_mut();
    let mut overflow = false;
    for_each_record(part, |record| match slots.next() {
        Some(slot) => *slot = record,
        None => overflow = true,
    })?;
    if overflow || slots.next().is_some() {
        return Err(SnapshotError::Value("record count"));
    }
    Ok(())
}

/// Calls `take` with each record of `part`, in order.
fn for_each_record(part: &[u8], mut take: impl FnMut(Record)) -> Result<(), SnapshotError> {
    let (&format, rest) = part.split_first().ok_or(SnapshotError::Empty)?;
    if format != FORMAT {
        return Err(SnapshotError::Format(format));
    }
    let wire: Vec<Wire<'_>> = postcard::from_bytes(rest)?;
    for w in wire {
        take(Record {
            id: w.id,
            kind: *RegistryKind::ALL.get(usize::from(w.kind)).ok_or(SnapshotError::Value("kind"))?,
            person: w.person.to_owned(),
            name: w.name.to_owned(),
            masked_id: w.masked_id.to_owned(),
            birth_date: w.birth_date.map(date).transpose()?,
            village: w.village.map(str::to_owned),
            household: w.household.map(str::to_owned),
            members: w.members,
            relation: w.relation.map(str::to_owned),
            detail: w.detail.map(str::to_owned),
            date: w.date.map(date).transpose()?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decode(part: &[u8]) -> Result<Vec<Record>, SnapshotError> {
        let mut records = Vec::new();
        for_each_record(part, |record| records.push(record))?;
        Ok(records)
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1900i16..2100, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
    }

    fn any_record() -> impl Strategy<Value = Record> {
        (
            (any::<i64>(), 0usize..RegistryKind::ALL.len(), "[0-9a-f]{64}", "\\PC{0,6}", "[0-9*]{18}"),
            (proptest::option::of(any_date()), proptest::option::of("[0-9]{12}"), proptest::option::of("\\PC{0,10}")),
            (
                proptest::option::of(any::<i64>()),
                proptest::option::of("\\PC{0,4}"),
                proptest::option::of("\\PC{0,20}"),
                proptest::option::of(any_date()),
            ),
        )
            .prop_map(
                |(
                    (id, kind, person, name, masked_id),
                    (birth_date, village, household),
                    (members, relation, detail, date),
                )| {
                    Record {
                        id,
                        kind: RegistryKind::ALL[kind],
                        person,
                        name,
                        masked_id,
                        birth_date,
                        village,
                        household,
                        members,
                        relation,
                        detail,
                        date,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn decode_gives_back_what_encode_took(records in proptest::collection::vec(any_record(), 0..40)) {
            prop_assert_eq!(decode(&encode(&records)).unwrap(), records);
        }

        #[test]
        fn a_cut_part_is_an_error_not_a_panic(records in proptest::collection::vec(any_record(), 1..10), cut in 0usize..400) {
            let part = encode(&records);
            let cut = cut.min(part.len() - 1);
            prop_assert!(decode(&part[..cut]).is_err());
        }
    }

    #[test]
    fn decoding_into_place_needs_exactly_the_parts_records() {
        let records = vec![record_with_date(2024, 2, 29), record_with_date(2023, 1, 31)];
        let part = encode(&records);
        let mut slots = vec![record_with_date(2000, 1, 1); 2];
        decode_into(&part, &mut slots).unwrap();
        assert_eq!(slots, records);
        assert_eq!(decode_into(&part, &mut slots[..1]), Err(SnapshotError::Value("record count")));
        let mut three = vec![record_with_date(2000, 1, 1); 3];
        assert_eq!(decode_into(&part, &mut three), Err(SnapshotError::Value("record count")));
    }

    #[test]
    fn another_format_or_an_impossible_value_is_refused() {
        assert_eq!(decode(&[]), Err(SnapshotError::Empty));
        assert_eq!(decode(&[2, 0]), Err(SnapshotError::Format(2)));
        let mut part = encode(&[record_with_date(2024, 2, 29)]);
        // The kind's byte follows the format byte, the count and the id (varints of 1 byte each).
        part[3] = 9;
        assert_eq!(decode(&part), Err(SnapshotError::Value("kind")));
        let mut part = encode(&[record_with_date(2024, 2, 29)]);
        let at = part.len() - 1;
        part[at] = 30;
        assert_eq!(decode(&part), Err(SnapshotError::Value("date")));
    }

    fn record_with_date(y: i16, m: i8, d: i8) -> Record {
        Record {
            id: 1,
            person: "p".into(),
            name: "李四".into(),
            masked_id: "m".into(),
            date: Some(Date::new(y, m, d).unwrap()),
            ..slot()
        }
    }
}

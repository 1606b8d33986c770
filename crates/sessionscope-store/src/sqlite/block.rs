//! Exchange blocks: the exchanges of one session part from one appended batch, encoded together
//! in one `blocks` row. Appending a block is one B-tree insert for many exchanges, and the
//! per-exchange cost is writing a few varints into a buffer.
//!
//! Layout of `blocks.data` (all integers LEB128 varints, signed ones zigzag-encoded):
//! `version byte, first index, base time (signed)`, then the entries in time order, each
//! `flags, time delta to the previous entry (signed), id as (bytes shared with the previous id,
//! suffix length, suffix), host, app, method, template, session key, flows byte, path (length,
//! bytes)` followed by the optional fields the flags name, in flag order. Version 2 added the
//! context as text (`HAS_CONTEXT_TEXT`) beside the context as a dictionary id; version 3 lets an
//! entry repeat the context text of the entry before it (`HAS_SAME_CONTEXT_TEXT`), so a session's
//! context is written once per block and never needs a dictionary row. Older blocks are read as
//! they are.
//!
//! An exchange is addressed by its key `block id << 16 | index`; the index of the first entry
//! is stored, so retention can drop the oldest entries of a block without renumbering the rest.
//! Blocks are stored, so the format must only ever grow by new versions.

use rusqlite::{params, Connection, OptionalExtension};

use super::aggregate::{read_varint, unzigzag, write_varint, zigzag};
use super::filter::StoredExchange;

/// Entries per block at most; a larger part of one batch is split over several blocks.
pub(crate) const MAX_BLOCK_ENTRIES: usize = 4096;
/// Bits of the exchange key that hold the index inside the block.
const INDEX_BITS: u32 = 16;
const INDEX_MASK: i64 = (1 << INDEX_BITS) - 1;
const FORMAT_VERSION: u8 = 3;
/// The oldest format version this code reads.
const OLDEST_FORMAT_VERSION: u8 = 1;

const HAS_ADDRESS: u64 = 1;
const HAS_STATUS: u64 = 1 << 1;
/// Duration in whole microseconds (exact for the usual millisecond values with 3 decimals).
const HAS_DURATION_MICROS: u64 = 1 << 2;
/// Duration as the 8 bytes of the f64, for values the micro form would not round-trip.
const HAS_DURATION_RAW: u64 = 1 << 3;
const HAS_SIZE: u64 = 1 << 4;
const HAS_USER_AGENT: u64 = 1 << 5;
const HAS_USER: u64 = 1 << 6;
const HAS_ROLE_SET: u64 = 1 << 7;
const HAS_ATTACK_SET: u64 = 1 << 8;
const HAS_ATTACKS: u64 = 1 << 9;
const HAS_CONTEXT: u64 = 1 << 10;
const HAS_QUERY: u64 = 1 << 11;
/// The context values as JSON text in the entry (a context seen once is not worth a dictionary
/// row and its index entry).
const HAS_CONTEXT_TEXT: u64 = 1 << 12;
/// The context text of the last entry before this one that had a context text (version 3).
const HAS_SAME_CONTEXT_TEXT: u64 = 1 << 13;
const KNOWN_FLAGS: u64 = (1 << 14) - 1;

/// The key of the exchange at `index` of block `block_id`.
pub(crate) fn exchange_key(block_id: i64, index: usize) -> i64 {
    (block_id << INDEX_BITS) | (index as i64 & INDEX_MASK)
}

pub(crate) fn block_of_key(key: i64) -> i64 {
    key >> INDEX_BITS
}

pub(crate) fn index_of_key(key: i64) -> usize {
    (key & INDEX_MASK) as usize
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum BlockError {
    #[error("exchange block {block_id} is corrupt: {reason}")]
    Corrupt { block_id: i64, reason: &'static str },
}

impl From<BlockError> for rusqlite::Error {
    fn from(error: BlockError) -> Self {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(error))
    }
}

/// One exchange as the writer hands it to a block: dictionary ids and borrowed text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockEntry<'a> {
    pub ts: i64,
    pub id: &'a str,
    pub address_id: Option<i64>,
    pub host_id: i64,
    pub app_id: i64,
    pub method_id: i64,
    pub template_id: i64,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub status: Option<u16>,
    pub duration: Option<f64>,
    pub size: Option<i64>,
    pub user_agent_id: Option<i64>,
    pub user_id: Option<i64>,
    pub role_set_id: Option<i64>,
    pub key_id: i64,
    pub flows: u8,
    pub attack_set_id: Option<i64>,
    pub attacks: Option<&'a str>,
    pub context_id: Option<i64>,
    pub context_text: Option<&'a str>,
}

impl<'a> BlockEntry<'a> {
    pub fn of_stored(exchange: &'a StoredExchange) -> BlockEntry<'a> {
        BlockEntry {
            ts: exchange.ts,
            id: &exchange.id,
            address_id: exchange.address_id,
            host_id: exchange.host_id,
            app_id: exchange.app_id,
            method_id: exchange.method_id,
            template_id: exchange.template_id,
            path: &exchange.path,
            query: exchange.query.as_deref(),
            status: exchange.status,
            duration: exchange.duration,
            size: exchange.size,
            user_agent_id: exchange.user_agent_id,
            user_id: exchange.user_id,
            role_set_id: exchange.role_set_id,
            key_id: exchange.key_id,
            flows: exchange.flows,
            attack_set_id: exchange.attack_set_id,
            attacks: exchange.attacks.as_deref(),
            context_id: exchange.context_id,
            context_text: exchange.context_text.as_deref(),
        }
    }
}

/// The micro form of a duration when it round-trips exactly.
fn duration_micros(duration: f64) -> Option<u64> {
    let micros = (duration * 1000.0).round();
    if !(0.0..9.0e15).contains(&micros) {
        return None;
    }
    let whole = micros as u64;
    (whole as f64 / 1000.0 == duration && duration.to_bits() != (-0.0f64).to_bits())
        .then_some(whole)
}

fn write_text(bytes: &mut Vec<u8>, text: &str) {
    write_varint(bytes, text.len() as u64);
    bytes.extend_from_slice(text.as_bytes());
}

/// Builds one block; entries must be pushed in time order.
#[derive(Debug, Default)]
pub(crate) struct BlockEncoder {
    bytes: Vec<u8>,
    count: usize,
    first_ts: i64,
    previous_ts: i64,
    previous_id: Vec<u8>,
    /// The last context text written, which a following entry may repeat by a flag.
    previous_context: Option<String>,
}

impl BlockEncoder {
    /// An empty block whose first entry will have index `first_index`.
    pub fn new(first_index: usize) -> BlockEncoder {
        let mut bytes = Vec::with_capacity(1024);
        bytes.push(FORMAT_VERSION);
        write_varint(&mut bytes, first_index as u64);
        BlockEncoder {
            bytes,
            ..BlockEncoder::default()
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn first_ts(&self) -> i64 {
        self.first_ts
    }

    pub fn last_ts(&self) -> i64 {
        self.previous_ts
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn push(&mut self, entry: &BlockEntry<'_>) {
        let bytes = &mut self.bytes;
        if self.count == 0 {
            write_varint(bytes, zigzag(entry.ts));
            self.first_ts = entry.ts;
            self.previous_ts = entry.ts;
        }
        let duration_micros = entry.duration.and_then(duration_micros);
        let repeats_context =
            entry.context_text.is_some() && entry.context_text == self.previous_context.as_deref();
        let new_context = entry.context_text.filter(|_| !repeats_context);
        let mut flags = 0u64;
        let optional = [
            (entry.address_id.is_some(), HAS_ADDRESS),
            (entry.status.is_some(), HAS_STATUS),
            (duration_micros.is_some(), HAS_DURATION_MICROS),
            (
                entry.duration.is_some() && duration_micros.is_none(),
                HAS_DURATION_RAW,
            ),
            (entry.size.is_some(), HAS_SIZE),
            (entry.user_agent_id.is_some(), HAS_USER_AGENT),
            (entry.user_id.is_some(), HAS_USER),
            (entry.role_set_id.is_some(), HAS_ROLE_SET),
            (entry.attack_set_id.is_some(), HAS_ATTACK_SET),
            (entry.attacks.is_some(), HAS_ATTACKS),
            (entry.context_id.is_some(), HAS_CONTEXT),
            (entry.query.is_some(), HAS_QUERY),
            (new_context.is_some(), HAS_CONTEXT_TEXT),
            (repeats_context, HAS_SAME_CONTEXT_TEXT),
        ];
        for (present, flag) in optional {
            if present {
                flags |= flag;
            }
        }
        write_varint(bytes, flags);
        write_varint(bytes, zigzag(entry.ts.wrapping_sub(self.previous_ts)));
        self.previous_ts = entry.ts;
        // Ids of one session usually share a long prefix.
        let id = entry.id.as_bytes();
        let shared = id
            .iter()
            .zip(self.previous_id.iter())
            .take_while(|(left, right)| left == right)
            .count();
        write_varint(bytes, shared as u64);
        write_varint(bytes, (id.len() - shared) as u64);
        bytes.extend_from_slice(&id[shared..]);
        self.previous_id.clear();
        self.previous_id.extend_from_slice(id);
        for value in [
            entry.host_id,
            entry.app_id,
            entry.method_id,
            entry.template_id,
            entry.key_id,
        ] {
            write_varint(bytes, value as u64);
        }
        bytes.push(entry.flows);
        write_text(bytes, entry.path);
        if let Some(address_id) = entry.address_id {
            write_varint(bytes, address_id as u64);
        }
        if let Some(status) = entry.status {
            write_varint(bytes, status as u64);
        }
        if let Some(micros) = duration_micros {
            write_varint(bytes, micros);
        } else if let Some(duration) = entry.duration {
            bytes.extend_from_slice(&duration.to_le_bytes());
        }
        if let Some(size) = entry.size {
            write_varint(bytes, zigzag(size));
        }
        for value in [
            entry.user_agent_id,
            entry.user_id,
            entry.role_set_id,
            entry.attack_set_id,
        ]
        .into_iter()
        .flatten()
        {
            write_varint(bytes, value as u64);
        }
        if let Some(attacks) = entry.attacks {
            write_text(bytes, attacks);
        }
        if let Some(context_id) = entry.context_id {
            write_varint(bytes, context_id as u64);
        }
        if let Some(query) = entry.query {
            write_text(bytes, query);
        }
        if let Some(context) = new_context {
            write_text(bytes, context);
            let previous = self.previous_context.get_or_insert_with(String::new);
            previous.clear();
            previous.push_str(context);
        }
        self.count += 1;
    }
}

/// Reads the fields of a block in order; every read names what was missing.
struct Cursor<'b> {
    bytes: &'b [u8],
    position: usize,
    block_id: i64,
}

impl Cursor<'_> {
    fn corrupt(&self, reason: &'static str) -> BlockError {
        BlockError::Corrupt {
            block_id: self.block_id,
            reason,
        }
    }

    fn varint(&mut self, what: &'static str) -> Result<u64, BlockError> {
        read_varint(self.bytes, &mut self.position).ok_or_else(|| self.corrupt(what))
    }

    fn signed(&mut self, what: &'static str) -> Result<i64, BlockError> {
        self.varint(what).map(unzigzag)
    }

    fn id(&mut self, what: &'static str) -> Result<i64, BlockError> {
        self.varint(what).map(|value| value as i64)
    }

    fn take(&mut self, length: u64, what: &'static str) -> Result<&[u8], BlockError> {
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| self.position.checked_add(length))
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.corrupt(what))?;
        let taken = &self.bytes[self.position..end];
        self.position = end;
        Ok(taken)
    }

    fn text(&mut self, what: &'static str) -> Result<String, BlockError> {
        let length = self.varint(what)?;
        let bytes = self.take(length, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.corrupt("text is not utf-8"))
    }
}

/// Reads a block's entries one at a time in stored (time) order, with their keys and the part
/// id. Exports keep many blocks open at once; decoding an entry only when it is needed keeps the
/// allocations of one entry short-lived.
pub(crate) struct BlockReader<D> {
    data: D,
    block_id: i64,
    part_id: i64,
    position: usize,
    ts: i64,
    previous_id: Vec<u8>,
    previous_context: Option<String>,
    index: u64,
}

impl<D: AsRef<[u8]>> BlockReader<D> {
    pub fn new(block_id: i64, part_id: i64, data: D) -> Result<BlockReader<D>, BlockError> {
        let bytes = data.as_ref();
        let mut cursor = Cursor {
            bytes,
            position: 0,
            block_id,
        };
        let version = *bytes.first().ok_or_else(|| cursor.corrupt("empty"))?;
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(cursor.corrupt("unknown format version"));
        }
        cursor.position = 1;
        let index = cursor.varint("first index")?;
        let ts = if cursor.position < bytes.len() {
            cursor.signed("base time")?
        } else {
            0
        };
        let position = cursor.position;
        Ok(BlockReader {
            data,
            block_id,
            part_id,
            position,
            ts,
            previous_id: Vec::new(),
            previous_context: None,
            index,
        })
    }

    /// The next entry; `None` at the end of the block.
    pub fn next_entry(&mut self) -> Result<Option<StoredExchange>, BlockError> {
        let BlockReader {
            data,
            block_id,
            part_id,
            position,
            ts,
            previous_id,
            previous_context,
            index,
        } = self;
        let (block_id, part_id) = (*block_id, *part_id);
        let data = data.as_ref();
        if *position >= data.len() {
            return Ok(None);
        }
        let mut cursor = Cursor {
            bytes: data,
            position: *position,
            block_id,
        };
        if *index > INDEX_MASK as u64 {
            return Err(cursor.corrupt("too many entries"));
        }
        let flags = cursor.varint("flags")?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(cursor.corrupt("unknown flags"));
        }
        *ts = ts.wrapping_add(cursor.signed("time")?);
        let shared = cursor.varint("id prefix")?;
        let shared = usize::try_from(shared)
            .ok()
            .filter(|shared| *shared <= previous_id.len())
            .ok_or_else(|| cursor.corrupt("id prefix longer than the previous id"))?;
        let suffix_length = cursor.varint("id suffix")?;
        let suffix = cursor.take(suffix_length, "id suffix")?;
        previous_id.truncate(shared);
        previous_id.extend_from_slice(suffix);
        let id = String::from_utf8(previous_id.clone())
            .map_err(|_| cursor.corrupt("id is not utf-8"))?;
        let host_id = cursor.id("host")?;
        let app_id = cursor.id("app")?;
        let method_id = cursor.id("method")?;
        let template_id = cursor.id("template")?;
        let key_id = cursor.id("session key")?;
        let flows = cursor.take(1, "flows")?[0];
        let path = cursor.text("path")?;
        let address_id = if flags & HAS_ADDRESS != 0 {
            Some(cursor.id("address")?)
        } else {
            None
        };
        let status = if flags & HAS_STATUS != 0 {
            let status = cursor.varint("status")?;
            Some(u16::try_from(status).map_err(|_| cursor.corrupt("status out of range"))?)
        } else {
            None
        };
        let duration = if flags & HAS_DURATION_MICROS != 0 {
            Some(cursor.varint("duration")? as f64 / 1000.0)
        } else if flags & HAS_DURATION_RAW != 0 {
            let raw = cursor.take(8, "duration")?;
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(raw);
            Some(f64::from_le_bytes(bytes))
        } else {
            None
        };
        let size = if flags & HAS_SIZE != 0 {
            Some(cursor.signed("size")?)
        } else {
            None
        };
        let mut optional_id = |flag: u64, what: &'static str| -> Result<Option<i64>, BlockError> {
            if flags & flag == 0 {
                return Ok(None);
            }
            cursor.id(what).map(Some)
        };
        let user_agent_id = optional_id(HAS_USER_AGENT, "user agent")?;
        let user_id = optional_id(HAS_USER, "user")?;
        let role_set_id = optional_id(HAS_ROLE_SET, "role set")?;
        let attack_set_id = optional_id(HAS_ATTACK_SET, "attack set")?;
        let attacks = if flags & HAS_ATTACKS != 0 {
            Some(cursor.text("attacks")?)
        } else {
            None
        };
        let context_id = if flags & HAS_CONTEXT != 0 {
            Some(cursor.id("context")?)
        } else {
            None
        };
        let query = if flags & HAS_QUERY != 0 {
            Some(cursor.text("query")?)
        } else {
            None
        };
        let context_text = if flags & HAS_CONTEXT_TEXT != 0 {
            let text = cursor.text("context")?;
            *previous_context = Some(text.clone());
            Some(text)
        } else if flags & HAS_SAME_CONTEXT_TEXT != 0 {
            let text = previous_context
                .clone()
                .ok_or_else(|| cursor.corrupt("repeated context without an earlier one"))?;
            Some(text)
        } else {
            None
        };
        let exchange = StoredExchange {
            seq: exchange_key(block_id, *index as usize),
            part_id,
            ts: *ts,
            id,
            address_id,
            host_id,
            app_id,
            method_id,
            template_id,
            path,
            status,
            duration,
            size,
            user_id,
            role_set_id,
            key_id,
            flows,
            attack_set_id,
            attacks,
            query,
            user_agent_id,
            context_id,
            context_text,
        };
        *index += 1;
        *position = cursor.position;
        Ok(Some(exchange))
    }
}

/// Decodes all of a block's entries in stored (time) order.
pub(crate) fn decode_block(
    block_id: i64,
    part_id: i64,
    data: &[u8],
) -> Result<Vec<StoredExchange>, BlockError> {
    let mut reader = BlockReader::new(block_id, part_id, data)?;
    // Entries take some 40 to 100 bytes; a close guess saves regrowing.
    let mut exchanges = Vec::with_capacity(data.len() / 48 + 1);
    while let Some(exchange) = reader.next_entry()? {
        exchanges.push(exchange);
    }
    Ok(exchanges)
}

/// A stored block: its part and its decoded entries.
pub(crate) fn load_block(
    connection: &Connection,
    block_id: i64,
) -> rusqlite::Result<Option<Vec<StoredExchange>>> {
    let row: Option<(i64, Vec<u8>)> = connection
        .prepare_cached("SELECT part_id, data FROM blocks WHERE id = ?1")?
        .query_row(params![block_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((part_id, data)) = row else {
        return Ok(None);
    };
    Ok(Some(decode_block(block_id, part_id, &data)?))
}

/// The stored exchange with key `key`, if its block still holds it.
pub(crate) fn load_exchange(
    connection: &Connection,
    key: i64,
) -> rusqlite::Result<Option<StoredExchange>> {
    let Some(entries) = load_block(connection, block_of_key(key))? else {
        return Ok(None);
    };
    let Some(position) = position_in_block(&entries, key) else {
        return Ok(None);
    };
    Ok(entries.into_iter().nth(position))
}

/// Whether the stored exchange with `key` has the id `id`.
pub(crate) fn stored_id_is(connection: &Connection, key: i64, id: &str) -> rusqlite::Result<bool> {
    Ok(load_exchange(connection, key)?.is_some_and(|exchange| exchange.id == id))
}

/// Position of the entry with `key` in a decoded block, without a scan.
pub(crate) fn position_in_block(entries: &[StoredExchange], key: i64) -> Option<usize> {
    let first = entries.first()?;
    let position = index_of_key(key).checked_sub(index_of_key(first.seq))?;
    entries
        .get(position)
        .filter(|entry| entry.seq == key)
        .map(|_| position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(index: usize) -> StoredExchange {
        StoredExchange {
            seq: exchange_key(9, index),
            part_id: 3,
            ts: 1_795_000_000_000_000 + index as i64 * 1_000_003 - (index as i64 % 2) * 7,
            id: format!("s000042-r{index:04}-deadbeef"),
            address_id: index.is_multiple_of(2).then_some(12),
            host_id: 1,
            app_id: 2,
            method_id: 3,
            template_id: 4 + index as i64,
            path: format!("/v1/users/{index}"),
            status: (!index.is_multiple_of(3)).then_some(200 + index as u16),
            duration: match index % 3 {
                0 => None,
                1 => Some(12.345),
                _ => Some(std::f64::consts::PI),
            },
            size: (!index.is_multiple_of(4)).then_some(index as i64 * 1000),
            user_id: Some(77),
            role_set_id: (index % 2 == 1).then_some(5),
            key_id: 6,
            flows: index as u8,
            attack_set_id: (index == 2).then_some(8),
            attacks: (index == 2).then(|| "[{\"kind\":\"sqli\"}]".to_string()),
            query: index.is_multiple_of(2).then(|| "page=2".to_string()),
            user_agent_id: Some(i64::MAX),
            context_id: (index == 1).then_some(10),
            context_text: match index {
                3 | 5 => Some("[{\"name\":\"login email\"}]".to_string()),
                6 => Some("[{\"name\":\"user\"}]".to_string()),
                _ => None,
            },
        }
    }

    fn encode(entries: &[StoredExchange], first_index: usize) -> Vec<u8> {
        let mut encoder = BlockEncoder::new(first_index);
        for entry in entries {
            encoder.push(&BlockEntry::of_stored(entry));
        }
        assert_eq!(encoder.len(), entries.len());
        encoder.bytes().to_vec()
    }

    fn assert_same(left: &[StoredExchange], right: &[StoredExchange]) {
        assert_eq!(left.len(), right.len());
        for (left, right) in left.iter().zip(right) {
            assert_eq!(format!("{left:?}"), format!("{right:?}"));
        }
    }

    #[test]
    fn blocks_round_trip_every_field() {
        let entries: Vec<StoredExchange> = (0..8).map(sample).collect();
        let bytes = encode(&entries, 0);
        let decoded = decode_block(9, 3, &bytes).unwrap();
        assert_same(&decoded, &entries);
        assert_eq!(position_in_block(&decoded, exchange_key(9, 4)), Some(4));
        assert_eq!(position_in_block(&decoded, exchange_key(9, 40)), None);
    }

    #[test]
    fn a_block_keeps_the_index_of_its_first_entry() {
        let entries: Vec<StoredExchange> = (3..6).map(sample).collect();
        let decoded = decode_block(9, 3, &encode(&entries, 3)).unwrap();
        assert_same(&decoded, &entries);
        assert_eq!(decoded[0].seq, exchange_key(9, 3));
        assert_eq!(position_in_block(&decoded, exchange_key(9, 5)), Some(2));
        assert!(decode_block(9, 3, &encode(&[], 0)).unwrap().is_empty());
    }

    #[test]
    fn a_repeated_context_is_written_once() {
        let context = "[{\"name\":\"user\",\"value\":\"alice\"}]".to_string();
        let entries: Vec<StoredExchange> = (0..4)
            .map(sample)
            .map(|mut entry| {
                entry.context_text = Some(context.clone());
                entry
            })
            .collect();
        let bytes = encode(&entries, 0);
        assert_same(&decode_block(9, 3, &bytes).unwrap(), &entries);
        let written = bytes
            .windows(context.len())
            .filter(|window| *window == context.as_bytes())
            .count();
        assert_eq!(written, 1);
    }

    #[test]
    fn a_repeat_without_an_earlier_context_is_corrupt() {
        let mut entry = sample(0);
        entry.context_text = None;
        let bytes = encode(&[entry.clone()], 0);
        // Header: version, first index, base time; then the entry's flags.
        let mut header = vec![FORMAT_VERSION];
        write_varint(&mut header, 0);
        write_varint(&mut header, zigzag(entry.ts));
        let mut position = header.len();
        let flags = read_varint(&bytes, &mut position).unwrap();
        let mut damaged = header;
        write_varint(&mut damaged, flags | HAS_SAME_CONTEXT_TEXT);
        damaged.extend_from_slice(&bytes[position..]);
        let error = decode_block(9, 3, &damaged).unwrap_err();
        assert!(error.to_string().contains("repeated context"), "{error}");
    }

    #[test]
    fn version_2_blocks_still_decode() {
        // Version 3 only added repeated contexts; a block where no context repeats is version 2
        // but for its first byte.
        let entries: Vec<StoredExchange> = (0..5).map(sample).collect();
        let mut bytes = encode(&entries, 0);
        assert_eq!(bytes[0], FORMAT_VERSION);
        bytes[0] = 2;
        assert_same(&decode_block(9, 3, &bytes).unwrap(), &entries);
    }

    #[test]
    fn version_1_blocks_still_decode() {
        // Version 2 only added the context text; a block without one is version 1 but for its
        // first byte.
        let entries: Vec<StoredExchange> = (0..6)
            .map(sample)
            .map(|mut entry| {
                entry.context_text = None;
                entry
            })
            .collect();
        let mut bytes = encode(&entries, 0);
        assert_eq!(bytes[0], FORMAT_VERSION);
        bytes[0] = 1;
        assert_same(&decode_block(9, 3, &bytes).unwrap(), &entries);
    }

    #[test]
    fn durations_keep_their_exact_value() {
        for duration in [0.0, 0.001, 12.5, 399.999_999_1, 1e300, -3.0, f64::NAN, -0.0] {
            let mut entry = sample(1);
            entry.duration = Some(duration);
            let decoded = decode_block(9, 3, &encode(&[entry], 1)).unwrap();
            let stored = decoded[0].duration.unwrap();
            assert_eq!(stored.to_bits(), duration.to_bits(), "{duration}");
        }
    }

    #[test]
    fn corrupt_blocks_are_errors_not_panics() {
        let entries: Vec<StoredExchange> = (0..4).map(sample).collect();
        let bytes = encode(&entries, 0);
        assert!(decode_block(1, 1, &[]).is_err());
        assert!(decode_block(1, 1, &[99]).is_err(), "unknown version");
        // Every truncation and every single-byte change must either decode or fail cleanly.
        for length in 0..bytes.len() {
            let _ = decode_block(1, 1, &bytes[..length]);
        }
        let truncated_ok = (1..bytes.len())
            .filter(|length| decode_block(1, 1, &bytes[..*length]).is_ok())
            .count();
        assert!(truncated_ok < bytes.len());
        for position in 0..bytes.len() {
            for value in [0x00, 0x7f, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[position] = value;
                let _ = decode_block(1, 1, &damaged);
            }
        }
        let mut endless = bytes.clone();
        endless.extend_from_slice(&[0xff; 12]);
        assert!(decode_block(1, 1, &endless).is_err());
    }
}

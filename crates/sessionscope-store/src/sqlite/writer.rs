//! The write side: appending batches (dictionary interning, idempotency by id hash, running part
//! aggregates, presence, day statistics) and retention. Only one writer exists per store.

use std::collections::HashMap;
use std::net::IpAddr;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sessionscope_model::{
    day_of, AnalyzedExchange, AppendOutcome, CompactString, Flow, Micros, SessionId,
};

use crate::{RetentionOutcome, StoreError};

use super::aggregate::{kind, PartAggregate, SET_SEPARATOR};
use super::backend_error;
use super::block::{
    block_of_key, exchange_key, load_block, position_in_block, BlockEncoder, BlockEntry,
    MAX_BLOCK_ENTRIES,
};
use super::filter::StoredExchange;
use super::ids::IdIndex;
use super::keys::hour_of;
use super::presence;
use super::schema::{ALL_EXCHANGES, ALL_PARTS};

/// Upper bounds of the in-memory caches; past them a cache is cleared (it refills from the
/// dictionary tables), which keeps the process's memory bounded whatever the data.
const MAX_CACHED_STRINGS: usize = 200_000;
const MAX_CACHED_ADDRESSES: usize = 200_000;
const MAX_CACHED_PARTS: usize = 20_000;

/// 16 bytes, IPv4 mapped into IPv6, so that byte order is address order.
pub(crate) fn address_bytes(address: IpAddr) -> [u8; 16] {
    match address {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

pub(crate) fn address_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    let octets: [u8; 16] = bytes.try_into().ok()?;
    let v6 = std::net::Ipv6Addr::from(octets);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

/// The writer's caches hash with foldhash's fixed seed: fast, and the keys are our own ids and
/// strings, not attacker-chosen lookups of a long-lived service map.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

struct CachedPart {
    id: i64,
    day: i32,
    aggregate: PartAggregate,
    /// Whether a `parts` row exists already (insert or update at the end of the batch).
    stored: bool,
}

/// Interning and part caches. Cleared whenever a transaction fails, so they never hold ids
/// that were rolled back.
#[derive(Default)]
struct Caches {
    strings: FastMap<u8, FastMap<Box<str>, i64>>,
    string_count: usize,
    addresses: FastMap<[u8; 16], i64>,
    /// (upper-case method id, template id) → endpoint id.
    endpoints: FastMap<(i64, i64), i64>,
    /// raw method id → upper-case method id.
    upper_methods: FastMap<i64, i64>,
    parts: FastMap<(SessionId, i32), CachedPart>,
    next_string_id: i64,
    next_address_id: i64,
    next_part_id: i64,
    next_block_id: i64,
    ids: IdIndex,
}

pub(crate) struct Writer {
    connection: Connection,
    caches: Caches,
}

fn max_id(connection: &Connection, sql: &str) -> rusqlite::Result<i64> {
    connection
        .query_row(sql, [], |row| row.get::<_, Option<i64>>(0))
        .map(|max| max.unwrap_or(0))
}

/// How many exchanges ahead of the one being stored the writer fetches an exchange, and then its
/// strings (which needs the exchange itself in the cache).
const PREFETCH_STRUCT_DISTANCE: usize = 12;
const PREFETCH_TEXT_DISTANCE: usize = 6;

/// Asks the CPU to bring the cache line at `address` in ahead of use; nothing on other targets.
#[inline(always)]
fn prefetch<T: ?Sized>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults and never reads into the program,
    // whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

fn prefetch_exchange(exchange: &AnalyzedExchange) {
    let start = (exchange as *const AnalyzedExchange).cast::<u8>();
    for offset in (0..std::mem::size_of::<AnalyzedExchange>()).step_by(64) {
        prefetch(start.wrapping_add(offset));
    }
}

fn prefetch_exchange_text(exchange: &AnalyzedExchange) {
    for text in [
        &exchange.id,
        &exchange.session_key,
        &exchange.app,
        &exchange.host,
        &exchange.method,
        &exchange.path,
        &exchange.endpoint,
    ] {
        prefetch(text.as_ptr());
    }
    for text in [&exchange.user_agent, &exchange.user].into_iter().flatten() {
        prefetch(text.as_ptr());
    }
    prefetch(exchange.roles.as_ptr());
    prefetch(exchange.context.as_ptr());
}

/// What one exchange's values are in dictionary ids.
struct Interned {
    address_id: Option<i64>,
    host_id: i64,
    app_id: i64,
    raw_method_id: i64,
    method_id: i64,
    template_id: i64,
    endpoint_id: i64,
    user_agent_id: Option<i64>,
    user_id: Option<i64>,
    role_set_id: Option<i64>,
    role_ids: Vec<i64>,
    key_id: i64,
    attack_set_id: Option<i64>,
    attack_type_ids: Vec<i64>,
}

impl Caches {
    fn load(connection: &Connection) -> rusqlite::Result<Caches> {
        Ok(Caches {
            next_string_id: max_id(connection, "SELECT max(id) FROM strings")? + 1,
            next_address_id: max_id(connection, "SELECT max(id) FROM addresses")? + 1,
            next_part_id: max_id(connection, "SELECT max(id) FROM parts")? + 1,
            // A store opened below version 3 (only tests do) has no blocks table and cannot
            // append; its counter does not matter.
            next_block_id: max_id(connection, "SELECT max(id) FROM blocks").unwrap_or(0) + 1,
            ..Caches::default()
        })
    }

    fn intern(
        &mut self,
        connection: &Connection,
        value_kind: u8,
        text: &str,
    ) -> rusqlite::Result<i64> {
        if let Some(id) = self
            .strings
            .get(&value_kind)
            .and_then(|by_text| by_text.get(text))
        {
            return Ok(*id);
        }
        // Insert first: most strings missing from the cache are new ones (a login's hashed
        // e-mail, a new session key), which then cost one index descent, not two. Without a
        // RETURNING clause (SQLite runs one as a trigger) the insert needs no statement journal,
        // which would copy every page it touches.
        let inserted = connection
            .prepare_cached(
                "INSERT INTO strings (id, kind, text) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kind, text) DO NOTHING",
            )?
            .execute(params![self.next_string_id, value_kind, text])?;
        let id = if inserted == 1 {
            let id = self.next_string_id;
            self.next_string_id += 1;
            id
        } else {
            connection
                .prepare_cached("SELECT id FROM strings WHERE kind = ?1 AND text = ?2")?
                .query_row(params![value_kind, text], |row| row.get(0))?
        };
        if self.string_count >= MAX_CACHED_STRINGS {
            self.strings.clear();
            self.endpoints.clear();
            self.upper_methods.clear();
            self.string_count = 0;
        }
        self.strings
            .entry(value_kind)
            .or_default()
            .insert(text.into(), id);
        self.string_count += 1;
        Ok(id)
    }

    fn intern_address(
        &mut self,
        connection: &Connection,
        address: IpAddr,
    ) -> rusqlite::Result<i64> {
        let bytes = address_bytes(address);
        if let Some(id) = self.addresses.get(&bytes) {
            return Ok(*id);
        }
        let found: Option<i64> = connection
            .prepare_cached("SELECT id FROM addresses WHERE address = ?1")?
            .query_row(params![&bytes[..]], |row| row.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                let id = self.next_address_id;
                connection
                    .prepare_cached("INSERT INTO addresses (id, address) VALUES (?1, ?2)")?
                    .execute(params![id, &bytes[..]])?;
                self.next_address_id += 1;
                id
            }
        };
        if self.addresses.len() >= MAX_CACHED_ADDRESSES {
            self.addresses.clear();
        }
        self.addresses.insert(bytes, id);
        Ok(id)
    }

    /// Interns a sorted set of names as one string (members joined by `SET_SEPARATOR`).
    fn intern_set<'a>(
        &mut self,
        connection: &Connection,
        set_kind: u8,
        members: impl Iterator<Item = &'a str>,
    ) -> rusqlite::Result<Option<i64>> {
        let mut sorted: Vec<&str> = members.collect();
        if sorted.is_empty() {
            return Ok(None);
        }
        if sorted.len() == 1 {
            return self.intern(connection, set_kind, sorted[0]).map(Some);
        }
        sorted.sort_unstable();
        sorted.dedup();
        let joined = sorted.join(&SET_SEPARATOR.to_string());
        self.intern(connection, set_kind, &joined).map(Some)
    }

    /// Dictionary ids of an exchange. Values equal to those of `previous` (the exchange before
    /// it in the batch, usually of the same session) are taken from it without hashing: a
    /// session repeats its host, app, client, user, roles, agent and key on every request.
    fn intern_exchange(
        &mut self,
        connection: &Connection,
        exchange: &AnalyzedExchange,
        mut previous: Option<(&AnalyzedExchange, &mut Interned)>,
    ) -> rusqlite::Result<Interned> {
        let address_id = match &previous {
            Some((before, reusable)) if exchange.client_ip == before.client_ip => {
                reusable.address_id
            }
            _ => match exchange.client_ip {
                Some(address) => Some(self.intern_address(connection, address)?),
                None => None,
            },
        };
        let host_id = match &previous {
            Some((before, reusable)) if exchange.host == before.host => reusable.host_id,
            _ => self.intern(connection, kind::HOST, &exchange.host)?,
        };
        let app_id = match &previous {
            Some((before, reusable)) if exchange.app == before.app => reusable.app_id,
            _ => self.intern(connection, kind::APP, &exchange.app)?,
        };
        let (raw_method_id, method_id, template_id, endpoint_id) = match &previous {
            Some((before, reusable))
                if exchange.method == before.method && exchange.endpoint == before.endpoint =>
            {
                (
                    reusable.raw_method_id,
                    reusable.method_id,
                    reusable.template_id,
                    reusable.endpoint_id,
                )
            }
            _ => self.intern_endpoint(connection, exchange)?,
        };
        let user_agent_id = match &previous {
            Some((before, reusable)) if exchange.user_agent == before.user_agent => {
                reusable.user_agent_id
            }
            _ => match exchange.user_agent.as_deref() {
                Some(agent) => Some(self.intern(connection, kind::USER_AGENT, agent)?),
                None => None,
            },
        };
        let user_id = match &previous {
            Some((before, reusable)) if exchange.user == before.user => reusable.user_id,
            _ => match exchange.user.as_deref() {
                Some(user) => Some(self.intern(connection, kind::USER, user)?),
                None => None,
            },
        };
        let (role_set_id, role_ids) = match &mut previous {
            Some((before, reusable)) if exchange.roles == before.roles => {
                (reusable.role_set_id, std::mem::take(&mut reusable.role_ids))
            }
            _ => self.intern_roles(connection, exchange)?,
        };
        let key_id = match &previous {
            Some((before, reusable)) if exchange.session_key == before.session_key => {
                reusable.key_id
            }
            _ => self.intern(connection, kind::SESSION_KEY, &exchange.session_key)?,
        };
        // No attacks on either side is the common case; anything else is interned afresh.
        let (attack_set_id, attack_type_ids) = match &previous {
            Some((before, _)) if exchange.attacks.is_empty() && before.attacks.is_empty() => {
                (None, Vec::new())
            }
            _ => self.intern_attacks(connection, exchange)?,
        };
        Ok(Interned {
            address_id,
            host_id,
            app_id,
            raw_method_id,
            method_id,
            template_id,
            endpoint_id,
            user_agent_id,
            user_id,
            role_set_id,
            role_ids,
            key_id,
            attack_set_id,
            attack_type_ids,
        })
    }

    /// (raw method, upper-case method, template, endpoint) ids.
    fn intern_endpoint(
        &mut self,
        connection: &Connection,
        exchange: &AnalyzedExchange,
    ) -> rusqlite::Result<(i64, i64, i64, i64)> {
        let raw_method_id = self.intern(connection, kind::RAW_METHOD, &exchange.method)?;
        let method_id = match self.upper_methods.get(&raw_method_id) {
            Some(id) => *id,
            None => {
                let id = self.intern(
                    connection,
                    kind::METHOD,
                    &exchange.method.to_ascii_uppercase(),
                )?;
                self.upper_methods.insert(raw_method_id, id);
                id
            }
        };
        let template_id = self.intern(connection, kind::TEMPLATE, &exchange.endpoint)?;
        let endpoint_id = match self.endpoints.get(&(method_id, template_id)) {
            Some(id) => *id,
            None => {
                let text = format!(
                    "{} {}",
                    exchange.method.to_ascii_uppercase(),
                    exchange.endpoint
                );
                let id = self.intern(connection, kind::ENDPOINT, &text)?;
                self.endpoints.insert((method_id, template_id), id);
                id
            }
        };
        Ok((raw_method_id, method_id, template_id, endpoint_id))
    }

    /// The role set id and the sorted ids of the single roles.
    fn intern_roles(
        &mut self,
        connection: &Connection,
        exchange: &AnalyzedExchange,
    ) -> rusqlite::Result<(Option<i64>, Vec<i64>)> {
        let role_set_id = self.intern_set(
            connection,
            kind::ROLE_SET,
            exchange.roles.iter().map(CompactString::as_str),
        )?;
        let mut role_ids = Vec::with_capacity(exchange.roles.len());
        for role in &exchange.roles {
            role_ids.push(self.intern(connection, kind::ROLE, role)?);
        }
        role_ids.sort_unstable();
        role_ids.dedup();
        Ok((role_set_id, role_ids))
    }

    /// The attack type set id and the sorted ids of the single attack types.
    fn intern_attacks(
        &mut self,
        connection: &Connection,
        exchange: &AnalyzedExchange,
    ) -> rusqlite::Result<(Option<i64>, Vec<i64>)> {
        let attack_set_id = self.intern_set(
            connection,
            kind::ATTACK_SET,
            exchange.attacks.iter().map(|attack| attack.kind.as_str()),
        )?;
        let mut attack_type_ids = Vec::new();
        for attack in &exchange.attacks {
            attack_type_ids.push(self.intern(connection, kind::ATTACK_TYPE, &attack.kind)?);
        }
        attack_type_ids.sort_unstable();
        attack_type_ids.dedup();
        Ok((attack_set_id, attack_type_ids))
    }

    /// Starts a block for a part, loading the part first.
    fn open_block(
        &mut self,
        connection: &Connection,
        session_id: SessionId,
        day: i32,
    ) -> rusqlite::Result<OpenBlock> {
        self.load_part(connection, session_id, day)?;
        let (flow_mask_before, part_existed) = self
            .parts
            .get(&(session_id, day))
            .map(|part| (part.aggregate.flow_mask, part.stored))
            .unwrap_or((0, false));
        Ok(OpenBlock {
            block_id: self.next_block_id,
            part: (session_id, day),
            encoder: BlockEncoder::new(0),
            positions: Vec::new(),
            flow_mask_before,
            part_existed,
            runs: ValueRuns::default(),
        })
    }

    fn load_part(
        &mut self,
        connection: &Connection,
        session_id: SessionId,
        day: i32,
    ) -> rusqlite::Result<()> {
        if self.parts.contains_key(&(session_id, day)) {
            return Ok(());
        }
        if self.parts.len() >= MAX_CACHED_PARTS {
            self.parts.clear();
        }
        let stored = connection
            .prepare_cached(
                "SELECT id, first_ts, last_ts, requests, attacks, flows, counts FROM parts WHERE session_id = ?1 AND day = ?2",
            )?
            .query_row(params![&session_id.0[..], day], |row| {
                let counts: Vec<u8> = row.get(6)?;
                Ok(CachedPart {
                    id: row.get(0)?,
                    day,
                    aggregate: PartAggregate {
                        first_ts: row.get(1)?,
                        last_ts: row.get(2)?,
                        requests: row.get::<_, i64>(3)? as u64,
                        attacks: row.get::<_, i64>(4)? as u64,
                        flow_mask: row.get::<_, i64>(5)? as u8,
                        counts: PartAggregate::decode_counts(&counts),
                    },
                    stored: true,
                })
            })
            .optional()?;
        let part = match stored {
            Some(part) => part,
            None => {
                let id = self.next_part_id;
                self.next_part_id += 1;
                CachedPart {
                    id,
                    day,
                    aggregate: PartAggregate::default(),
                    stored: false,
                }
            }
        };
        self.parts.insert((session_id, day), part);
        Ok(())
    }
}

/// The block a batch is filling for one part.
struct OpenBlock {
    block_id: i64,
    part: (SessionId, i32),
    encoder: BlockEncoder,
    /// Batch positions of the entries, for id checks before the block is stored.
    positions: Vec<u32>,
    /// The part's flow mask and whether its row existed when the block was opened.
    flow_mask_before: u8,
    part_existed: bool,
    /// Repeats not yet counted in the part's aggregate.
    runs: ValueRuns,
}

/// How many kinds an exchange has exactly one value of, or none (`add_to_aggregate` lists them).
const SINGLE_VALUED_KINDS: usize = 9;

/// The current run of equal values of each single-valued kind in a block. A session repeats its
/// address, host, app, method and key on request after request; a repeat is counted here with a
/// comparison instead of a map update, and a run's count goes into the part's aggregate when its
/// value changes and before the block is stored.
#[derive(Default)]
struct ValueRuns {
    /// Per kind: (kind, value, repeats after the run's first request that the aggregate has not
    /// counted yet).
    runs: [Option<(u8, i64, u64)>; SINGLE_VALUED_KINDS],
}

impl ValueRuns {
    /// Counts `value` of `value_kind`, whose run is kept in `slot`; true when the part did not
    /// have the value before.
    fn add(
        &mut self,
        aggregate: &mut PartAggregate,
        slot: usize,
        value_kind: u8,
        value: i64,
    ) -> bool {
        let run = &mut self.runs[slot];
        if let Some((_, current, repeats)) = run {
            if *current == value {
                *repeats += 1;
                return false;
            }
        }
        if let Some((previous_kind, previous, repeats)) = run.replace((value_kind, value, 0)) {
            aggregate.add_repeats(previous_kind, previous, repeats);
        }
        aggregate.add_value(value_kind, value)
    }

    /// Counts every pending repeat in `aggregate` and starts over.
    fn flush(&mut self, aggregate: &mut PartAggregate) {
        for (value_kind, value, repeats) in self.runs.iter_mut().filter_map(Option::take) {
            aggregate.add_repeats(value_kind, value, repeats);
        }
    }
}

/// What a batch changes besides blocks and parts: new presence rows and day statistics.
#[derive(Default)]
struct BatchTotals {
    new_presence: Vec<(u8, i64, i64)>,
    day_deltas: HashMap<(i32, i64), i64>,
}

/// Stores a filled block and its part's aggregate, and counts the day statistics it changes.
/// The part row is written here, not at the end of the batch, so a part cache cleared by a
/// later part of the batch cannot lose it.
fn finish_block(
    connection: &Connection,
    caches: &mut Caches,
    mut block: OpenBlock,
    totals: &mut BatchTotals,
) -> rusqlite::Result<()> {
    if block.encoder.is_empty() {
        return Ok(());
    }
    if let Some(part) = caches.parts.get_mut(&block.part) {
        block.runs.flush(&mut part.aggregate);
    }
    connection
        .prepare_cached(
            "INSERT INTO blocks (id, part_id, first_ts, last_ts, count, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            block.block_id,
            caches.parts.get(&block.part).map(|part| part.id),
            block.encoder.first_ts(),
            block.encoder.last_ts(),
            block.encoder.len() as i64,
            block.encoder.bytes()
        ])?;
    caches.next_block_id = caches.next_block_id.max(block.block_id + 1);
    let Some(part) = caches.parts.get_mut(&block.part) else {
        return Ok(());
    };
    let (session_id, day) = block.part;
    let counts = part.aggregate.encode_counts();
    let aggregate = &part.aggregate;
    if part.stored {
        connection
            .prepare_cached(
                "UPDATE parts SET first_ts = ?2, last_ts = ?3, requests = ?4, attacks = ?5, flows = ?6, counts = ?7
                 WHERE id = ?1",
            )?
            .execute(params![
                part.id,
                aggregate.first_ts,
                aggregate.last_ts,
                aggregate.requests as i64,
                aggregate.attacks as i64,
                aggregate.flow_mask,
                counts
            ])?;
    } else {
        connection
            .prepare_cached(
                "INSERT INTO parts (id, session_id, day, first_ts, last_ts, requests, attacks, flows, counts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                part.id,
                &session_id.0[..],
                part.day,
                aggregate.first_ts,
                aggregate.last_ts,
                aggregate.requests as i64,
                aggregate.attacks as i64,
                aggregate.flow_mask,
                counts
            ])?;
        part.stored = true;
    }
    let deltas = &mut totals.day_deltas;
    *deltas.entry((day, ALL_EXCHANGES)).or_insert(0) += block.encoder.len() as i64;
    if !block.part_existed {
        *deltas.entry((day, ALL_PARTS)).or_insert(0) += 1;
    }
    let gained = aggregate.flow_mask & !block.flow_mask_before;
    for flow_index in 0..7i64 {
        if gained & (1 << flow_index) != 0 {
            *deltas.entry((day, flow_index)).or_insert(0) += 1;
        }
    }
    Ok(())
}

fn flow_index(flow: Flow) -> i64 {
    Flow::ALL
        .iter()
        .position(|candidate| *candidate == flow)
        .unwrap_or(0) as i64
}

/// Adds the exchange's values to a part aggregate (single-valued kinds through the block's
/// runs); returns the (kind, value) pairs new to the part.
#[allow(clippy::too_many_arguments)]
fn add_to_aggregate(
    aggregate: &mut PartAggregate,
    runs: &mut ValueRuns,
    ts: Micros,
    status: Option<u16>,
    flows: sessionscope_model::FlowSet,
    interned: &Interned,
    has_attacks: bool,
    new_values: &mut Vec<(u8, i64)>,
) {
    aggregate.add_time(ts);
    if has_attacks {
        aggregate.attacks += 1;
    }
    aggregate.flow_mask |= flows.0;
    // `METHOD template` is counted but has no presence entry: filters use methods and templates.
    let single: [(u8, Option<i64>); SINGLE_VALUED_KINDS] = [
        (kind::CLIENT_IP, interned.address_id),
        (kind::HOST, Some(interned.host_id)),
        (kind::APP, Some(interned.app_id)),
        (kind::ENDPOINT, Some(interned.endpoint_id)),
        (kind::TEMPLATE, Some(interned.template_id)),
        (kind::METHOD, Some(interned.method_id)),
        (kind::STATUS, status.map(i64::from)),
        (kind::USER, interned.user_id),
        (kind::SESSION_KEY, Some(interned.key_id)),
    ];
    for (slot, (value_kind, value)) in single.into_iter().enumerate() {
        if let Some(value) = value {
            if runs.add(aggregate, slot, value_kind, value) && value_kind != kind::ENDPOINT {
                new_values.push((value_kind, value));
            }
        }
    }
    let mut add = |value_kind: u8, value: i64| {
        if aggregate.add_value(value_kind, value) {
            new_values.push((value_kind, value));
        }
    };
    for flow in flows.iter() {
        add(kind::FLOW, flow_index(flow));
    }
    for role_id in &interned.role_ids {
        add(kind::ROLE, *role_id);
    }
    for attack_type_id in &interned.attack_type_ids {
        add(kind::ATTACK_TYPE, *attack_type_id);
    }
}

impl Writer {
    pub fn new(connection: Connection) -> rusqlite::Result<Writer> {
        let caches = Caches::load(&connection)?;
        Ok(Writer { connection, caches })
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Forgets every cached id; the next batch reloads counters from the tables.
    pub fn reset_caches(&mut self) {
        self.caches = Caches::load(&self.connection).unwrap_or_default();
    }

    /// Appends the chunks' exchanges as one batch; `stored_at` (wall clock) becomes the time of
    /// storage of every day the batch has an exchange of, new or duplicate.
    pub fn append(
        &mut self,
        chunks: &[&[AnalyzedExchange]],
        stored_at: Micros,
    ) -> Result<AppendOutcome, StoreError> {
        let batch: Vec<&AnalyzedExchange> = chunks.iter().flat_map(|chunk| chunk.iter()).collect();
        if batch.is_empty() {
            return Ok(AppendOutcome::default());
        }
        let result = self.append_in_transaction(&batch, stored_at);
        if result.is_err() {
            self.reset_caches();
        }
        result.map_err(backend_error)
    }

    fn append_in_transaction(
        &mut self,
        batch: &[&AnalyzedExchange],
        stored_at: Micros,
    ) -> rusqlite::Result<AppendOutcome> {
        let Writer { connection, caches } = self;
        let transaction =
            rusqlite::Transaction::new_unchecked(connection, TransactionBehavior::Immediate)?;
        let mut outcome = AppendOutcome::default();
        let mut totals = BatchTotals::default();
        // The part is the UTC day of the time itself, whatever the caller put in `day`, so a
        // part never holds requests of another day. Sorting by (part, time) makes each part's
        // exchanges of the batch one run, encoded into blocks in time order; the batch
        // position keeps equal times in arrival order.
        let mut order: Vec<(SessionId, i32, i64, u32)> = batch
            .iter()
            .enumerate()
            .map(|(position, exchange)| {
                (
                    exchange.session_id,
                    day_of(exchange.ts),
                    exchange.ts,
                    position as u32,
                )
            })
            .collect();
        order.sort_unstable();
        let mut open: Option<OpenBlock> = None;
        let mut last_loaded: Option<(i64, Vec<StoredExchange>)> = None;
        // The last stored exchange and its ids, for `intern_exchange`.
        let mut previous: Option<(u32, Interned)> = None;
        let mut new_values: Vec<(u8, i64)> = Vec::new();
        // The JSON of the context of the exchange at `context_of`.
        let mut context_json: Vec<u8> = Vec::new();
        let mut context_of: Option<u32> = None;
        for (step, &(session_id, day, _, position)) in order.iter().enumerate() {
            // The batch is visited in part order, not in memory order: fetch the exchanges a few
            // steps ahead so their fields and strings are in the cache when their turn comes.
            let ahead = |distance: usize| {
                let &(_, _, _, position) = order.get(step + distance)?;
                batch.get(position as usize).copied()
            };
            if let Some(later) = ahead(PREFETCH_STRUCT_DISTANCE) {
                prefetch_exchange(later);
            }
            if let Some(later) = ahead(PREFETCH_TEXT_DISTANCE) {
                prefetch_exchange_text(later);
            }
            let Some(exchange) = batch.get(position as usize).copied() else {
                continue;
            };
            let continues_block = open.as_ref().is_some_and(|block| {
                block.part == (session_id, day) && block.encoder.len() < MAX_BLOCK_ENTRIES
            });
            if !continues_block {
                if let Some(block) = open.take() {
                    finish_block(&transaction, caches, block, &mut totals)?;
                }
                open = Some(caches.open_block(&transaction, session_id, day)?);
            }
            let Some(block) = open.as_mut() else {
                continue;
            };
            let key = exchange_key(block.block_id, block.encoder.len());
            let claimed = {
                let pending: &OpenBlock = block;
                let mut id_at_key = |key: i64, id: &str| -> rusqlite::Result<bool> {
                    let block_id = block_of_key(key);
                    if block_id == pending.block_id {
                        // The block is still being built: its ids are in the batch.
                        let index = (key - exchange_key(pending.block_id, 0)) as usize;
                        return Ok(pending
                            .positions
                            .get(index)
                            .and_then(|position| batch.get(*position as usize))
                            .is_some_and(|stored| stored.id == id));
                    }
                    // A resent batch asks for the entries of one block after another.
                    if last_loaded
                        .as_ref()
                        .is_none_or(|(loaded, _)| *loaded != block_id)
                    {
                        last_loaded =
                            load_block(&transaction, block_id)?.map(|entries| (block_id, entries));
                    }
                    Ok(last_loaded.as_ref().is_some_and(|(_, entries)| {
                        position_in_block(entries, key)
                            .and_then(|position| entries.get(position))
                            .is_some_and(|entry| entry.id == id)
                    }))
                };
                caches.ids.claim(
                    &transaction,
                    hour_of(exchange.ts),
                    &exchange.id,
                    key,
                    &mut id_at_key,
                )?
            };
            if !claimed {
                outcome.duplicates += 1;
                continue;
            }
            let previous_exchange = previous
                .as_mut()
                .and_then(|(position, interned)| Some((*batch.get(*position as usize)?, interned)));
            let interned = caches.intern_exchange(&transaction, exchange, previous_exchange)?;
            // Contexts go into the block as JSON text, which a block writes once for a run of
            // equal ones (a session repeats its user and roles); the JSON of the exchange before
            // it in the batch order is reused when the values are equal.
            let context_text = if exchange.context.is_empty() {
                None
            } else {
                let repeated = context_of.is_some_and(|position| {
                    batch
                        .get(position as usize)
                        .is_some_and(|before| before.context == exchange.context)
                });
                if !repeated {
                    context_json.clear();
                    if serde_json::to_writer(&mut context_json, &exchange.context).is_err() {
                        context_json.clear();
                    }
                    context_of = Some(position);
                }
                std::str::from_utf8(&context_json)
                    .ok()
                    .filter(|json| !json.is_empty())
            };
            // The part was loaded when its block was opened.
            if let Some(part) = caches.parts.get_mut(&block.part) {
                new_values.clear();
                add_to_aggregate(
                    &mut part.aggregate,
                    &mut block.runs,
                    exchange.ts,
                    exchange.status,
                    exchange.flows,
                    &interned,
                    !exchange.attacks.is_empty(),
                    &mut new_values,
                );
                for (value_kind, value) in &new_values {
                    totals.new_presence.push((*value_kind, *value, part.id));
                }
            }
            let attacks = if exchange.attacks.is_empty() {
                None
            } else {
                serde_json::to_string(&exchange.attacks).ok()
            };
            block.encoder.push(&BlockEntry {
                ts: exchange.ts,
                id: &exchange.id,
                address_id: interned.address_id,
                host_id: interned.host_id,
                app_id: interned.app_id,
                method_id: interned.raw_method_id,
                template_id: interned.template_id,
                path: &exchange.path,
                query: (!exchange.query.is_empty()).then_some(exchange.query.as_str()),
                status: exchange.status,
                duration: exchange.duration_ms,
                size: exchange.size.map(|size| size.min(i64::MAX as u64) as i64),
                user_agent_id: interned.user_agent_id,
                user_id: interned.user_id,
                role_set_id: interned.role_set_id,
                key_id: interned.key_id,
                flows: exchange.flows.0,
                attack_set_id: interned.attack_set_id,
                attacks: attacks.as_deref(),
                context_id: None,
                context_text,
            });
            block.positions.push(position);
            previous = Some((position, interned));
            outcome.inserted += 1;
        }
        if let Some(block) = open.take() {
            finish_block(&transaction, caches, block, &mut totals)?;
        }
        let BatchTotals {
            mut new_presence,
            day_deltas,
        } = totals;
        caches.ids.write_added(&transaction)?;
        presence::insert(&transaction, &mut new_presence)?;
        apply_day_deltas(&transaction, &day_deltas)?;
        // Days repeat across the sessions of `order`; a batch has a handful of distinct ones.
        let mut days: std::collections::BTreeSet<i32> = std::collections::BTreeSet::new();
        let mut last_day = None;
        for &(_, day, _, _) in &order {
            if last_day != Some(day) {
                days.insert(day);
                last_day = Some(day);
            }
        }
        let mut touch = transaction.prepare_cached(
            "INSERT INTO day_storage (day, stored_at) VALUES (?1, ?2)
             ON CONFLICT (day) DO UPDATE SET stored_at = max(stored_at, excluded.stored_at)",
        )?;
        for day in days {
            touch.execute(params![day, stored_at])?;
        }
        drop(touch);
        transaction.commit()?;
        Ok(outcome)
    }

    pub fn apply_retention(
        &mut self,
        stored_before: Micros,
    ) -> Result<RetentionOutcome, StoreError> {
        let result = super::retention::apply(&self.connection, stored_before);
        // Parts and dictionary rows may be gone; cached ids must not be reused.
        self.reset_caches();
        result
    }

    /// Starts, continues or starts over the stored re-evaluation job (`reevaluate::start`).
    pub fn start_reevaluation(
        &mut self,
        request: &crate::ReevaluationRequest,
        now: Micros,
    ) -> Result<Option<(super::reevaluate::StoredJob, bool)>, StoreError> {
        let work = || -> rusqlite::Result<_> {
            let transaction = rusqlite::Transaction::new_unchecked(
                &self.connection,
                TransactionBehavior::Immediate,
            )?;
            let started = super::reevaluate::start(&transaction, request, now)?;
            transaction.commit()?;
            Ok(started)
        };
        work().map_err(backend_error)
    }

    /// One piece of the re-evaluation job, in one transaction (`reevaluate::piece`).
    pub fn reevaluation_piece(
        &mut self,
        settings_version: i64,
        keep: &dyn Fn(&crate::AttackContext<'_>, &sessionscope_model::Attack) -> bool,
    ) -> Result<super::reevaluate::Piece, StoreError> {
        let work = || -> rusqlite::Result<_> {
            let transaction = rusqlite::Transaction::new_unchecked(
                &self.connection,
                TransactionBehavior::Immediate,
            )?;
            let piece = super::reevaluate::piece(&transaction, settings_version, keep)?;
            transaction.commit()?;
            Ok(piece)
        };
        let result = work().map_err(backend_error);
        // New attack sets may have been added to the dictionary behind the writer's back.
        self.reset_caches();
        result
    }
}

pub(crate) fn apply_day_deltas(
    connection: &Connection,
    deltas: &HashMap<(i32, i64), i64>,
) -> rusqlite::Result<()> {
    let mut upsert = connection.prepare_cached(
        "INSERT INTO day_stats (day, flow, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (day, flow) DO UPDATE SET count = count + excluded.count",
    )?;
    for ((day, flow), delta) in deltas {
        if *delta != 0 {
            upsert.execute(params![day, flow, delta])?;
        }
    }
    connection.execute("DELETE FROM day_stats WHERE count <= 0", [])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of repeats, changes back and forth, and a flush between blocks count exactly what
    /// counting every value in the map counts, and report a value as new only once per part.
    #[test]
    fn value_runs_count_like_the_plain_aggregate() {
        let sequences: [&[i64]; 4] = [&[], &[5], &[5, 5, 5, 7, 7, 5, 5, 9], &[1, 2, 1, 2, 2, 2]];
        for values in sequences {
            let mut plain = PartAggregate::default();
            let mut plain_new = Vec::new();
            for value in values {
                if plain.add_value(kind::STATUS, *value) {
                    plain_new.push(*value);
                }
            }
            // Any slot: a run keeps the kind it counts.
            let slot = 0;
            let mut aggregate = PartAggregate::default();
            let mut runs = ValueRuns::default();
            let mut new = Vec::new();
            // The part's values arrive in two blocks.
            let (first, second) = values.split_at(values.len() / 2);
            for block in [first, second] {
                for value in block {
                    if runs.add(&mut aggregate, slot, kind::STATUS, *value) {
                        new.push(*value);
                    }
                }
                runs.flush(&mut aggregate);
            }
            assert_eq!(aggregate.counts, plain.counts, "{values:?}");
            assert_eq!(new, plain_new, "{values:?}");
        }
    }
}

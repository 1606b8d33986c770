//! The write side: appending batches (dictionary interning, idempotency by id hash, running part
//! aggregates, presence, day statistics) and retention. Only one writer exists per store.

use std::collections::HashMap;
use std::net::IpAddr;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sessionscope_model::{day_of, AnalyzedExchange, AppendOutcome, Flow, Micros, SessionId};

use crate::{RetentionOutcome, StoreError};

use super::aggregate::{kind, PartAggregate, SET_SEPARATOR};
use super::backend_error;
use super::keys::{
    hour_of, hours_of_day, id_slot, next_slot, time_key_base, KEYS_PER_MICROSECOND, MAX_HOUR,
};
use super::schema::{ALL_EXCHANGES, ALL_PARTS};

/// Upper bounds of the in-memory caches; past them a cache is cleared (it refills from the
/// dictionary tables), which keeps the process's memory bounded whatever the data.
const MAX_CACHED_STRINGS: usize = 200_000;
const MAX_CACHED_ADDRESSES: usize = 200_000;
const MAX_CACHED_PARTS: usize = 20_000;

pub(crate) const INSERT_EXCHANGE: &str = "INSERT INTO exchanges (seq, part_id, ts, id, address_id, host_id, app_id, method_id,
    template_id, path, query, status, duration, size, user_agent_id, user_id, role_set_id, key_id, flows,
    attack_set_id, attacks, context_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)";

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

/// A fast non-cryptographic hasher for the writer's caches (the keys are our own ids and
/// strings, not attacker-chosen lookups of a long-lived service map).
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // Mix high bits into low ones: hash tables pick buckets by the low bits, and keys such
        // as time keys (multiples of 1024) would otherwise all land in one bucket group.
        let mut hash = self.0;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.write_u64(value as u64);
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(value as u64);
    }

    fn write_i32(&mut self, value: i32) {
        self.write_u64(value as u32 as u64);
    }

    fn write_i64(&mut self, value: i64) {
        self.write_u64(value as u64);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

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
    /// Time key base → the next key to try, so exchanges sharing a microsecond (logs with
    /// second resolution) do not probe from the start each time.
    next_time_keys: FastMap<i64, i64>,
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
        let found: Option<i64> = connection
            .prepare_cached("SELECT id FROM strings WHERE kind = ?1 AND text = ?2")?
            .query_row(params![value_kind, text], |row| row.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                let id = self.next_string_id;
                connection
                    .prepare_cached("INSERT INTO strings (id, kind, text) VALUES (?1, ?2, ?3)")?
                    .execute(params![id, value_kind, text])?;
                self.next_string_id += 1;
                id
            }
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

    fn intern_exchange(
        &mut self,
        connection: &Connection,
        exchange: &AnalyzedExchange,
    ) -> rusqlite::Result<Interned> {
        let address_id = match exchange.client_ip {
            Some(address) => Some(self.intern_address(connection, address)?),
            None => None,
        };
        let host_id = self.intern(connection, kind::HOST, &exchange.host)?;
        let app_id = self.intern(connection, kind::APP, &exchange.app)?;
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
        let user_agent_id = match exchange.user_agent.as_deref() {
            Some(agent) => Some(self.intern(connection, kind::USER_AGENT, agent)?),
            None => None,
        };
        let user_id = match exchange.user.as_deref() {
            Some(user) => Some(self.intern(connection, kind::USER, user)?),
            None => None,
        };
        let role_set_id = self.intern_set(
            connection,
            kind::ROLE_SET,
            exchange.roles.iter().map(String::as_str),
        )?;
        let mut role_ids = Vec::with_capacity(exchange.roles.len());
        for role in &exchange.roles {
            role_ids.push(self.intern(connection, kind::ROLE, role)?);
        }
        role_ids.sort_unstable();
        role_ids.dedup();
        let key_id = self.intern(connection, kind::SESSION_KEY, &exchange.session_key)?;
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

/// Follows the probe chain of `id` in one hour bucket; returns (seq of the stored exchange, or
/// the first free slot of the chain).
pub(crate) fn probe_hour(
    connection: &Connection,
    id: &str,
    hour: i64,
) -> rusqlite::Result<Result<i64, i64>> {
    let mut slot = id_slot(hour, id);
    loop {
        let entry: Option<i64> = connection
            .prepare_cached("SELECT seq FROM exchange_ids WHERE slot = ?1")?
            .query_row(params![slot], |row| row.get(0))
            .optional()?;
        let Some(seq) = entry else {
            return Ok(Err(slot));
        };
        // A negative seq is a tombstone left by retention inside a probe chain.
        if seq >= 0 {
            let stored_id: Option<String> = connection
                .prepare_cached("SELECT id FROM exchanges WHERE seq = ?1")?
                .query_row(params![seq], |row| row.get(0))
                .optional()?;
            if stored_id.as_deref() == Some(id) {
                return Ok(Ok(seq));
            }
        }
        slot = next_slot(slot);
    }
}

/// Looks an exchange up by id alone: every hour bucket of every stored day is probed (a point
/// look-up each, a few hundred at most).
pub(crate) fn find_exchange(connection: &Connection, id: &str) -> rusqlite::Result<Option<i64>> {
    let mut statement =
        connection.prepare_cached("SELECT DISTINCT day FROM day_stats ORDER BY day DESC")?;
    let days: Vec<i64> = statement
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut hours: Vec<i64> = days.into_iter().flat_map(hours_of_day).collect();
    // Times outside the key range share the edge buckets.
    hours.push(0);
    hours.push(MAX_HOUR);
    hours.dedup();
    for hour in hours {
        if let Ok(seq) = probe_hour(connection, id, hour)? {
            return Ok(Some(seq));
        }
    }
    Ok(None)
}

/// Claims the id slot of a new exchange; `None` when the id is stored already for that hour.
fn claim_exchange_id(
    connection: &Connection,
    id: &str,
    ts: i64,
    seq: i64,
) -> rusqlite::Result<Option<i64>> {
    let hour = hour_of(ts);
    let slot = id_slot(hour, id);
    let inserted = connection
        .prepare_cached("INSERT OR IGNORE INTO exchange_ids (slot, seq) VALUES (?1, ?2)")?
        .execute(params![slot, seq])?;
    if inserted == 1 {
        return Ok(Some(slot));
    }
    // Slow path, rare: the same id again, or another id with the same hash in this hour.
    match probe_hour(connection, id, hour)? {
        Ok(_) => Ok(None),
        Err(free_slot) => {
            connection
                .prepare_cached("INSERT INTO exchange_ids (slot, seq) VALUES (?1, ?2)")?
                .execute(params![free_slot, seq])?;
            Ok(Some(free_slot))
        }
    }
}

fn is_constraint_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

/// The first free time key at or after `candidate`, from the table.
fn free_time_key(connection: &Connection, candidate: i64) -> rusqlite::Result<i64> {
    let mut key = candidate;
    loop {
        let taken: Option<i64> = connection
            .prepare_cached("SELECT max(seq) FROM exchanges WHERE seq >= ?1 AND seq < ?2")?
            .query_row(
                params![key, key.saturating_add(KEYS_PER_MICROSECOND)],
                |row| row.get(0),
            )?;
        match taken {
            None => return Ok(key),
            Some(max) => key = max.saturating_add(1),
        }
        // Keys only ever grow here, and each round skips a taken block, so this ends.
    }
}

fn flow_index(flow: Flow) -> i64 {
    Flow::ALL
        .iter()
        .position(|candidate| *candidate == flow)
        .unwrap_or(0) as i64
}

/// Adds the exchange's values to a part aggregate; returns the (kind, value) pairs new to the part.
pub(crate) fn add_to_aggregate(
    aggregate: &mut PartAggregate,
    ts: Micros,
    status: Option<u16>,
    flows: sessionscope_model::FlowSet,
    interned: &InternedValues,
    new_values: &mut Vec<(u8, i64)>,
) {
    aggregate.add_time(ts);
    if interned.has_attacks {
        aggregate.attacks += 1;
    }
    aggregate.flow_mask |= flows.0;
    // `METHOD template` is counted but has no presence entry: filters use methods and templates.
    let mut add = |value_kind: u8, value: i64| {
        if aggregate.add_value(value_kind, value) && value_kind != kind::ENDPOINT {
            new_values.push((value_kind, value));
        }
    };
    if let Some(address_id) = interned.address_id {
        add(kind::CLIENT_IP, address_id);
    }
    add(kind::HOST, interned.host_id);
    add(kind::APP, interned.app_id);
    for flow in flows.iter() {
        add(kind::FLOW, flow_index(flow));
    }
    add(kind::ENDPOINT, interned.endpoint_id);
    add(kind::TEMPLATE, interned.template_id);
    add(kind::METHOD, interned.method_id);
    if let Some(status) = status {
        add(kind::STATUS, status as i64);
    }
    if let Some(user_id) = interned.user_id {
        add(kind::USER, user_id);
    }
    for role_id in &interned.role_ids {
        add(kind::ROLE, *role_id);
    }
    add(kind::SESSION_KEY, interned.key_id);
    for attack_type_id in &interned.attack_type_ids {
        add(kind::ATTACK_TYPE, *attack_type_id);
    }
}

/// The aggregate-relevant values of one exchange, as dictionary ids.
pub(crate) struct InternedValues {
    pub address_id: Option<i64>,
    pub host_id: i64,
    pub app_id: i64,
    pub endpoint_id: i64,
    pub template_id: i64,
    pub method_id: i64,
    pub user_id: Option<i64>,
    pub role_ids: Vec<i64>,
    pub key_id: i64,
    pub attack_type_ids: Vec<i64>,
    pub has_attacks: bool,
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

    pub fn append(&mut self, batch: &[AnalyzedExchange]) -> Result<AppendOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(AppendOutcome::default());
        }
        let result = self.append_in_transaction(batch);
        if result.is_err() {
            self.reset_caches();
        }
        result.map_err(backend_error)
    }

    fn append_in_transaction(
        &mut self,
        batch: &[AnalyzedExchange],
    ) -> rusqlite::Result<AppendOutcome> {
        let Writer { connection, caches } = self;
        let transaction =
            rusqlite::Transaction::new_unchecked(connection, TransactionBehavior::Immediate)?;
        let mut outcome = AppendOutcome::default();
        // Parts touched by this batch, with their flow mask and existence before it.
        let mut touched: FastMap<(SessionId, i32), (u8, bool)> = FastMap::default();
        let mut new_presence: Vec<(u8, i64, i64)> = Vec::new();
        let mut new_values: Vec<(u8, i64)> = Vec::new();
        let mut exchanges_per_day: HashMap<i32, i64> = HashMap::new();
        {
            let mut insert = transaction.prepare_cached(INSERT_EXCHANGE)?;
            for exchange in batch {
                let base = time_key_base(exchange.ts);
                let mut seq = caches.next_time_keys.get(&base).copied().unwrap_or(base);
                let Some(slot) = claim_exchange_id(&transaction, &exchange.id, exchange.ts, seq)?
                else {
                    outcome.duplicates += 1;
                    continue;
                };
                // The part is the UTC day of the time itself, whatever the caller put in `day`,
                // so a part never holds requests of another day.
                let day = day_of(exchange.ts);
                let interned = caches.intern_exchange(&transaction, exchange)?;
                // Context values repeat across a session's requests, so they are interned.
                let context_id = if exchange.context.is_empty() {
                    None
                } else {
                    match serde_json::to_string(&exchange.context) {
                        Ok(json) => Some(caches.intern(&transaction, kind::CONTEXT, &json)?),
                        Err(_) => None,
                    }
                };
                caches.load_part(&transaction, exchange.session_id, day)?;
                let Some(part) = caches.parts.get_mut(&(exchange.session_id, day)) else {
                    continue;
                };
                touched
                    .entry((exchange.session_id, day))
                    .or_insert((part.aggregate.flow_mask, part.stored));
                let values = InternedValues {
                    address_id: interned.address_id,
                    host_id: interned.host_id,
                    app_id: interned.app_id,
                    endpoint_id: interned.endpoint_id,
                    template_id: interned.template_id,
                    method_id: interned.method_id,
                    user_id: interned.user_id,
                    role_ids: interned.role_ids,
                    key_id: interned.key_id,
                    attack_type_ids: interned.attack_type_ids,
                    has_attacks: !exchange.attacks.is_empty(),
                };
                new_values.clear();
                add_to_aggregate(
                    &mut part.aggregate,
                    exchange.ts,
                    exchange.status,
                    exchange.flows,
                    &values,
                    &mut new_values,
                );
                for (value_kind, value) in &new_values {
                    new_presence.push((*value_kind, *value, part.id));
                }
                *exchanges_per_day.entry(day).or_insert(0) += 1;
                let query = if exchange.query.is_empty() {
                    None
                } else {
                    Some(exchange.query.as_str())
                };
                let attacks = if exchange.attacks.is_empty() {
                    None
                } else {
                    serde_json::to_string(&exchange.attacks).ok()
                };
                let mut attempt = 0;
                loop {
                    let result = insert.execute(params![
                        seq,
                        part.id,
                        exchange.ts,
                        exchange.id,
                        interned.address_id,
                        interned.host_id,
                        interned.app_id,
                        interned.raw_method_id,
                        interned.template_id,
                        exchange.path,
                        query,
                        exchange.status,
                        exchange.duration_ms,
                        exchange.size.map(|size| size.min(i64::MAX as u64) as i64),
                        interned.user_agent_id,
                        interned.user_id,
                        interned.role_set_id,
                        interned.key_id,
                        exchange.flows.0,
                        interned.attack_set_id,
                        attacks,
                        context_id,
                    ]);
                    match result {
                        Ok(_) => break,
                        Err(error) if is_constraint_violation(&error) && attempt < 3 => {
                            // The key is taken (another exchange in the same microsecond).
                            attempt += 1;
                            seq = free_time_key(&transaction, seq)?;
                            transaction
                                .prepare_cached("UPDATE exchange_ids SET seq = ?2 WHERE slot = ?1")?
                                .execute(params![slot, seq])?;
                        }
                        Err(error) => return Err(error),
                    }
                }
                if caches.next_time_keys.len() >= MAX_CACHED_STRINGS {
                    caches.next_time_keys.clear();
                }
                caches.next_time_keys.insert(base, seq + 1);
                outcome.inserted += 1;
            }
        }
        // Day statistics: parts per day, parts per (day, flow), exchanges per day.
        let mut day_deltas: HashMap<(i32, i64), i64> = HashMap::new();
        for (day, count) in exchanges_per_day {
            *day_deltas.entry((day, ALL_EXCHANGES)).or_insert(0) += count;
        }
        for ((session_id, day), (old_mask, existed)) in &touched {
            let Some(part) = caches.parts.get_mut(&(*session_id, *day)) else {
                continue;
            };
            let counts = part.aggregate.encode_counts();
            let aggregate = &part.aggregate;
            if part.stored {
                transaction
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
                transaction
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
            if !existed {
                *day_deltas.entry((*day, ALL_PARTS)).or_insert(0) += 1;
            }
            let gained = aggregate.flow_mask & !old_mask;
            for flow_index in 0..7i64 {
                if gained & (1 << flow_index) != 0 {
                    *day_deltas.entry((*day, flow_index)).or_insert(0) += 1;
                }
            }
        }
        new_presence.sort_unstable();
        {
            let mut insert_presence = transaction.prepare_cached(
                "INSERT OR IGNORE INTO part_values (kind, value_id, part_id) VALUES (?1, ?2, ?3)",
            )?;
            for (value_kind, value, part_id) in &new_presence {
                insert_presence.execute(params![value_kind, value, part_id])?;
            }
        }
        apply_day_deltas(&transaction, &day_deltas)?;
        transaction.commit()?;
        Ok(outcome)
    }

    pub fn apply_retention(&mut self, cutoff: Micros) -> Result<RetentionOutcome, StoreError> {
        let result = super::retention::apply(&self.connection, cutoff);
        // Parts and dictionary rows may be gone; cached ids must not be reused.
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

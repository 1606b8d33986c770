//! The read side: the session list (from part aggregates when the filter allows, otherwise from
//! the exchanges of the rows on the page), a session's parts, statistics and requests, request
//! details, exports and usage.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};
use sessionscope_model::{
    day_of, day_start_micros, format_day, glob_matches, Attack, ContextValue, Count, Flow,
    PageRequest, RequestDetails, RequestPage, RequestRow, RequestSort, SessionFilter, SessionId,
    SessionPage, SessionStats, SessionSummary, SortDirection, SortField, MICROS_PER_DAY,
};

use crate::{StoreError, StoreUsage};

use super::aggregate::{kind, PartAggregate};
use super::backend_error;
use super::block::{block_of_key, decode_block, load_exchange, BlockReader};
use super::filter::{template_may_match_path, Matcher, Names, StoredExchange};
use super::ids::find_exchange;
use super::presence;
use super::schema::{ALL_EXCHANGES, ALL_PARTS};
use super::writer::address_bytes;

/// Below this many candidate parts every candidate is verified on its exchanges, so `total` is exact.
pub(crate) const VERIFY_ALL_LIMIT: usize = 500;
/// At most this many candidate parts are verified for one page of a broad filter. When the
/// page is not full by then it is returned short, with a cursor after the last part checked,
/// so a rare match (a raw path) costs bounded time per page instead of a scan of everything.
pub(crate) const VERIFY_PER_PAGE: usize = 1_000;
/// Endpoints shown per session row.
const TOP_ENDPOINTS: usize = 10;

/// A part row with its stored aggregate.
#[derive(Debug, Clone)]
pub(crate) struct StoredPart {
    pub id: i64,
    pub session_id: SessionId,
    pub day: i32,
    pub aggregate: PartAggregate,
}

const PART_COLUMNS: &str =
    "id, session_id, day, first_ts, last_ts, requests, attacks, flows, counts";

fn part_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredPart> {
    let session_bytes: Vec<u8> = row.get(1)?;
    let mut session = [0u8; 16];
    if session_bytes.len() == 16 {
        session.copy_from_slice(&session_bytes);
    }
    let counts: Vec<u8> = row.get(8)?;
    Ok(StoredPart {
        id: row.get(0)?,
        session_id: SessionId(session),
        day: row.get(2)?,
        aggregate: PartAggregate {
            first_ts: row.get(3)?,
            last_ts: row.get(4)?,
            requests: row.get::<_, i64>(5)? as u64,
            attacks: row.get::<_, i64>(6)? as u64,
            flow_mask: row.get::<_, i64>(7)? as u8,
            counts: PartAggregate::decode_counts(&counts),
        },
    })
}

fn load_part(connection: &Connection, part_id: i64) -> rusqlite::Result<Option<StoredPart>> {
    connection
        .prepare_cached(&format!("SELECT {PART_COLUMNS} FROM parts WHERE id = ?1"))?
        .query_row(params![part_id], part_from_row)
        .optional()
}

fn session_part_list(
    connection: &Connection,
    session_id: SessionId,
) -> rusqlite::Result<Vec<StoredPart>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {PART_COLUMNS} FROM parts WHERE session_id = ?1 ORDER BY day"
    ))?;
    let rows = statement.query_map(params![&session_id.0[..]], part_from_row)?;
    rows.collect()
}

/// Whether the stored aggregate of a part is exactly what the filter would compute.
fn aggregate_applies(filter: &SessionFilter, part: &StoredPart) -> bool {
    filter.is_time_only()
        && filter.contains_time(part.aggregate.first_ts)
        && filter.contains_time(part.aggregate.last_ts)
}

/// The earliest first time of a block that can hold exchanges of the filter's window: a block
/// holds exchanges of one part, so of one UTC day, and cannot start before the day of `from`.
fn first_block_start(filter: &SessionFilter) -> i64 {
    match filter.from {
        Some(from) => day_start_micros(day_of(from)),
        None => i64::MIN,
    }
}

/// Time range of the filter's window: (from, to).
fn time_window(filter: &SessionFilter) -> (i64, i64) {
    (
        filter.from.unwrap_or(i64::MIN),
        filter.to.unwrap_or(i64::MAX),
    )
}

/// The part's exchanges inside the filter's window, in time order (then arrival order).
fn part_exchanges(
    connection: &Connection,
    part_id: i64,
    filter: &SessionFilter,
) -> rusqlite::Result<Vec<StoredExchange>> {
    let (from, to) = time_window(filter);
    let mut statement = connection.prepare_cached(
        "SELECT id, data FROM blocks WHERE part_id = ?1 AND first_ts < ?2 AND last_ts >= ?3",
    )?;
    let mut rows = statement.query(params![part_id, to, from])?;
    let mut exchanges = Vec::new();
    let mut block_count = 0;
    while let Some(row) = rows.next()? {
        let block_id: i64 = row.get(0)?;
        let data = row.get_ref(1)?.as_blob()?;
        let entries = decode_block(block_id, part_id, data)?;
        exchanges.extend(
            entries
                .into_iter()
                .filter(|exchange| exchange.ts >= from && exchange.ts < to),
        );
        block_count += 1;
    }
    if block_count > 1 {
        // Blocks of later batches may hold earlier times (late arrivals).
        exchanges.sort_by_key(|exchange| (exchange.ts, exchange.seq));
    }
    Ok(exchanges)
}

fn flow_index(flow: Flow) -> i64 {
    Flow::ALL
        .iter()
        .position(|candidate| *candidate == flow)
        .unwrap_or(0) as i64
}

/// Adds a stored exchange to an aggregate with the same value ids the writer uses.
fn add_exchange(
    names: &mut Names<'_>,
    aggregate: &mut PartAggregate,
    exchange: &StoredExchange,
    endpoint_ids: &mut EndpointIds,
) -> rusqlite::Result<()> {
    aggregate.add_time(exchange.ts);
    if exchange.attack_set_id.is_some() {
        aggregate.attacks += 1;
    }
    aggregate.flow_mask |= exchange.flows;
    if let Some(address_id) = exchange.address_id {
        aggregate.add_value(kind::CLIENT_IP, address_id);
    }
    aggregate.add_value(kind::HOST, exchange.host_id);
    aggregate.add_value(kind::APP, exchange.app_id);
    for flow in sessionscope_model::FlowSet(exchange.flows).iter() {
        aggregate.add_value(kind::FLOW, flow_index(flow));
    }
    let (endpoint_id, method_id) =
        endpoint_ids.resolve(names, exchange.method_id, exchange.template_id)?;
    aggregate.add_value(kind::ENDPOINT, endpoint_id);
    aggregate.add_value(kind::TEMPLATE, exchange.template_id);
    aggregate.add_value(kind::METHOD, method_id);
    if let Some(status) = exchange.status {
        aggregate.add_value(kind::STATUS, status as i64);
    }
    if let Some(user_id) = exchange.user_id {
        aggregate.add_value(kind::USER, user_id);
    }
    for role in names.set_members(exchange.role_set_id)? {
        let role_id = endpoint_ids.string_id(names, kind::ROLE, &role)?;
        aggregate.add_value(kind::ROLE, role_id);
    }
    aggregate.add_value(kind::SESSION_KEY, exchange.key_id);
    let mut attack_types = names.set_members(exchange.attack_set_id)?;
    attack_types.dedup();
    for attack_type in attack_types {
        let attack_id = endpoint_ids.string_id(names, kind::ATTACK_TYPE, &attack_type)?;
        aggregate.add_value(kind::ATTACK_TYPE, attack_id);
    }
    Ok(())
}

/// Maps (raw method id, template id) to the writer's endpoint and upper-case method ids, and
/// names to string ids, for aggregates computed at read time. Values the writer never interned
/// get negative stand-in ids whose text is remembered here.
#[derive(Default)]
pub(crate) struct EndpointIds {
    endpoints: HashMap<(i64, i64), (i64, i64)>,
    strings: HashMap<(u8, String), i64>,
    stand_ins: HashMap<i64, String>,
}

impl EndpointIds {
    fn string_id(
        &mut self,
        names: &mut Names<'_>,
        value_kind: u8,
        text: &str,
    ) -> rusqlite::Result<i64> {
        if let Some(id) = self.strings.get(&(value_kind, text.to_string())) {
            return Ok(*id);
        }
        let found: Option<i64> = names
            .connection()
            .prepare_cached("SELECT id FROM strings WHERE kind = ?1 AND text = ?2")?
            .query_row(params![value_kind, text], |row| row.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                let id = -(self.stand_ins.len() as i64) - 1;
                self.stand_ins.insert(id, text.to_string());
                id
            }
        };
        self.strings.insert((value_kind, text.to_string()), id);
        Ok(id)
    }

    fn resolve(
        &mut self,
        names: &mut Names<'_>,
        raw_method_id: i64,
        template_id: i64,
    ) -> rusqlite::Result<(i64, i64)> {
        if let Some(ids) = self.endpoints.get(&(raw_method_id, template_id)) {
            return Ok(*ids);
        }
        let method = names.text(raw_method_id)?.to_ascii_uppercase();
        let template = names.text(template_id)?;
        let method_id = self.string_id(names, kind::METHOD, &method)?;
        let endpoint_id = self.string_id(names, kind::ENDPOINT, &format!("{method} {template}"))?;
        self.endpoints
            .insert((raw_method_id, template_id), (endpoint_id, method_id));
        Ok((endpoint_id, method_id))
    }

    fn text(&self, names: &mut Names<'_>, id: i64) -> rusqlite::Result<String> {
        if id < 0 {
            return Ok(self.stand_ins.get(&id).cloned().unwrap_or_default());
        }
        Ok(names.text(id)?.to_string())
    }
}

/// The aggregate of all of a part's stored exchanges, with the writer's value ids.
pub(crate) fn rebuild_aggregate(
    connection: &Connection,
    part_id: i64,
) -> rusqlite::Result<PartAggregate> {
    let mut names = Names::new(connection);
    let mut endpoint_ids = EndpointIds::default();
    let mut aggregate = PartAggregate::default();
    for exchange in part_exchanges(connection, part_id, &SessionFilter::default())? {
        add_exchange(&mut names, &mut aggregate, &exchange, &mut endpoint_ids)?;
    }
    Ok(aggregate)
}

/// The aggregate of a part's requests that match the filter; `None` when none match.
fn filtered_aggregate(
    names: &mut Names<'_>,
    matcher: &mut Matcher<'_>,
    endpoint_ids: &mut EndpointIds,
    part: &StoredPart,
) -> rusqlite::Result<Option<PartAggregate>> {
    let exchanges = part_exchanges(names.connection(), part.id, matcher_filter(matcher))?;
    let mut aggregate = PartAggregate::default();
    for exchange in &exchanges {
        if matcher.matches(names, exchange)? {
            add_exchange(names, &mut aggregate, exchange, endpoint_ids)?;
        }
    }
    Ok((aggregate.requests > 0).then_some(aggregate))
}

fn matcher_filter<'f>(matcher: &Matcher<'f>) -> &'f SessionFilter {
    matcher.filter()
}

/// The part's aggregate restricted to the filter: the stored one when it applies.
fn part_aggregate(
    names: &mut Names<'_>,
    matcher: &mut Matcher<'_>,
    endpoint_ids: &mut EndpointIds,
    filter: &SessionFilter,
    part: &StoredPart,
) -> rusqlite::Result<Option<PartAggregate>> {
    if aggregate_applies(filter, part) {
        return Ok(Some(part.aggregate.clone()));
    }
    filtered_aggregate(names, matcher, endpoint_ids, part)
}

fn counts_of(
    names: &mut Names<'_>,
    endpoint_ids: &EndpointIds,
    aggregate: &PartAggregate,
    value_kind: u8,
    limit: usize,
) -> rusqlite::Result<Vec<Count>> {
    let mut values: Vec<(i64, u64)> = aggregate.values_of(value_kind).collect();
    values.sort_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(&right.0)));
    let mut counts = Vec::with_capacity(values.len().min(limit));
    for (value, count) in values.into_iter().take(limit) {
        let text = match value_kind {
            kind::FLOW => Flow::ALL
                .get(value as usize)
                .map(|flow| flow.id().to_string())
                .unwrap_or_default(),
            kind::STATUS => value.to_string(),
            kind::CLIENT_IP => names
                .address(value)?
                .map(|address| address.to_string())
                .unwrap_or_default(),
            _ => endpoint_ids.text(names, value)?,
        };
        counts.push(Count::new(text, count, aggregate.requests));
    }
    Ok(counts)
}

fn names_of(
    names: &mut Names<'_>,
    endpoint_ids: &EndpointIds,
    aggregate: &PartAggregate,
    value_kind: u8,
) -> rusqlite::Result<Vec<String>> {
    Ok(
        counts_of(names, endpoint_ids, aggregate, value_kind, usize::MAX)?
            .into_iter()
            .map(|count| count.value)
            .collect(),
    )
}

fn summary(
    names: &mut Names<'_>,
    endpoint_ids: &EndpointIds,
    part: &StoredPart,
    aggregate: &PartAggregate,
    position: (u32, u32),
) -> rusqlite::Result<SessionSummary> {
    Ok(SessionSummary {
        session_id: part.session_id,
        part: format_day(part.day),
        part_index: position.0,
        part_count: position.1,
        start: aggregate.first_ts,
        end: aggregate.last_ts,
        requests: aggregate.requests,
        attacks: aggregate.attacks,
        status: String::new(),
        users: names_of(names, endpoint_ids, aggregate, kind::USER)?,
        roles: names_of(names, endpoint_ids, aggregate, kind::ROLE)?,
        session_keys: names_of(names, endpoint_ids, aggregate, kind::SESSION_KEY)?,
        client_ips: counts_of(names, endpoint_ids, aggregate, kind::CLIENT_IP, usize::MAX)?,
        hosts: counts_of(names, endpoint_ids, aggregate, kind::HOST, usize::MAX)?,
        apps: counts_of(names, endpoint_ids, aggregate, kind::APP, usize::MAX)?,
        flows: counts_of(names, endpoint_ids, aggregate, kind::FLOW, usize::MAX)?,
        endpoints: counts_of(
            names,
            endpoint_ids,
            aggregate,
            kind::ENDPOINT,
            TOP_ENDPOINTS,
        )?,
        endpoints_total: aggregate.values_of(kind::ENDPOINT).count() as u64,
    })
}

/// 1-based position of a part among its session's parts, and how many there are.
fn part_position(connection: &Connection, part: &StoredPart) -> rusqlite::Result<(u32, u32)> {
    let (before, total): (i64, i64) = connection
        .prepare_cached(
            "SELECT count(*) FILTER (WHERE day < ?2), count(*) FROM parts WHERE session_id = ?1",
        )?
        .query_row(params![&part.session_id.0[..], part.day], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    Ok((before as u32 + 1, total as u32))
}

// ---------------------------------------------------------------------------------------------
// Session list

/// Newest first: (last_ts, part id), both descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ListKey {
    last_ts: i64,
    part_id: i64,
}

fn encode_list_cursor(key: ListKey) -> String {
    format!("p{}.{}", key.last_ts, key.part_id)
}

fn decode_list_cursor(cursor: &str) -> Result<ListKey, StoreError> {
    let invalid = || StoreError::InvalidCursor(cursor.chars().take(64).collect());
    let body = cursor.strip_prefix('p').ok_or_else(invalid)?;
    let (last_ts, part_id) = body.split_once('.').ok_or_else(invalid)?;
    Ok(ListKey {
        last_ts: last_ts.parse().map_err(|_| invalid())?,
        part_id: part_id.parse().map_err(|_| invalid())?,
    })
}

/// Part ids, hashed with the writer's fast hasher.
type PartSet = HashSet<i64, foldhash::fast::FixedState>;

/// Past this many values of one field, candidates come from one scan of the field's kind.
const MANY_VALUES: usize = 256;

/// Candidate parts for the non-time fields, from `value_parts` and the part/exchange id
/// look-ups; `None` when no such field is set (every part is a candidate).
struct Candidates {
    parts: Option<PartSet>,
    /// Every candidate has, for each field on its own, a request that matches it, so counting
    /// candidates estimates the total. False when an endpoint pattern admitted templates only
    /// because their raw paths might match it: how many parts hold such a path is unknown
    /// until their requests are read.
    countable: bool,
}

fn candidate_parts(
    connection: &Connection,
    filter: &SessionFilter,
) -> rusqlite::Result<Candidates> {
    let mut countable = true;
    let mut result: Option<PartSet> = None;
    let mut narrow = |set: PartSet| {
        result = Some(match result.take() {
            None => set,
            Some(existing) => existing.intersection(&set).copied().collect(),
        });
    };
    let string_ids = |value_kind: u8, texts: &[String]| -> rusqlite::Result<Vec<i64>> {
        let mut ids = Vec::new();
        let mut statement =
            connection.prepare_cached("SELECT id FROM strings WHERE kind = ?1 AND text = ?2")?;
        for text in texts {
            if let Some(id) = statement
                .query_row(params![value_kind, text], |row| row.get(0))
                .optional()?
            {
                ids.push(id);
            }
        }
        Ok(ids)
    };
    let parts_with = |value_kind: u8, values: &[i64]| -> rusqlite::Result<PartSet> {
        let mut parts = PartSet::default();
        if values.len() > MANY_VALUES {
            // Many values (a wide network): one pass over the kind beats a look-up per value.
            let wanted: PartSet = values.iter().copied().collect();
            let mut statement = connection
                .prepare_cached("SELECT value_id, part_ids FROM value_parts WHERE kind = ?1")?;
            let mut rows = statement.query(params![value_kind])?;
            while let Some(row) = rows.next()? {
                let value_id: i64 = row.get(0)?;
                if wanted.contains(&value_id) {
                    let bytes = row.get_ref(1)?.as_blob()?;
                    presence::decode_part_ids(value_kind, value_id, bytes, &mut parts)?;
                }
            }
            return Ok(parts);
        }
        let mut statement = connection
            .prepare_cached("SELECT part_ids FROM value_parts WHERE kind = ?1 AND value_id = ?2")?;
        for value in values {
            let mut rows = statement.query(params![value_kind, value])?;
            while let Some(row) = rows.next()? {
                let bytes = row.get_ref(0)?.as_blob()?;
                presence::decode_part_ids(value_kind, *value, bytes, &mut parts)?;
            }
        }
        Ok(parts)
    };
    if !filter.apps.is_empty() {
        narrow(parts_with(
            kind::APP,
            &string_ids(kind::APP, &filter.apps)?,
        )?);
    }
    if !filter.hosts.is_empty() {
        let hosts: Vec<String> = filter
            .hosts
            .iter()
            .map(|host| host.to_ascii_lowercase())
            .collect();
        narrow(parts_with(kind::HOST, &string_ids(kind::HOST, &hosts)?)?);
    }
    if !filter.users.is_empty() {
        narrow(parts_with(
            kind::USER,
            &string_ids(kind::USER, &filter.users)?,
        )?);
    }
    if !filter.roles.is_empty() {
        narrow(parts_with(
            kind::ROLE,
            &string_ids(kind::ROLE, &filter.roles)?,
        )?);
    }
    if !filter.attack_types.is_empty() {
        narrow(parts_with(
            kind::ATTACK_TYPE,
            &string_ids(kind::ATTACK_TYPE, &filter.attack_types)?,
        )?);
    }
    if !filter.methods.is_empty() {
        let methods: Vec<String> = filter
            .methods
            .iter()
            .map(|method| method.to_ascii_uppercase())
            .collect();
        narrow(parts_with(
            kind::METHOD,
            &string_ids(kind::METHOD, &methods)?,
        )?);
    }
    if !filter.flows.is_empty() {
        let flows: Vec<i64> = filter.flows.iter().map(|flow| flow_index(*flow)).collect();
        narrow(parts_with(kind::FLOW, &flows)?);
    }
    if !filter.statuses.is_empty() {
        let mut parts = PartSet::default();
        let mut statement = connection.prepare_cached(
            "SELECT value_id, part_ids FROM value_parts WHERE kind = ?1 AND value_id >= ?2 AND value_id <= ?3",
        )?;
        for status in &filter.statuses {
            let (low, high) = status.range();
            let mut rows = statement.query(params![kind::STATUS, low, high])?;
            while let Some(row) = rows.next()? {
                let value_id: i64 = row.get(0)?;
                let bytes = row.get_ref(1)?.as_blob()?;
                presence::decode_part_ids(kind::STATUS, value_id, bytes, &mut parts)?;
            }
        }
        narrow(parts);
    }
    if !filter.client_ips.is_empty() {
        let mut address_ids = Vec::new();
        let mut statement = connection
            .prepare_cached("SELECT id FROM addresses WHERE address >= ?1 AND address <= ?2")?;
        for network in &filter.client_ips {
            for (low, high) in address_ranges(network) {
                for id in
                    statement.query_map(params![&low[..], &high[..]], |row| row.get::<_, i64>(0))?
                {
                    address_ids.push(id?);
                }
            }
        }
        narrow(parts_with(kind::CLIENT_IP, &address_ids)?);
    }
    if !filter.endpoints.is_empty() {
        let mut template_ids = Vec::new();
        let mut statement =
            connection.prepare_cached("SELECT id, text FROM strings WHERE kind = ?1")?;
        for row in statement.query_map(params![kind::TEMPLATE], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })? {
            let (id, template) = row?;
            let matched = filter
                .endpoints
                .iter()
                .any(|pattern| glob_matches(pattern, &template));
            if matched {
                template_ids.push(id);
                continue;
            }
            let path_may_match = filter
                .endpoints
                .iter()
                .any(|pattern| template_may_match_path(pattern, &template));
            if path_may_match {
                template_ids.push(id);
                countable = false;
            }
        }
        narrow(parts_with(kind::TEMPLATE, &template_ids)?);
    }
    if !filter.session_ids.is_empty() {
        let mut parts = PartSet::default();
        let mut statement =
            connection.prepare_cached("SELECT id FROM parts WHERE session_id = ?1")?;
        for session_id in &filter.session_ids {
            for part_id in
                statement.query_map(params![&session_id.0[..]], |row| row.get::<_, i64>(0))?
            {
                parts.insert(part_id?);
            }
        }
        narrow(parts);
    }
    if !filter.request_ids.is_empty() {
        let mut parts = PartSet::default();
        for id in &filter.request_ids {
            if let Some(key) = find_exchange(connection, id)? {
                let part_id: Option<i64> = connection
                    .prepare_cached("SELECT part_id FROM blocks WHERE id = ?1")?
                    .query_row(params![block_of_key(key)], |row| row.get(0))
                    .optional()?;
                parts.extend(part_id);
            }
        }
        narrow(parts);
    }
    Ok(Candidates {
        parts: result,
        countable,
    })
}

/// The 16-byte address ranges a network covers (an IPv4 network also covers its mapped form).
fn address_ranges(network: &ipnet::IpNet) -> Vec<([u8; 16], [u8; 16])> {
    vec![(
        address_bytes(network.network()),
        address_bytes(network.broadcast()),
    )]
}

/// The flows of a part's requests inside the window; `None` when it has none there.
fn flows_in_window(
    connection: &Connection,
    part_id: i64,
    filter: &SessionFilter,
) -> rusqlite::Result<Option<u8>> {
    let exchanges = part_exchanges(connection, part_id, filter)?;
    if exchanges.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        exchanges
            .iter()
            .fold(0u8, |mask, exchange| mask | exchange.flows),
    ))
}

/// Parts with a request in the time window and the flows they touched there, counted from the
/// day statistics for days the window covers wholly and from the parts of the edge days.
fn count_time_window(
    connection: &Connection,
    filter: &SessionFilter,
) -> rusqlite::Result<(u64, [u64; 7])> {
    let (min_day, max_day): (Option<i32>, Option<i32>) =
        connection.query_row("SELECT min(day), max(day) FROM day_stats", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    let (Some(min_day), Some(max_day)) = (min_day, max_day) else {
        return Ok((0, [0; 7]));
    };
    let first_day = filter.from.map(day_of).unwrap_or(min_day).max(min_day);
    let last_day = filter
        .to
        .map(|to| day_of(to.saturating_sub(1)))
        .unwrap_or(max_day)
        .min(max_day);
    let mut total = 0u64;
    let mut flows = [0u64; 7];
    if first_day > last_day {
        return Ok((0, flows));
    }
    let wholly_covered = |day: i32| {
        filter.from.is_none_or(|from| from <= day_start_micros(day))
            && filter
                .to
                .is_none_or(|to| to >= day_start_micros(day) + MICROS_PER_DAY)
    };
    let mut full_from = first_day;
    let mut full_to = last_day;
    let mut edge_days = Vec::new();
    if !wholly_covered(first_day) {
        edge_days.push(first_day);
        full_from = first_day + 1;
    }
    if last_day != first_day && !wholly_covered(last_day) {
        edge_days.push(last_day);
        full_to = last_day - 1;
    }
    if full_from <= full_to {
        let mut statement = connection.prepare_cached(
            "SELECT flow, sum(count) FROM day_stats WHERE day >= ?1 AND day <= ?2 GROUP BY flow",
        )?;
        for row in statement.query_map(params![full_from, full_to], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })? {
            let (flow, count) = row?;
            if flow == ALL_PARTS {
                total += count.max(0) as u64;
            } else if (0..7).contains(&flow) {
                flows[flow as usize] += count.max(0) as u64;
            }
        }
    }
    let from = filter.from.unwrap_or(i64::MIN);
    let to = filter.to.unwrap_or(i64::MAX);
    let mut statement = connection.prepare_cached(
        "SELECT id, first_ts, last_ts, flows FROM parts WHERE day = ?1 AND last_ts >= ?2 AND first_ts < ?3",
    )?;
    for day in edge_days {
        let rows = statement.query_map(params![day, from, to], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (part_id, first_ts, last_ts, part_flows) = row?;
            let mask = if first_ts >= from && last_ts < to {
                part_flows as u8
            } else {
                let Some(mask) = flows_in_window(connection, part_id, filter)? else {
                    continue;
                };
                mask
            };
            total += 1;
            for (index, flow_count) in flows.iter_mut().enumerate() {
                if mask & (1 << index) != 0 {
                    *flow_count += 1;
                }
            }
        }
    }
    Ok((total, flows))
}

fn part_overlaps(filter: &SessionFilter, part: &StoredPart) -> bool {
    filter
        .from
        .is_none_or(|from| part.aggregate.last_ts >= from)
        && filter.to.is_none_or(|to| part.aggregate.first_ts < to)
}

fn count_flows(flow_parts: &mut [u64; 7], mask: u8) {
    for (index, count) in flow_parts.iter_mut().enumerate() {
        if mask & (1 << index) != 0 {
            *count += 1;
        }
    }
}

/// Candidates whose span overlaps the window, and the flows of their whole parts: an estimate,
/// since the matching values may sit on different requests or outside the window.
fn estimate_candidates(
    connection: &Connection,
    filter: &SessionFilter,
    candidates: &PartSet,
) -> rusqlite::Result<(u64, [u64; 7])> {
    let first_day = filter.from.map(day_of).unwrap_or(i32::MIN);
    let last_day = filter
        .to
        .map(|to| day_of(to.saturating_sub(1)))
        .unwrap_or(i32::MAX);
    let from = filter.from.unwrap_or(i64::MIN);
    let to = filter.to.unwrap_or(i64::MAX);
    let mut statement = connection.prepare_cached(
        "SELECT id, flows FROM parts WHERE day >= ?1 AND day <= ?2 AND last_ts >= ?3 AND first_ts < ?4",
    )?;
    let mut rows = statement.query(params![first_day, last_day, from, to])?;
    let mut total = 0u64;
    let mut flow_parts = [0u64; 7];
    while let Some(row) = rows.next()? {
        if candidates.contains(&row.get::<_, i64>(0)?) {
            total += 1;
            count_flows(&mut flow_parts, row.get::<_, i64>(1)? as u8);
        }
    }
    Ok((total, flow_parts))
}

fn flow_counts(flows: &[u64; 7], total: u64) -> Vec<Count> {
    let mut counts: Vec<Count> = Flow::ALL
        .iter()
        .zip(flows.iter())
        .filter(|(_, count)| **count > 0)
        .map(|(flow, count)| Count::new(flow.id(), *count, total))
        .collect();
    counts.sort_by(|left, right| {
        right
            .count
            .cmp(&left.count)
            .then(left.value.cmp(&right.value))
    });
    counts
}

/// Session list. With only a time window (or nothing) rows come from the part aggregates and
/// `total` is exact. With other fields, candidate parts come from `value_parts`; when there are
/// more than `VERIFY_ALL_LIMIT` of them, `total` and `flows` are counted from the candidates'
/// aggregates without checking that the matching values sit on one request, and `total_exact`
/// is false; pages of such a filter verify at most `VERIFY_PER_PAGE` parts and may come back
/// short (even empty) with a `next_cursor` to continue from.
pub(crate) fn list_sessions(
    connection: &Connection,
    filter: &SessionFilter,
    page: &PageRequest,
    limits: VerifyLimits,
) -> Result<SessionPage, StoreError> {
    list_sessions_inner(connection, filter, page, limits).map_err(|error| match error {
        ListError::Store(error) => error,
        ListError::Sql(error) => backend_error(error),
    })
}

enum ListError {
    Store(StoreError),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for ListError {
    fn from(error: rusqlite::Error) -> Self {
        ListError::Sql(error)
    }
}

impl From<StoreError> for ListError {
    fn from(error: StoreError) -> Self {
        ListError::Store(error)
    }
}

/// How much verification on exchanges one list page may do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VerifyLimits {
    /// Up to this many candidate parts, all are verified and the total is exact.
    pub all: usize,
    /// Beyond that, at most this many are verified per page.
    pub per_page: usize,
}

impl Default for VerifyLimits {
    fn default() -> Self {
        VerifyLimits {
            all: VERIFY_ALL_LIMIT,
            per_page: VERIFY_PER_PAGE,
        }
    }
}

fn list_sessions_inner(
    connection: &Connection,
    filter: &SessionFilter,
    page: &PageRequest,
    limits: VerifyLimits,
) -> Result<SessionPage, ListError> {
    let after = match page.cursor.as_deref() {
        Some(cursor) => Some(decode_list_cursor(cursor)?),
        None => None,
    };
    let limit = page.limit.clamp(1, 10_000) as usize;
    let mut names = Names::new(connection);
    let mut matcher = Matcher::new(filter);
    let mut endpoint_ids = EndpointIds::default();
    let mut rows = Vec::new();
    let mut last_key = None;
    let mut more = false;

    let Candidates {
        parts: candidates,
        countable,
    } = candidate_parts(connection, filter)?;
    let (total, total_exact, flows) = match &candidates {
        None => {
            // Walk parts newest first from the cursor on.
            let (start_ts, start_id) = match after {
                Some(key) => (key.last_ts, key.part_id),
                None => (i64::MAX, i64::MAX),
            };
            let from = filter.from.unwrap_or(i64::MIN);
            let to = filter.to.unwrap_or(i64::MAX);
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {PART_COLUMNS} FROM parts
                 WHERE (last_ts < ?1 OR (last_ts = ?1 AND id < ?2)) AND last_ts >= ?3 AND first_ts < ?4
                 ORDER BY last_ts DESC, id DESC"
            ))?;
            let mut parts =
                statement.query_map(params![start_ts, start_id, from, to], part_from_row)?;
            for part in parts.by_ref() {
                let part = part?;
                let Some(aggregate) =
                    part_aggregate(&mut names, &mut matcher, &mut endpoint_ids, filter, &part)?
                else {
                    continue;
                };
                if rows.len() == limit {
                    more = true;
                    break;
                }
                let position = part_position(connection, &part)?;
                last_key = Some(ListKey {
                    last_ts: part.aggregate.last_ts,
                    part_id: part.id,
                });
                rows.push(summary(
                    &mut names,
                    &endpoint_ids,
                    &part,
                    &aggregate,
                    position,
                )?);
            }
            let (total, flows) = count_time_window(connection, filter)?;
            (Some(total), true, flow_counts(&flows, total))
        }
        Some(candidates) if candidates.len() <= limits.all => {
            // Few candidates: verify every one, so the total is exact.
            let mut ordered: Vec<(ListKey, StoredPart)> = Vec::with_capacity(candidates.len());
            for part_id in candidates {
                let Some(part) = load_part(connection, *part_id)? else {
                    continue;
                };
                if part_overlaps(filter, &part) {
                    ordered.push((
                        ListKey {
                            last_ts: part.aggregate.last_ts,
                            part_id: part.id,
                        },
                        part,
                    ));
                }
            }
            ordered.sort_by_key(|(key, _)| std::cmp::Reverse(*key));
            let mut total = 0u64;
            let mut flow_parts = [0u64; 7];
            for (key, part) in &ordered {
                let Some(aggregate) =
                    filtered_aggregate(&mut names, &mut matcher, &mut endpoint_ids, part)?
                else {
                    continue;
                };
                total += 1;
                count_flows(&mut flow_parts, aggregate.flow_mask);
                if after.is_some_and(|cursor| *key >= cursor) {
                    continue;
                }
                if rows.len() == limit {
                    more = true;
                    continue;
                }
                let position = part_position(connection, part)?;
                last_key = Some(*key);
                rows.push(summary(
                    &mut names,
                    &endpoint_ids,
                    part,
                    &aggregate,
                    position,
                )?);
            }
            (Some(total), true, flow_counts(&flow_parts, total))
        }
        Some(candidates) => {
            // Many candidates: walk parts newest first and verify only until the page is full;
            // the total and flows are counted from the candidates' part rows.
            let (start_ts, start_id) = match after {
                Some(key) => (key.last_ts, key.part_id),
                None => (i64::MAX, i64::MAX),
            };
            let from = filter.from.unwrap_or(i64::MIN);
            let to = filter.to.unwrap_or(i64::MAX);
            // Parts verified to match, and their flows in the window: the exact total when the
            // walk of the first page gets through every candidate.
            let mut matched = 0u64;
            let mut matched_flows = [0u64; 7];
            {
                let mut walk = connection.prepare_cached(
                    "SELECT id FROM parts WHERE (last_ts < ?1 OR (last_ts = ?1 AND id < ?2)) AND last_ts >= ?3
                     ORDER BY last_ts DESC, id DESC",
                )?;
                let mut ids = walk.query(params![start_ts, start_id, from])?;
                let mut verified = 0usize;
                while let Some(row) = ids.next()? {
                    let part_id: i64 = row.get(0)?;
                    if !candidates.contains(&part_id) {
                        continue;
                    }
                    let Some(part) = load_part(connection, part_id)? else {
                        continue;
                    };
                    if part.aggregate.first_ts >= to {
                        continue;
                    }
                    if verified == limits.per_page {
                        // Out of budget: the next page starts after the last part checked.
                        more = true;
                        break;
                    }
                    verified += 1;
                    let key = ListKey {
                        last_ts: part.aggregate.last_ts,
                        part_id: part.id,
                    };
                    let Some(aggregate) =
                        filtered_aggregate(&mut names, &mut matcher, &mut endpoint_ids, &part)?
                    else {
                        last_key = Some(key);
                        continue;
                    };
                    matched += 1;
                    count_flows(&mut matched_flows, aggregate.flow_mask);
                    if rows.len() == limit {
                        more = true;
                        break;
                    }
                    let position = part_position(connection, &part)?;
                    last_key = Some(ListKey {
                        last_ts: part.aggregate.last_ts,
                        part_id: part.id,
                    });
                    rows.push(summary(
                        &mut names,
                        &endpoint_ids,
                        &part,
                        &aggregate,
                        position,
                    )?);
                }
            }
            if after.is_none() && !more {
                (Some(matched), true, flow_counts(&matched_flows, matched))
            } else if countable {
                let (total, flow_parts) = estimate_candidates(connection, filter, candidates)?;
                (Some(total), false, flow_counts(&flow_parts, total))
            } else {
                (None, false, Vec::new())
            }
        }
    };
    Ok(SessionPage {
        sessions: rows,
        total,
        total_exact,
        flows,
        next_cursor: if more {
            last_key.map(encode_list_cursor)
        } else {
            None
        },
    })
}

// ---------------------------------------------------------------------------------------------
// One session

pub(crate) fn session_parts(
    connection: &Connection,
    session_id: SessionId,
    filter: &SessionFilter,
) -> Result<Vec<SessionSummary>, StoreError> {
    let work = || -> rusqlite::Result<Vec<SessionSummary>> {
        let parts = session_part_list(connection, session_id)?;
        let count = parts.len() as u32;
        let mut names = Names::new(connection);
        let mut matcher = Matcher::new(filter);
        let mut endpoint_ids = EndpointIds::default();
        let mut summaries = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            if let Some(aggregate) =
                part_aggregate(&mut names, &mut matcher, &mut endpoint_ids, filter, part)?
            {
                summaries.push(summary(
                    &mut names,
                    &endpoint_ids,
                    part,
                    &aggregate,
                    (index as u32 + 1, count),
                )?);
            }
        }
        Ok(summaries)
    };
    work().map_err(backend_error)
}

pub(crate) fn session_stats(
    connection: &Connection,
    session_id: SessionId,
    day: Option<i32>,
    filter: &SessionFilter,
) -> Result<SessionStats, StoreError> {
    let work = || -> rusqlite::Result<SessionStats> {
        let parts = session_part_list(connection, session_id)?;
        let mut names = Names::new(connection);
        let mut matcher = Matcher::new(filter);
        let mut endpoint_ids = EndpointIds::default();
        let mut total = PartAggregate::default();
        for part in parts
            .iter()
            .filter(|part| day.is_none_or(|day| part.day == day))
        {
            if let Some(aggregate) =
                part_aggregate(&mut names, &mut matcher, &mut endpoint_ids, filter, part)?
            {
                total.merge(&aggregate);
            }
        }
        let all = usize::MAX;
        Ok(SessionStats {
            requests: total.requests,
            attack_types: counts_of(&mut names, &endpoint_ids, &total, kind::ATTACK_TYPE, all)?,
            users: counts_of(&mut names, &endpoint_ids, &total, kind::USER, all)?,
            roles: counts_of(&mut names, &endpoint_ids, &total, kind::ROLE, all)?,
            client_ips: counts_of(&mut names, &endpoint_ids, &total, kind::CLIENT_IP, all)?,
            methods: counts_of(&mut names, &endpoint_ids, &total, kind::METHOD, all)?,
            statuses: counts_of(&mut names, &endpoint_ids, &total, kind::STATUS, all)?,
            flows: counts_of(&mut names, &endpoint_ids, &total, kind::FLOW, all)?,
            endpoints: counts_of(&mut names, &endpoint_ids, &total, kind::ENDPOINT, all)?,
        })
    };
    work().map_err(backend_error)
}

/// The row of a stored exchange; `session_part` is the part's day as text.
fn request_row(
    names: &mut Names<'_>,
    session_id: SessionId,
    session_part: String,
    exchange: StoredExchange,
) -> rusqlite::Result<RequestRow> {
    let attacks: Vec<Attack> = exchange
        .attacks
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    Ok(RequestRow {
        id: exchange.id,
        ts: exchange.ts,
        session_id,
        session_part,
        session_key: names.text(exchange.key_id)?.to_string(),
        client_ip: match exchange.address_id {
            Some(address_id) => names
                .address(address_id)?
                .map(|address| address.to_string()),
            None => None,
        },
        app: names.text(exchange.app_id)?.to_string(),
        host: names.text(exchange.host_id)?.to_string(),
        method: names.text(exchange.method_id)?.to_string(),
        path: exchange.path,
        endpoint: names.text(exchange.template_id)?.to_string(),
        status: exchange.status,
        duration_ms: exchange.duration,
        size: exchange.size.map(|size| size.max(0) as u64),
        user: match exchange.user_id {
            Some(user_id) => Some(names.text(user_id)?.to_string()),
            None => None,
        },
        roles: names.set_members(exchange.role_set_id)?,
        flows: sessionscope_model::FlowSet(exchange.flows).ids(),
        attacks,
        bots: Vec::new(),
    })
}

fn encode_offset_cursor(offset: usize) -> String {
    format!("o{offset}")
}

/// Request pages use offsets: `o<offset>`, or a bare number.
fn decode_offset_cursor(cursor: &str) -> Result<usize, StoreError> {
    let digits = cursor.strip_prefix('o').unwrap_or(cursor);
    digits
        .parse()
        .map_err(|_| StoreError::InvalidCursor(cursor.chars().take(64).collect()))
}

pub(crate) fn session_requests(
    connection: &Connection,
    session_id: SessionId,
    day: Option<i32>,
    filter: &SessionFilter,
    sort: RequestSort,
    page: &PageRequest,
) -> Result<RequestPage, StoreError> {
    let offset = match page.cursor.as_deref() {
        Some(cursor) => decode_offset_cursor(cursor)?,
        None => 0,
    };
    let limit = page.limit.clamp(1, 10_000) as usize;
    let work = || -> rusqlite::Result<RequestPage> {
        let parts = session_part_list(connection, session_id)?;
        let mut names = Names::new(connection);
        let mut matcher = Matcher::new(filter);
        let mut matching: Vec<(StoredExchange, i32)> = Vec::new();
        for part in parts
            .iter()
            .filter(|part| day.is_none_or(|day| part.day == day))
        {
            for exchange in part_exchanges(connection, part.id, filter)? {
                if matcher.matches(&mut names, &exchange)? {
                    matching.push((exchange, part.day));
                }
            }
        }
        let sort_value = |exchange: &StoredExchange| -> f64 {
            match sort.field {
                SortField::Time => exchange.ts as f64,
                SortField::Duration => exchange.duration.unwrap_or(-1.0),
                SortField::Size => exchange.size.map(|size| size as f64).unwrap_or(-1.0),
            }
        };
        matching.sort_by(|(left, _), (right, _)| {
            let order = sort_value(left)
                .total_cmp(&sort_value(right))
                .then(left.ts.cmp(&right.ts))
                .then(left.seq.cmp(&right.seq));
            match sort.direction {
                SortDirection::Asc => order,
                SortDirection::Desc => order.reverse(),
            }
        });
        let total = matching.len();
        let mut requests = Vec::new();
        for (exchange, part_day) in matching.into_iter().skip(offset).take(limit) {
            requests.push(request_row(
                &mut names,
                session_id,
                format_day(part_day),
                exchange,
            )?);
        }
        let next = offset + requests.len();
        Ok(RequestPage {
            requests,
            total: total as u64,
            next_cursor: (next < total).then(|| encode_offset_cursor(next)),
        })
    };
    work().map_err(backend_error)
}

pub(crate) fn request(
    connection: &Connection,
    id: &str,
) -> Result<Option<RequestDetails>, StoreError> {
    let work = || -> rusqlite::Result<Option<RequestDetails>> {
        let Some(key) = find_exchange(connection, id)? else {
            return Ok(None);
        };
        let Some(exchange) = load_exchange(connection, key)? else {
            return Ok(None);
        };
        let query = exchange.query.clone();
        let user_agent_id = exchange.user_agent_id;
        let context_id = exchange.context_id;
        let context_text = exchange.context_text.clone();
        let Some(part) = load_part(connection, exchange.part_id)? else {
            return Ok(None);
        };
        let mut names = Names::new(connection);
        let row = request_row(&mut names, part.session_id, format_day(part.day), exchange)?;
        let user_agent = match user_agent_id {
            Some(user_agent_id) => Some(names.text(user_agent_id)?.to_string()),
            None => None,
        };
        let context: Vec<ContextValue> = match (context_text, context_id) {
            (Some(text), _) => serde_json::from_str(&text).unwrap_or_default(),
            (None, Some(context_id)) => {
                serde_json::from_str(&names.text(context_id)?).unwrap_or_default()
            }
            (None, None) => Vec::new(),
        };
        Ok(Some(RequestDetails {
            row,
            query: query.unwrap_or_default(),
            user_agent,
            context,
        }))
    };
    work().map_err(backend_error)
}

/// A block as an export reads it: (block id, part id, first time, data).
type BlockRow = (i64, i64, i64, Vec<u8>);

/// Every matching request in time order: a k-way merge over the blocks, read in order of their
/// first time. A block is decoded only once the merge reaches its first time, so memory holds
/// the blocks overlapping the current time, not the export.
pub(crate) fn export_requests(
    connection: &Connection,
    filter: &SessionFilter,
    sink: &mut dyn FnMut(RequestRow) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let candidates = candidate_parts(connection, filter)
        .map_err(backend_error)?
        .parts;
    let mut names = Names::new(connection);
    let mut matcher = Matcher::new(filter);
    // Part id → session and day text, so rows do not format the day each time.
    let mut parts: HashMap<i64, Option<(SessionId, String)>> = HashMap::new();
    let mut written = 0u64;
    let (from, to) = time_window(filter);
    let mut statement = connection
        .prepare(
            "SELECT id, part_id, first_ts, data FROM blocks INDEXED BY blocks_by_first
             WHERE first_ts >= ?1 AND first_ts < ?2 AND last_ts >= ?3 ORDER BY first_ts",
        )
        .map_err(backend_error)?;
    let mut rows = statement
        .query(params![first_block_start(filter), to, from])
        .map_err(backend_error)?;
    let mut next_block = || -> rusqlite::Result<Option<BlockRow>> {
        while let Some(row) = rows.next()? {
            let part_id: i64 = row.get(1)?;
            if candidates
                .as_ref()
                .is_some_and(|candidates| !candidates.contains(&part_id))
            {
                continue;
            }
            return Ok(Some((row.get(0)?, part_id, row.get(2)?, row.get(3)?)));
        }
        Ok(None)
    };
    // The heap holds only (time, key, slot) of each open block's next entry; the entry stays
    // in its block's slot, so sifting moves three integers, not whole exchanges. Blocks are
    // decoded an entry at a time as the merge reaches them.
    let mut heads: BinaryHeap<Reverse<(i64, i64, usize)>> = BinaryHeap::new();
    let mut open_blocks: Vec<(BlockReader<Vec<u8>>, Option<StoredExchange>)> = Vec::new();
    let mut free_slots: Vec<usize> = Vec::new();
    let next_in_window =
        |reader: &mut BlockReader<Vec<u8>>| -> Result<Option<StoredExchange>, StoreError> {
            loop {
                let entry = reader
                    .next_entry()
                    .map_err(|error| StoreError::Backend(error.to_string()))?;
                match entry {
                    Some(exchange) if exchange.ts < from => continue,
                    // Entries are in time order: the rest of the block is past the window.
                    Some(exchange) if exchange.ts >= to => return Ok(None),
                    other => return Ok(other),
                }
            }
        };
    let mut upcoming = next_block().map_err(backend_error)?;
    loop {
        // Open every block that starts no later than the earliest pending entry.
        while let Some((block_id, part_id, first_ts, data)) = upcoming.take() {
            if heads
                .peek()
                .is_some_and(|Reverse((ts, _, _))| *ts < first_ts)
            {
                upcoming = Some((block_id, part_id, first_ts, data));
                break;
            }
            let mut reader = BlockReader::new(block_id, part_id, data)
                .map_err(|error| StoreError::Backend(error.to_string()))?;
            if let Some(first) = next_in_window(&mut reader)? {
                let head = (first.ts, first.seq);
                let slot = match free_slots.pop() {
                    Some(slot) => {
                        open_blocks[slot] = (reader, Some(first));
                        slot
                    }
                    None => {
                        open_blocks.push((reader, Some(first)));
                        open_blocks.len() - 1
                    }
                };
                heads.push(Reverse((head.0, head.1, slot)));
            }
            upcoming = next_block().map_err(backend_error)?;
        }
        let Some(Reverse((_, _, slot))) = heads.pop() else {
            break;
        };
        let Some((reader, head)) = open_blocks.get_mut(slot) else {
            continue;
        };
        let Some(exchange) = head.take() else {
            continue;
        };
        match next_in_window(reader)? {
            Some(following) => {
                heads.push(Reverse((following.ts, following.seq, slot)));
                *head = Some(following);
            }
            None => free_slots.push(slot),
        }
        if !matcher
            .matches(&mut names, &exchange)
            .map_err(backend_error)?
        {
            continue;
        }
        if parts.len() > 100_000 {
            parts.clear();
        }
        let part = match parts.get(&exchange.part_id) {
            Some(part) => part.clone(),
            None => {
                let part = load_part(connection, exchange.part_id)
                    .map_err(backend_error)?
                    .map(|part| (part.session_id, format_day(part.day)));
                parts.insert(exchange.part_id, part.clone());
                part
            }
        };
        let Some((session_id, session_part)) = part else {
            continue;
        };
        sink(request_row(&mut names, session_id, session_part, exchange).map_err(backend_error)?)?;
        written += 1;
    }
    Ok(written)
}

pub(crate) fn export_sessions(
    connection: &Connection,
    filter: &SessionFilter,
    limits: VerifyLimits,
    sink: &mut dyn FnMut(SessionSummary) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let mut written = 0u64;
    let mut page = PageRequest {
        limit: 500,
        cursor: None,
    };
    loop {
        let result = list_sessions(connection, filter, &page, limits)?;
        for summary in result.sessions {
            sink(summary)?;
            written += 1;
        }
        match result.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(written),
        }
    }
}

pub(crate) fn usage(connection: &Connection) -> Result<StoreUsage, StoreError> {
    let work = || -> rusqlite::Result<StoreUsage> {
        let (exchanges, session_parts): (i64, i64) = connection.query_row(
            "SELECT coalesce(sum(count) FILTER (WHERE flow = ?1), 0), coalesce(sum(count) FILTER (WHERE flow = ?2), 0) FROM day_stats",
            params![ALL_EXCHANGES, ALL_PARTS],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        // Both are index look-ups (blocks by first and by last time).
        let oldest: Option<i64> =
            connection.query_row("SELECT min(first_ts) FROM blocks", [], |row| row.get(0))?;
        let newest: Option<i64> =
            connection.query_row("SELECT max(last_ts) FROM blocks", [], |row| row.get(0))?;
        let oldest_storage: Option<i64> =
            connection.query_row("SELECT min(stored_at) FROM day_storage", [], |row| {
                row.get(0)
            })?;
        Ok(StoreUsage {
            bytes: 0,
            exchanges: exchanges.max(0) as u64,
            session_parts: session_parts.max(0) as u64,
            oldest,
            newest,
            oldest_storage,
        })
    };
    work().map_err(backend_error)
}

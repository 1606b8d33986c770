//! Deterministic synthetic API traffic with ground truth (PRODUCT.md I7), for `sessionscope
//! generate`, the demo, the session accuracy test and the benchmarks.
//!
//! The output is exchange NDJSON (`docs/exchange-format.md`): API users who log in and call with a
//! bearer JWT, storefront browsers with a session cookie, partners with API keys, users behind a
//! NAT, a phone that changes address, and bots (credential stuffing, a scraper, a scanner) and
//! attackers sending injection payloads. Every exchange comes with a `Truth` saying which session
//! it belongs to, as a correct sessionizer running `DEMO_CONFIG` can know it.
//!
//! The truth follows the demo configuration's key order: a response carrying `access_token`
//! belongs to that token's session (so a token refresh, sent with the old token, opens the new
//! token's session), then the built-in keys (session cookie, bearer token, API key, a session
//! cookie being set), and exchanges without any credential are grouped by (IP, User-Agent) only:
//! their label is derived from that pair, so two actors that share a pair share a truth session.
//!
//! Actors are started by a (day-shaped) arrival process over the requested span and merged in
//! time order through a priority queue; only running actors are in memory, so any number of
//! requests streams in bounded memory. Same options give byte-identical output: one ChaCha stream
//! seeded from the options, no hash-map iteration, no clock.

mod actors;
mod calls;
mod catalog;
mod draft;
mod jwt;
mod payload;
mod random;
mod text;

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::actors::{
    spawn, spawn_partner, Actor, Counters, Kind, Start, StepContext, World, PARTNER_SHARE, SPAWNED,
};
use crate::draft::{Draft, Id, TruthDraft};
use crate::random::Random;
use crate::text::TimestampWriter;

/// The sessionscope configuration (TOML) that matches this traffic, shipped with the demo.
pub const DEMO_CONFIG: &str = include_str!("../demo.toml");

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
/// 2026-11-21T12:00:00Z: the default start, so the default 24 hours cross one UTC midnight halfway.
const DEFAULT_START_MICROS: i64 = 1_795_262_400_000_000;
/// Ten years; longer spans are cut to this.
const MAX_HOURS: u32 = 87_600;
/// Starts are kept between the epoch and year 9000 so every timestamp has four year digits.
const LATEST_START_MICROS: i64 = 221_845_392_000_000_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorOptions {
    /// Exact number of exchanges to produce.
    pub requests: u64,
    pub seed: u64,
    /// Start of the span, microseconds since the Unix epoch (UTC). Clamped to [1970, 9000).
    pub start: i64,
    /// Length of the span the traffic is spread over; 0 is taken as 1, more than ten years as ten
    /// years. The last sessions may run a little past it.
    pub hours: u32,
}

impl Default for GeneratorOptions {
    fn default() -> GeneratorOptions {
        GeneratorOptions {
            requests: 100_000,
            seed: 1,
            start: DEFAULT_START_MICROS,
            hours: 24,
        }
    }
}

/// One generated exchange and its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// One NDJSON exchange, without the trailing newline.
    pub line: String,
    pub truth: Truth,
}

/// The ground truth of one exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// The exchange id.
    pub id: String,
    /// Ground-truth session label; exchanges with the same label are one session. Token sessions
    /// look like `api_user-17-t3`, cookie sessions `browser-17-c5`, partners `partner-2`, bots
    /// `scraper-<ip>`, and exchanges only (IP, User-Agent) can group `anon-<ip>-<agent id>`.
    pub session: String,
    /// browser | api_user | partner | nat_user | mobile | credential_stuffing | scraper | scanner | attacker
    pub actor: String,
    /// Token users: the JWT `sub` on exchanges that carry the JWT (None on the login exchange).
    /// Browsers: the form `username` from the login post on, for the rest of the cookie session.
    pub user: Option<String>,
    /// Token users: the JWT `role` claim values on exchanges that carry the JWT.
    pub roles: Vec<String>,
    /// Attack type when the exchange carries an injection payload (sqli, xss, rce, ptrav, ...).
    pub attack: Option<String>,
    /// Bot type for bot actors: account_takeover, scraping, security_crawlers.
    pub bot: Option<String>,
}

/// An actor waiting for its next exchange; the heap is a min-heap on (time, sequence).
struct Scheduled {
    at: i64,
    sequence: u64,
    actor: Box<Actor>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.sequence == other.sequence
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap pops the greatest, we want the earliest.
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

/// Running estimate of requests per instance of each spawned kind, which calibrates both the
/// choice of kind and the arrival rate so the request shares come out as intended.
struct KindMix {
    planned_total: [f64; SPAWNED.len()],
    instances: [f64; SPAWNED.len()],
}

impl KindMix {
    fn new() -> KindMix {
        KindMix {
            planned_total: [0.0; SPAWNED.len()],
            instances: [0.0; SPAWNED.len()],
        }
    }

    fn mean_length(&self, index: usize) -> f64 {
        // The prior counts as one instance so early estimates are not wild.
        let (_, _, prior) = SPAWNED[index];
        (prior + self.planned_total[index]) / (1.0 + self.instances[index])
    }

    fn record(&mut self, kind: Kind, planned: u64) {
        if let Some(index) = SPAWNED
            .iter()
            .position(|(candidate, _, _)| *candidate == kind)
        {
            self.planned_total[index] += planned as f64;
            self.instances[index] += 1.0;
        }
    }

    /// Weights for choosing the next kind: share divided by length, in parts per million.
    fn weights(&self) -> [(Kind, u32); SPAWNED.len()] {
        let mut weights = [(Kind::ApiUser, 0u32); SPAWNED.len()];
        for (index, (kind, share, _)) in SPAWNED.iter().enumerate() {
            let weight = share / self.mean_length(index) * 1_000_000.0;
            weights[index] = (*kind, weight.max(1.0) as u32);
        }
        weights
    }

    /// Expected requests per started instance under the current weights.
    fn expected_length(&self) -> f64 {
        let mut share_sum = 0.0;
        let mut instance_rate = 0.0;
        for (index, (_, share, _)) in SPAWNED.iter().enumerate() {
            share_sum += share;
            instance_rate += share / self.mean_length(index);
        }
        share_sum / instance_rate
    }
}

/// Produces the traffic one exchange at a time, in timestamp order.
pub struct Generator {
    world: World,
    random: Random,
    queue: BinaryHeap<Scheduled>,
    sequence: u64,
    emitted: u64,
    next_arrival: i64,
    /// Actors placed on purpose (one of each kind, the session across midnight), latest first.
    forced: Vec<(i64, Start)>,
    mix: KindMix,
    counters: Counters,
    draft: Draft,
    truth: TruthDraft,
    current_ts: i64,
    clock: TimestampWriter,
    /// Planned end of the span; arrivals are paced so the requests run out about then.
    end: i64,
}

impl Generator {
    pub fn new(options: GeneratorOptions) -> Generator {
        let start = options.start.clamp(0, LATEST_START_MICROS);
        let span = options.hours.clamp(1, MAX_HOURS) as i64 * MICROS_PER_HOUR;
        let world = World::new(options.seed, span, options.requests);
        let mut random = Random::new(random::mix(options.seed, 0x5e55_1025, 0));
        let counters = Counters::default();
        let mut queue = BinaryHeap::new();
        let mut sequence = 0;

        for index in 0..world.partners {
            let actor = spawn_partner(index, &world, &mut random);
            let first = match &actor {
                Actor::Partner(partner) => partner.first_delay(&mut random),
                _ => 0,
            };
            queue.push(Scheduled {
                at: start + first,
                sequence,
                actor: Box::new(actor),
            });
            sequence += 1;
        }

        let mut forced: Vec<(i64, Start)> = SPAWNED
            .iter()
            .enumerate()
            .map(|(index, (kind, _, _))| {
                let fraction = 0.03 + 0.1 * index as f64;
                (
                    start + (span as f64 * fraction) as i64 / 1_000 * 1_000,
                    Start::Kind(*kind),
                )
            })
            .collect();
        let first_midnight = (start.div_euclid(MICROS_PER_DAY) + 1) * MICROS_PER_DAY;
        let phone_start = first_midnight - 4 * 60_000_000;
        if phone_start > start && first_midnight < start + span {
            forced.push((phone_start, Start::MidnightPhone));
        }
        forced.sort_by_key(|(at, _)| std::cmp::Reverse(*at));

        let mut generator = Generator {
            world,
            random,
            queue,
            sequence,
            emitted: 0,
            next_arrival: start,
            forced,
            mix: KindMix::new(),
            counters,
            draft: Draft::new(),
            truth: TruthDraft::new(),
            current_ts: start,
            clock: TimestampWriter::new(),
            end: start.saturating_add(span),
        };
        generator.advance_arrival();
        generator
    }

    /// Traffic intensity by hour of day (UTC), 0.4 at night to 1.6 in the afternoon, mean 1.
    fn intensity(at: i64) -> f64 {
        let hour = at.rem_euclid(MICROS_PER_DAY) as f64 / MICROS_PER_HOUR as f64;
        1.0 + 0.6 * (std::f64::consts::TAU * (hour - 8.0) / 24.0).sin()
    }

    /// Moves `next_arrival` to the next start of a spawned actor: a Poisson process at the rate
    /// that spreads the requests over the span, thinned by the time of day.
    fn advance_arrival(&mut self) {
        const PEAK: f64 = 1.6;
        // Paced on what is left: the requests not yet emitted over the time not yet used, so
        // an early misestimate of session lengths is corrected and the traffic ends near the
        // span's end instead of hours before or after it.
        let remaining_requests =
            self.world.requests.saturating_sub(self.emitted) as f64 * (1.0 - PARTNER_SHARE);
        let remaining_time = (self.end - self.next_arrival)
            .max(self.world.span / 50)
            .max(1) as f64;
        let rate_per_micro = remaining_requests / remaining_time / self.mix.expected_length();
        let mean_gap = if rate_per_micro > 0.0 {
            1.0 / (rate_per_micro * PEAK)
        } else {
            self.world.span as f64
        };
        let mean_gap = mean_gap.clamp(1_000.0, self.world.span as f64);
        for _ in 0..10_000 {
            let gap = self
                .random
                .exponential(mean_gap)
                .clamp(1_000.0, 10.0 * self.world.span as f64);
            self.next_arrival = self.next_arrival.saturating_add(gap as i64 / 1_000 * 1_000);
            if self.random.unit() * PEAK < Self::intensity(self.next_arrival) {
                return;
            }
        }
    }

    fn schedule(&mut self, at: i64, actor: Actor) {
        self.queue.push(Scheduled {
            at,
            sequence: self.sequence,
            actor: Box::new(actor),
        });
        self.sequence += 1;
    }

    fn start_actor(&mut self, at: i64, start: Start) {
        let actor = spawn(start, &self.world, &mut self.random, &mut self.counters);
        if let Start::Kind(kind) = start {
            self.mix.record(kind, actor.planned());
        }
        self.schedule(at, actor);
    }

    /// Produces the next exchange into the draft and the truth; false once `requests` are out.
    fn advance(&mut self) -> bool {
        if self.emitted >= self.world.requests {
            return false;
        }
        loop {
            let queued = self
                .queue
                .peek()
                .map(|scheduled| scheduled.at)
                .unwrap_or(i64::MAX);
            let forced = self.forced.last().map(|(at, _)| *at).unwrap_or(i64::MAX);
            if forced <= queued && forced <= self.next_arrival {
                if let Some((at, start)) = self.forced.pop() {
                    self.start_actor(at, start);
                }
                continue;
            }
            if self.next_arrival < queued {
                let at = self.next_arrival;
                let kind = self.random.weighted(&self.mix.weights());
                self.start_actor(at, Start::Kind(kind));
                self.advance_arrival();
                continue;
            }
            let Some(mut scheduled) = self.queue.pop() else {
                continue;
            };
            self.draft.reset();
            let mut context = StepContext {
                now: scheduled.at,
                random: &mut self.random,
                world: &self.world,
                counters: &mut self.counters,
                draft: &mut self.draft,
                truth: &mut self.truth,
            };
            let next = scheduled.actor.step(&mut context);
            let produced = !self.draft.url.is_empty();
            self.current_ts = scheduled.at;
            if let Some(delay) = next {
                scheduled.at = scheduled.at.saturating_add(delay.max(1_000));
                scheduled.sequence = self.sequence;
                self.sequence += 1;
                self.queue.push(scheduled);
            }
            if produced {
                self.emitted += 1;
                return true;
            }
        }
    }

    fn current_id(&self) -> Id {
        Id {
            seed: self.world.seed,
            number: self.emitted,
        }
    }

    fn write_current_line(&mut self, out: &mut String) {
        let id = self.current_id();
        self.draft
            .write_line(out, &id, self.current_ts, &mut self.clock);
    }

    fn current_truth(&self) -> Truth {
        let mut id = String::new();
        self.current_id().push(&mut id);
        Truth {
            id,
            session: self.truth.session.clone(),
            actor: self.truth.actor.to_string(),
            user: self.truth.has_user.then(|| self.truth.user.clone()),
            roles: self
                .truth
                .roles
                .iter()
                .map(|role| role.to_string())
                .collect(),
            attack: self.truth.attack.map(str::to_string),
            bot: self.truth.bot.map(str::to_string),
        }
    }
}

impl Iterator for Generator {
    type Item = Generated;

    fn next(&mut self) -> Option<Generated> {
        if !self.advance() {
            return None;
        }
        let mut line = String::with_capacity(1_024);
        self.write_current_line(&mut line);
        Some(Generated {
            line,
            truth: self.current_truth(),
        })
    }
}

/// Writes the traffic as NDJSON to `out` and, when given, its ground truth as NDJSON `Truth`
/// lines to `truth`. Returns the number of exchanges written.
pub fn generate_to(
    options: &GeneratorOptions,
    out: &mut dyn Write,
    mut truth: Option<&mut dyn Write>,
) -> io::Result<u64> {
    const FLUSH_AT: usize = 256 * 1_024;
    let mut generator = Generator::new(options.clone());
    let mut lines = String::with_capacity(FLUSH_AT + 8_192);
    let mut truth_lines = String::with_capacity(if truth.is_some() { FLUSH_AT + 4_096 } else { 0 });
    let mut written = 0u64;
    while generator.advance() {
        generator.write_current_line(&mut lines);
        lines.push('\n');
        if truth.is_some() {
            generator
                .truth
                .write_line(&mut truth_lines, &generator.current_id());
            truth_lines.push('\n');
        }
        written += 1;
        if lines.len() >= FLUSH_AT {
            out.write_all(lines.as_bytes())?;
            lines.clear();
        }
        if truth_lines.len() >= FLUSH_AT {
            if let Some(sink) = truth.as_deref_mut() {
                sink.write_all(truth_lines.as_bytes())?;
            }
            truth_lines.clear();
        }
    }
    out.write_all(lines.as_bytes())?;
    out.flush()?;
    if let Some(sink) = truth {
        sink.write_all(truth_lines.as_bytes())?;
        sink.flush()?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests;

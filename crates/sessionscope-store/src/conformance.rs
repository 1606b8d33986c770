//! The backend-independent test suite: every `Store` implementation must pass `run_all`.
//! Each check takes a fresh store from `make` and talks to it only through `&dyn Store`, so a
//! failure names the behaviour the product relies on (PRODUCT.md E1–E10, S4, S6, R1, R2).

use std::sync::Arc;

use sessionscope_model::{
    day_of, parse_rfc3339, AnalyzedExchange, Attack, ContextValue, Flow, FlowSet, Micros,
    PageRequest, ParamKind, RequestSort, Role, SessionFilter, SessionId, SessionSummary,
    SortDirection, SortField, StatusFilter, StoredAs, MICROS_PER_DAY, MICROS_PER_SECOND,
};

use crate::{Store, StoreError};

type Check = fn(&dyn Store);

/// Filter case: name, filter, expected (session, matching requests) pairs.
type FilterCase = (&'static str, SessionFilter, Vec<(SessionId, u64)>);

/// Runs every conformance check; `make` returns a fresh, empty store each time it is called.
pub fn run_all(make: &dyn Fn() -> Arc<dyn Store>) {
    let checks: &[(&str, Check)] = &[
        ("append is idempotent by id", append_is_idempotent_by_id),
        ("chunks append as one batch", chunks_append_as_one_batch),
        (
            "aggregates count every request",
            aggregates_count_every_request,
        ),
        (
            "multi-day sessions have parts",
            multi_day_sessions_have_parts,
        ),
        (
            "each filter field narrows requests",
            each_filter_field_narrows_requests,
        ),
        (
            "fields must match on one request",
            fields_must_match_on_one_request,
        ),
        (
            "time window shows only requests inside it",
            time_window_shows_only_requests_inside_it,
        ),
        (
            "session list pages without gaps",
            session_list_pages_without_gaps,
        ),
        (
            "session requests sort and page",
            session_requests_sort_and_page,
        ),
        (
            "session stats count matching requests",
            session_stats_count_matching_requests,
        ),
        (
            "request details keep everything stored",
            request_details_keep_everything_stored,
        ),
        ("exports are in time order", exports_are_in_time_order),
        (
            "a total that only raw paths decide is exact or unknown",
            a_total_that_only_raw_paths_decide_is_exact_or_unknown,
        ),
        ("users tokens and settings", users_tokens_and_settings),
        (
            "tokens are listed and revoked by name",
            tokens_are_listed_and_revoked_by_name,
        ),
        (
            "users are removed and change password but the last admin stays",
            users_are_removed_and_change_password_but_the_last_admin_stays,
        ),
        (
            "the audit log merges access events with configuration changes",
            the_audit_log_merges_access_events_with_configuration_changes,
        ),
        (
            "analysis settings are saved with their change log",
            analysis_settings_are_saved_with_their_change_log,
        ),
        (
            "samples are replaced as a set",
            samples_are_replaced_as_a_set,
        ),
        (
            "reevaluation drops attacks and fixes aggregates",
            reevaluation_drops_attacks_and_fixes_aggregates,
        ),
        (
            "reevaluation covers every stored write",
            reevaluation_covers_every_stored_write,
        ),
        (
            "an interrupted reevaluation is consistent and continues",
            an_interrupted_reevaluation_is_consistent_and_continues,
        ),
    ];
    for (name, check) in checks {
        let store = make();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(store.as_ref())));
        if let Err(panic) = outcome {
            eprintln!("conformance check failed: {name}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// 2026-11-22T10:00:00Z.
fn base_time() -> Micros {
    parse_rfc3339("2026-11-22T10:00:00Z").unwrap_or(1_795_341_600 * MICROS_PER_SECOND)
}

fn seconds(count: i64) -> Micros {
    count * MICROS_PER_SECOND
}

fn session(number: u8) -> SessionId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xa0;
    bytes[15] = number;
    SessionId(bytes)
}

/// A plain GET of `/v1/items/{number}` at `ts` in `session`; tests adjust fields from there.
fn exchange(id: &str, session_number: u8, ts: Micros) -> AnalyzedExchange {
    AnalyzedExchange {
        id: id.into(),
        ts,
        session_id: session(session_number),
        day: day_of(ts),
        session_key: "builtin:cookie.PHPSESSID".into(),
        client_ip: "203.0.113.7".parse().ok(),
        app: "shop".into(),
        host: "api.shop.example".into(),
        method: "GET".into(),
        path: "/v1/items/7".into(),
        query: Default::default(),
        endpoint: "/v1/items/{int}".into(),
        flows: FlowSet::default(),
        status: Some(200),
        duration_ms: Some(10.0),
        size: Some(100),
        user_agent: Some("test-agent/1".into()),
        user: None,
        roles: Vec::new(),
        context: Vec::new(),
        attacks: Vec::new(),
    }
}

fn with(
    mut exchange: AnalyzedExchange,
    change: impl FnOnce(&mut AnalyzedExchange),
) -> AnalyzedExchange {
    change(&mut exchange);
    exchange
}

fn sqli() -> Attack {
    Attack {
        kind: "sqli".to_string(),
        point: "request.query.q".to_string(),
        payload: "1' OR '1'='1".to_string(),
        rule: "sqli-tautology".to_string(),
    }
}

fn append(store: &dyn Store, batch: &[AnalyzedExchange]) {
    let outcome = store.append(batch).expect("append");
    assert_eq!(
        outcome.inserted as usize + outcome.duplicates as usize,
        batch.len()
    );
}

/// Every row of the session list for a filter, following cursors (a page may come back short).
fn all_rows(store: &dyn Store, filter: &SessionFilter) -> Vec<SessionSummary> {
    rows_in_pages_of(store, filter, 3)
}

fn rows_in_pages_of(store: &dyn Store, filter: &SessionFilter, limit: u32) -> Vec<SessionSummary> {
    let mut rows = Vec::new();
    let mut page = PageRequest {
        limit,
        cursor: None,
    };
    loop {
        let result = store.list_sessions(filter, &page).expect("list sessions");
        rows.extend(result.sessions);
        match result.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return rows,
        }
    }
}

fn listed_sessions(store: &dyn Store, filter: &SessionFilter) -> Vec<(SessionId, u64)> {
    let mut listed: Vec<(SessionId, u64)> = all_rows(store, filter)
        .iter()
        .map(|row| (row.session_id, row.requests))
        .collect();
    listed.sort();
    listed
}

fn count_of(counts: &[sessionscope_model::Count], value: &str) -> u64 {
    counts
        .iter()
        .find(|count| count.value == value)
        .map(|count| count.count)
        .unwrap_or(0)
}

fn append_is_idempotent_by_id(store: &dyn Store) {
    let t = base_time();
    let batch = vec![
        exchange("a-1", 1, t),
        exchange("a-2", 1, t + seconds(5)),
        with(exchange("a-3", 1, t + seconds(9)), |e| {
            e.attacks = vec![sqli()]
        }),
    ];
    let first = store.append(&batch).unwrap();
    assert_eq!((first.inserted, first.duplicates), (3, 0));
    let before = store
        .list_sessions(&SessionFilter::default(), &PageRequest::default())
        .unwrap();
    let second = store.append(&batch).unwrap();
    assert_eq!((second.inserted, second.duplicates), (0, 3));
    let after = store
        .list_sessions(&SessionFilter::default(), &PageRequest::default())
        .unwrap();
    assert_eq!(
        before, after,
        "a duplicate batch must not change any aggregate"
    );
    assert_eq!(after.sessions[0].requests, 3);
    assert_eq!(after.sessions[0].attacks, 1);
    // A repeat inside one batch is a duplicate too.
    let repeated = store
        .append(&[
            exchange("a-4", 1, t + seconds(20)),
            exchange("a-4", 1, t + seconds(20)),
        ])
        .unwrap();
    assert_eq!((repeated.inserted, repeated.duplicates), (1, 1));
    assert_eq!(store.usage().unwrap().exchanges, 4);
    assert_eq!(store.append(&[]).unwrap().inserted, 0);
}

fn chunks_append_as_one_batch(store: &dyn Store) {
    let t = base_time();
    let first = [exchange("c-1", 1, t + seconds(10)), exchange("c-2", 1, t)];
    let second = [
        exchange("c-2", 1, t),
        exchange("c-3", 2, t + seconds(3)),
        with(exchange("c-4", 1, t + seconds(5)), |e| {
            e.attacks = vec![sqli()]
        }),
    ];
    let outcome = store.append_chunks(&[&first, &[], &second]).unwrap();
    assert_eq!(
        (outcome.inserted, outcome.duplicates),
        (4, 1),
        "a repeat in a later chunk is a duplicate of the same batch"
    );
    assert_eq!(
        listed_sessions(store, &SessionFilter::default()),
        vec![(session(1), 3), (session(2), 1)]
    );
    assert_eq!(
        export_ids(store, &SessionFilter::default()),
        ["c-2", "c-3", "c-4", "c-1"],
        "exchanges of all chunks are stored in time order"
    );
    assert_eq!(attack_types_of(store, 1), [("sqli".to_string(), 1)]);
    assert_eq!(store.append_chunks(&[]).unwrap().inserted, 0);
}

fn aggregates_count_every_request(store: &dyn Store) {
    let t = base_time();
    append(
        store,
        &[
            with(exchange("g-1", 1, t), |e| {
                e.user = Some("ann".into());
                e.roles = vec!["customer".into()];
                e.flows = [Flow::Authentication].into_iter().collect();
                e.method = "POST".into();
                e.path = "/v1/login".into();
                e.endpoint = "/v1/login".into();
            }),
            with(exchange("g-2", 1, t + seconds(1)), |e| {
                e.user = Some("ann".into())
            }),
            with(exchange("g-3", 1, t + seconds(2)), |e| {
                e.client_ip = "198.51.100.9".parse().ok();
                e.host = "static.shop.example".into();
                e.attacks = vec![sqli(), sqli()];
            }),
        ],
    );
    // Another batch adds to the same part.
    append(
        store,
        &[with(exchange("g-4", 1, t + seconds(60)), |e| {
            e.roles = vec!["admin".into(), "customer".into()]
        })],
    );
    let rows = all_rows(store, &SessionFilter::default());
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.session_id, session(1));
    assert_eq!((row.part_index, row.part_count), (1, 1));
    assert_eq!(row.part, "2026-11-22");
    assert_eq!((row.start, row.end), (t, t + seconds(60)));
    assert_eq!((row.requests, row.attacks), (4, 1));
    assert_eq!(row.users, vec!["ann".to_string()]);
    let mut roles = row.roles.clone();
    roles.sort();
    assert_eq!(roles, vec!["admin".to_string(), "customer".to_string()]);
    assert_eq!(
        row.session_keys,
        vec!["builtin:cookie.PHPSESSID".to_string()]
    );
    assert_eq!(count_of(&row.client_ips, "203.0.113.7"), 3);
    assert_eq!(count_of(&row.client_ips, "198.51.100.9"), 1);
    assert_eq!(count_of(&row.hosts, "api.shop.example"), 3);
    assert_eq!(count_of(&row.apps, "shop"), 4);
    assert_eq!(count_of(&row.flows, "authentication"), 1);
    assert!((row.flows[0].share - 0.25).abs() < 1e-9);
    assert_eq!(row.endpoints[0].value, "GET /v1/items/{int}");
    assert_eq!(row.endpoints[0].count, 3);
    assert_eq!(row.endpoints_total, 2);
    let page = store
        .list_sessions(&SessionFilter::default(), &PageRequest::default())
        .unwrap();
    assert_eq!((page.total, page.total_exact), (Some(1), true));
    assert_eq!(count_of(&page.flows, "authentication"), 1);
}

fn multi_day_sessions_have_parts(store: &dyn Store) {
    let t = base_time();
    append(
        store,
        &[
            exchange("d-1", 1, t - MICROS_PER_DAY),
            exchange("d-2", 1, t),
            exchange("d-3", 1, t + seconds(1)),
            exchange("d-4", 1, t + MICROS_PER_DAY),
            exchange("d-5", 2, t),
        ],
    );
    let parts = store
        .session_parts(session(1), &SessionFilter::default())
        .unwrap();
    let days: Vec<&str> = parts.iter().map(|part| part.part.as_str()).collect();
    assert_eq!(days, vec!["2026-11-21", "2026-11-22", "2026-11-23"]);
    for (index, part) in parts.iter().enumerate() {
        assert_eq!((part.part_index, part.part_count), (index as u32 + 1, 3));
        assert_eq!(part.session_id, session(1));
    }
    assert_eq!(parts[1].requests, 2);
    let filter = SessionFilter {
        session_ids: vec![session(1)],
        ..Default::default()
    };
    let rows = all_rows(store, &filter);
    assert_eq!(rows.len(), 3, "a session id lists all its parts");
    assert!(
        rows.windows(2).all(|pair| pair[0].end >= pair[1].end),
        "newest first"
    );
    assert_eq!(rows[0].part_index, 3);
    let stats = store
        .session_stats(session(1), Some(day_of(t)), &SessionFilter::default())
        .unwrap();
    assert_eq!(stats.requests, 2);
    let stats = store
        .session_stats(session(1), None, &SessionFilter::default())
        .unwrap();
    assert_eq!(stats.requests, 4);
    let requests = store
        .session_requests(
            session(1),
            Some(day_of(t)),
            &SessionFilter::default(),
            RequestSort::default(),
            &PageRequest::default(),
        )
        .unwrap();
    assert_eq!(requests.total, 2);
    assert!(requests
        .requests
        .iter()
        .all(|request| request.session_part == "2026-11-22"));
}

/// Sessions 1..=6 each differ from the baseline in one field on one request.
fn each_filter_field_narrows_requests(store: &dyn Store) {
    let t = base_time();
    let mut batch = Vec::new();
    for number in 1..=6u8 {
        for request in 0..3i64 {
            batch.push(exchange(
                &format!("f-{number}-{request}"),
                number,
                t + seconds(request),
            ));
        }
    }
    let special = |number: u8, change: fn(&mut AnalyzedExchange)| {
        with(
            exchange(&format!("f-{number}-special"), number, t + seconds(10)),
            change,
        )
    };
    batch.push(special(1, |e| {
        e.app = "bank".into();
        e.user = Some("bob".into());
    }));
    batch.push(special(2, |e| {
        e.host = "admin.shop.example".into();
        e.roles = vec!["admin".into()];
    }));
    batch.push(special(3, |e| {
        e.flows = [Flow::Billing].into_iter().collect();
        e.client_ip = "10.1.2.3".parse().ok();
    }));
    batch.push(special(4, |e| {
        e.method = "DELETE".into();
        e.status = Some(503);
        e.path = "/v1/orders/42".into();
        e.endpoint = "/v1/orders/{int}".into();
    }));
    batch.push(special(5, |e| {
        e.attacks = vec![sqli()];
        e.status = Some(404);
        e.client_ip = "2001:db8::5".parse().ok();
    }));
    batch.push(special(6, |e| {
        e.path = "/v1/users/77/profile".into();
        e.endpoint = "/v1/users/{int}/profile".into();
    }));
    append(store, &batch);
    let only = |number: u8| vec![(session(number), 1u64)];
    let cases: Vec<FilterCase> = vec![
        (
            "app",
            SessionFilter {
                apps: vec!["bank".into()],
                ..Default::default()
            },
            only(1),
        ),
        (
            "user",
            SessionFilter {
                users: vec!["bob".into()],
                ..Default::default()
            },
            only(1),
        ),
        (
            "host",
            SessionFilter {
                hosts: vec!["admin.shop.example".into()],
                ..Default::default()
            },
            only(2),
        ),
        (
            "role",
            SessionFilter {
                roles: vec!["admin".into()],
                ..Default::default()
            },
            only(2),
        ),
        (
            "flow",
            SessionFilter {
                flows: vec![Flow::Billing],
                ..Default::default()
            },
            only(3),
        ),
        (
            "cidr",
            SessionFilter {
                client_ips: vec!["10.0.0.0/8".parse().unwrap()],
                ..Default::default()
            },
            only(3),
        ),
        (
            "plain ip",
            SessionFilter {
                client_ips: vec!["10.1.2.3/32".parse().unwrap()],
                ..Default::default()
            },
            only(3),
        ),
        (
            "ipv6 network",
            SessionFilter {
                client_ips: vec!["2001:db8::/32".parse().unwrap()],
                ..Default::default()
            },
            only(5),
        ),
        (
            "method",
            SessionFilter {
                methods: vec!["DELETE".into()],
                ..Default::default()
            },
            only(4),
        ),
        (
            "status code",
            SessionFilter {
                statuses: vec![StatusFilter::Code(503)],
                ..Default::default()
            },
            only(4),
        ),
        (
            "status class",
            SessionFilter {
                statuses: vec![StatusFilter::Class(5)],
                ..Default::default()
            },
            only(4),
        ),
        (
            "status alternatives",
            SessionFilter {
                statuses: vec![StatusFilter::Class(5), StatusFilter::Code(404)],
                ..Default::default()
            },
            vec![(session(4), 1), (session(5), 1)],
        ),
        (
            "attack type",
            SessionFilter {
                attack_types: vec!["sqli".into()],
                ..Default::default()
            },
            only(5),
        ),
        (
            "template wildcard",
            SessionFilter {
                endpoints: vec!["/v1/orders/*".into()],
                ..Default::default()
            },
            only(4),
        ),
        (
            "raw path",
            SessionFilter {
                endpoints: vec!["/v1/orders/42".into()],
                ..Default::default()
            },
            only(4),
        ),
        (
            "raw path wildcard",
            SessionFilter {
                endpoints: vec!["/v1/users/7?/profile".into()],
                ..Default::default()
            },
            only(6),
        ),
        (
            "raw path miss",
            SessionFilter {
                endpoints: vec!["/v1/orders/43".into()],
                ..Default::default()
            },
            vec![],
        ),
        (
            "question mark on template",
            SessionFilter {
                endpoints: vec!["/v?/users/{int}/*".into()],
                ..Default::default()
            },
            only(6),
        ),
        (
            "request id",
            SessionFilter {
                request_ids: vec!["f-2-special".into()],
                ..Default::default()
            },
            only(2),
        ),
        (
            "unknown value",
            SessionFilter {
                users: vec!["nobody".into()],
                ..Default::default()
            },
            vec![],
        ),
        (
            "session id lists every request",
            SessionFilter {
                session_ids: vec![session(3)],
                ..Default::default()
            },
            vec![(session(3), 4)],
        ),
        (
            "alternatives within a field",
            SessionFilter {
                apps: vec!["bank".into(), "nothing".into()],
                users: vec!["bob".into()],
                ..Default::default()
            },
            only(1),
        ),
    ];
    for (name, filter, expected) in cases {
        assert_eq!(listed_sessions(store, &filter), expected, "filter {name}");
        let exported = export_ids(store, &filter);
        let expected_requests: u64 = expected.iter().map(|(_, count)| *count).sum();
        assert_eq!(
            exported.len() as u64,
            expected_requests,
            "export with filter {name}"
        );
        let page = store
            .list_sessions(&filter, &PageRequest::default())
            .unwrap();
        if page.total_exact {
            assert_eq!(
                page.total,
                Some(expected.len() as u64),
                "total with filter {name}"
            );
        }
    }
    // The row counts only the matching requests.
    let rows = all_rows(
        store,
        &SessionFilter {
            statuses: vec![StatusFilter::Code(200)],
            ..Default::default()
        },
    );
    assert_eq!(rows.len(), 6);
    assert!(rows
        .iter()
        .all(|row| row.requests == 3 || row.requests == 4));
    let row = all_rows(
        store,
        &SessionFilter {
            methods: vec!["DELETE".into()],
            ..Default::default()
        },
    )
    .remove(0);
    assert_eq!(row.endpoints.len(), 1);
    assert_eq!(row.endpoints[0].value, "DELETE /v1/orders/{int}");
    assert_eq!((row.start, row.end), (t + seconds(10), t + seconds(10)));
}

fn export_ids(store: &dyn Store, filter: &SessionFilter) -> Vec<String> {
    let mut ids = Vec::new();
    let written = store
        .export_requests(filter, &mut |row| {
            ids.push(row.id);
            Ok(())
        })
        .unwrap();
    assert_eq!(written as usize, ids.len());
    ids
}

fn fields_must_match_on_one_request(store: &dyn Store) {
    let t = base_time();
    append(
        store,
        &[
            with(exchange("m-1", 1, t), |e| e.method = "DELETE".into()),
            with(exchange("m-2", 1, t + seconds(1)), |e| e.status = Some(500)),
            with(exchange("m-3", 2, t), |e| {
                e.method = "DELETE".into();
                e.status = Some(500);
            }),
        ],
    );
    let filter = SessionFilter {
        methods: vec!["DELETE".into()],
        statuses: vec![StatusFilter::Class(5)],
        ..Default::default()
    };
    assert_eq!(listed_sessions(store, &filter), vec![(session(2), 1)]);
    let page = store
        .list_sessions(&filter, &PageRequest::default())
        .unwrap();
    assert_eq!(page.sessions.len(), 1);
    assert!(page.total.is_none_or(|total| total >= 1));
    assert!(store.session_parts(session(1), &filter).unwrap().is_empty());
}

fn time_window_shows_only_requests_inside_it(store: &dyn Store) {
    let t = base_time();
    append(
        store,
        &[
            // Session 1 straddles the window: one request before, two inside, one after.
            exchange("w-1", 1, t - seconds(100)),
            exchange("w-2", 1, t + seconds(10)),
            with(exchange("w-3", 1, t + seconds(20)), |e| {
                e.attacks = vec![sqli()]
            }),
            exchange("w-4", 1, t + seconds(100)),
            // Session 2 has requests before and after the window only.
            exchange("w-5", 2, t - seconds(50)),
            exchange("w-6", 2, t + seconds(70)),
            // Session 3 lies wholly inside.
            exchange("w-7", 3, t + seconds(30)),
        ],
    );
    let window = SessionFilter {
        from: Some(t),
        to: Some(t + seconds(60)),
        ..Default::default()
    };
    let rows = all_rows(store, &window);
    let mut listed: Vec<SessionId> = rows.iter().map(|row| row.session_id).collect();
    listed.sort();
    assert_eq!(listed, vec![session(1), session(3)]);
    let straddling = rows
        .iter()
        .find(|row| row.session_id == session(1))
        .unwrap();
    assert_eq!((straddling.requests, straddling.attacks), (2, 1));
    assert_eq!(
        (straddling.start, straddling.end),
        (t + seconds(10), t + seconds(20))
    );
    let page = store
        .list_sessions(&window, &PageRequest::default())
        .unwrap();
    assert_eq!((page.total, page.total_exact), (Some(2), true));
    let requests = store
        .session_requests(
            session(1),
            None,
            &window,
            RequestSort::default(),
            &PageRequest::default(),
        )
        .unwrap();
    let ids: Vec<&str> = requests
        .requests
        .iter()
        .map(|row| row.id.as_str())
        .collect();
    assert_eq!(ids, vec!["w-2", "w-3"]);
    assert_eq!(
        store
            .session_stats(session(1), None, &window)
            .unwrap()
            .requests,
        2
    );
    assert!(store.session_parts(session(2), &window).unwrap().is_empty());
    assert_eq!(export_ids(store, &window), vec!["w-2", "w-3", "w-7"]);
    // The boundary: `from` is inclusive, `to` exclusive.
    let exact = SessionFilter {
        from: Some(t + seconds(10)),
        to: Some(t + seconds(20)),
        ..Default::default()
    };
    assert_eq!(export_ids(store, &exact), vec!["w-2"]);
    // The window combines with other fields.
    let with_attack = SessionFilter {
        attack_types: vec!["sqli".into()],
        ..window.clone()
    };
    assert_eq!(listed_sessions(store, &with_attack), vec![(session(1), 1)]);
}

fn session_list_pages_without_gaps(store: &dyn Store) {
    let t = base_time();
    let mut batch = Vec::new();
    for number in 0..40u8 {
        // Some sessions end at the same time, so the tiebreak matters.
        let end = t + seconds((number / 3) as i64);
        batch.push(exchange(
            &format!("p-{number}-a"),
            number,
            end - seconds(30),
        ));
        batch.push(with(exchange(&format!("p-{number}-b"), number, end), |e| {
            if number % 2 == 0 {
                e.status = Some(404);
            }
        }));
    }
    append(store, &batch);
    for filter in [
        SessionFilter::default(),
        SessionFilter {
            statuses: vec![StatusFilter::Code(404)],
            ..Default::default()
        },
        SessionFilter {
            from: Some(t + seconds(3)),
            ..Default::default()
        },
    ] {
        let expected = rows_in_pages_of(store, &filter, 1000);
        let rows = all_rows(store, &filter);
        let page = store
            .list_sessions(
                &filter,
                &PageRequest {
                    limit: 1000,
                    cursor: None,
                },
            )
            .unwrap();
        if page.total_exact {
            assert_eq!(Some(rows.len() as u64), page.total);
        }
        assert!(page.sessions.len() <= rows.len());
        assert_eq!(
            rows, expected,
            "small pages must join to the same list as large ones"
        );
        let mut seen: Vec<SessionId> = rows.iter().map(|row| row.session_id).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), rows.len(), "no duplicates across pages");
        assert!(
            rows.windows(2).all(|pair| pair[0].end >= pair[1].end),
            "newest first"
        );
    }
    let bad = store.list_sessions(
        &SessionFilter::default(),
        &PageRequest {
            limit: 5,
            cursor: Some("garbage".into()),
        },
    );
    assert!(matches!(bad, Err(StoreError::InvalidCursor(_))));
}

fn session_requests_sort_and_page(store: &dyn Store) {
    let t = base_time();
    let batch: Vec<AnalyzedExchange> = (0..7i64)
        .map(|index| {
            with(
                exchange(&format!("s-{index}"), 1, t + seconds(index)),
                |e| {
                    e.duration_ms = Some(((index * 3) % 7) as f64 + 0.5);
                    e.size = Some(((index * 5) % 7) as u64 * 10);
                },
            )
        })
        .collect();
    append(store, &batch);
    let fetch_all = |sort: RequestSort| -> Vec<String> {
        let mut ids = Vec::new();
        let mut page = PageRequest {
            limit: 3,
            cursor: None,
        };
        loop {
            let result = store
                .session_requests(session(1), None, &SessionFilter::default(), sort, &page)
                .unwrap();
            assert_eq!(result.total, 7);
            ids.extend(result.requests.into_iter().map(|row| row.id));
            match result.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return ids,
            }
        }
    };
    let by_time = fetch_all(RequestSort::default());
    assert_eq!(
        by_time,
        (0..7).map(|index| format!("s-{index}")).collect::<Vec<_>>()
    );
    let by_duration = fetch_all(RequestSort {
        field: SortField::Duration,
        direction: SortDirection::Desc,
    });
    let durations: Vec<f64> = by_duration
        .iter()
        .map(|id| {
            batch
                .iter()
                .find(|e| e.id == id)
                .and_then(|e| e.duration_ms)
                .unwrap_or(0.0)
        })
        .collect();
    assert!(
        durations.windows(2).all(|pair| pair[0] >= pair[1]),
        "{durations:?}"
    );
    let by_size = fetch_all(RequestSort {
        field: SortField::Size,
        direction: SortDirection::Asc,
    });
    let sizes: Vec<u64> = by_size
        .iter()
        .map(|id| {
            batch
                .iter()
                .find(|e| e.id == id)
                .and_then(|e| e.size)
                .unwrap_or(0)
        })
        .collect();
    assert!(sizes.windows(2).all(|pair| pair[0] <= pair[1]), "{sizes:?}");
    let mut sorted = by_size.clone();
    sorted.sort();
    assert_eq!(sorted.len(), 7);
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "no request twice across pages");
    let filtered = store
        .session_requests(
            session(1),
            None,
            &SessionFilter {
                request_ids: vec!["s-3".into()],
                ..Default::default()
            },
            RequestSort::default(),
            &PageRequest::default(),
        )
        .unwrap();
    assert_eq!(filtered.total, 1);
    let bad = store.session_requests(
        session(1),
        None,
        &SessionFilter::default(),
        RequestSort::default(),
        &PageRequest {
            limit: 3,
            cursor: Some("not a cursor".into()),
        },
    );
    assert!(matches!(bad, Err(StoreError::InvalidCursor(_))));
}

fn session_stats_count_matching_requests(store: &dyn Store) {
    let t = base_time();
    append(
        store,
        &[
            with(exchange("t-1", 1, t), |e| e.user = Some("ann".into())),
            with(exchange("t-2", 1, t + seconds(1)), |e| {
                e.user = Some("ann".into());
                e.status = Some(404);
                e.attacks = vec![sqli()];
            }),
            with(exchange("t-3", 1, t + seconds(2)), |e| {
                e.user = Some("bob".into());
                e.method = "post".into();
                e.roles = vec!["admin".into()];
            }),
        ],
    );
    let stats = store
        .session_stats(session(1), None, &SessionFilter::default())
        .unwrap();
    assert_eq!(stats.requests, 3);
    assert_eq!(count_of(&stats.users, "ann"), 2);
    assert_eq!(count_of(&stats.users, "bob"), 1);
    assert_eq!(count_of(&stats.attack_types, "sqli"), 1);
    assert_eq!(count_of(&stats.statuses, "404"), 1);
    assert_eq!(count_of(&stats.methods, "POST"), 1);
    assert_eq!(count_of(&stats.roles, "admin"), 1);
    assert_eq!(count_of(&stats.client_ips, "203.0.113.7"), 3);
    assert_eq!(count_of(&stats.endpoints, "GET /v1/items/{int}"), 2);
    let filtered = store
        .session_stats(
            session(1),
            None,
            &SessionFilter {
                users: vec!["ann".into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(filtered.requests, 2);
    assert_eq!(count_of(&filtered.users, "bob"), 0);
    assert!((filtered.users[0].share - 1.0).abs() < 1e-9);
    let methods = store
        .session_stats(
            session(1),
            None,
            &SessionFilter {
                methods: vec!["POST".into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(methods.requests, 1, "methods match whatever case was sent");
    assert_eq!(
        store
            .session_stats(session(9), None, &SessionFilter::default())
            .unwrap()
            .requests,
        0
    );
}

fn request_details_keep_everything_stored(store: &dyn Store) {
    let t = base_time();
    let context = vec![ContextValue {
        name: "user".into(),
        point: "request.header.authorization.jwt.sub".into(),
        kind: ParamKind::User,
        stored_as: StoredAs::Hashed,
        value: "9f86d081".into(),
    }];
    let stored = with(exchange("r-1", 1, t), |e| {
        e.query = "q=***&page=2".into();
        e.user = Some("ann".into());
        e.roles = vec!["admin".into(), "customer".into()];
        e.flows = [Flow::Billing, Flow::Admin].into_iter().collect();
        e.attacks = vec![sqli()];
        e.context = context.clone();
        e.client_ip = None;
        e.status = None;
        e.duration_ms = None;
        e.size = None;
    });
    append(store, &[stored.clone(), exchange("r-2", 1, t + seconds(1))]);
    let details = store.request("r-1").unwrap().expect("stored request");
    assert_eq!(details.query, "q=***&page=2");
    assert_eq!(details.user_agent.as_deref(), Some("test-agent/1"));
    assert_eq!(details.context, context);
    // The same context again, in the same write and in a later one (a backend may store a
    // repeated context differently from one seen once).
    let again = |id: &str, at: Micros| with(exchange(id, 1, at), |e| e.context = context.clone());
    append(
        store,
        &[again("r-3", t + seconds(2)), again("r-4", t + seconds(3))],
    );
    append(store, &[again("r-5", t + seconds(4))]);
    for id in ["r-3", "r-4", "r-5"] {
        let details = store.request(id).unwrap().expect("stored request");
        assert_eq!(details.context, context, "{id}");
    }
    let row = &details.row;
    assert_eq!(
        (row.id.as_str(), row.ts, row.session_id),
        ("r-1", t, session(1))
    );
    assert_eq!(row.session_part, "2026-11-22");
    assert_eq!(row.session_key, stored.session_key);
    assert_eq!(row.client_ip, None);
    assert_eq!(
        (row.app.as_str(), row.host.as_str(), row.method.as_str()),
        ("shop", "api.shop.example", "GET")
    );
    assert_eq!(
        (row.path.as_str(), row.endpoint.as_str()),
        ("/v1/items/7", "/v1/items/{int}")
    );
    assert_eq!((row.status, row.duration_ms, row.size), (None, None, None));
    assert_eq!(row.user.as_deref(), Some("ann"));
    assert_eq!(row.roles, vec!["admin".to_string(), "customer".to_string()]);
    assert_eq!(row.flows, vec!["admin".to_string(), "billing".to_string()]);
    assert_eq!(row.attacks, vec![sqli()]);
    assert!(row.bots.is_empty());
    let plain = store.request("r-2").unwrap().unwrap();
    assert_eq!(plain.query, "");
    assert!(plain.context.is_empty());
    assert_eq!(plain.row.client_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        (plain.row.status, plain.row.duration_ms, plain.row.size),
        (Some(200), Some(10.0), Some(100))
    );
    assert!(store.request("missing").unwrap().is_none());
}

fn exports_are_in_time_order(store: &dyn Store) {
    let t = base_time();
    // Appended out of order, in two batches, across two days.
    append(
        store,
        &[
            exchange("e-3", 2, t + seconds(30)),
            exchange("e-1", 1, t - MICROS_PER_DAY),
        ],
    );
    append(
        store,
        &[
            exchange("e-2", 1, t),
            exchange("e-4", 1, t + seconds(40)),
            exchange("e-0", 3, t - 2 * MICROS_PER_DAY),
        ],
    );
    assert_eq!(
        export_ids(store, &SessionFilter::default()),
        vec!["e-0", "e-1", "e-2", "e-3", "e-4"]
    );
    let mut sessions = Vec::new();
    let written = store
        .export_sessions(&SessionFilter::default(), &mut |row| {
            sessions.push((row.session_id, row.part));
            Ok(())
        })
        .unwrap();
    assert_eq!(written, 4);
    assert_eq!(sessions[0], (session(1), "2026-11-22".to_string()));
    // A sink error stops the export and comes back.
    let stopped = store.export_requests(&SessionFilter::default(), &mut |_| {
        Err(StoreError::Sink("closed".into()))
    });
    assert!(matches!(stopped, Err(StoreError::Sink(_))));
}

fn a_total_that_only_raw_paths_decide_is_exact_or_unknown(store: &dyn Store) {
    let t = base_time();
    // Eight parts whose template `/v1/items/{int}` some raw path could make match `*zzzzqqq*`;
    // none does.
    let batch: Vec<AnalyzedExchange> = (0..8u8)
        .map(|number| {
            exchange(
                &format!("z-{number}"),
                number + 1,
                t + seconds(number.into()),
            )
        })
        .collect();
    append(store, &batch);
    let nowhere = SessionFilter {
        endpoints: vec!["*zzzzqqq*".into()],
        ..Default::default()
    };
    assert!(listed_sessions(store, &nowhere).is_empty());
    let mut page_request = PageRequest {
        limit: 3,
        cursor: None,
    };
    loop {
        let page = store.list_sessions(&nowhere, &page_request).unwrap();
        // Exact (nothing matches), or unknown: never the number of candidates.
        match page.total {
            Some(total) => assert_eq!((total, page.total_exact), (0, true), "{page:?}"),
            None => assert!(!page.total_exact && page.flows.is_empty(), "{page:?}"),
        }
        match page.next_cursor {
            Some(cursor) => page_request.cursor = Some(cursor),
            None => break,
        }
    }
    // A pattern that matches the template itself is counted (exactly or as an estimate).
    let items = SessionFilter {
        endpoints: vec!["/v1/items/*".into()],
        ..Default::default()
    };
    let page = store
        .list_sessions(&items, &PageRequest::default())
        .unwrap();
    assert_eq!(page.total, Some(8));
    // A raw path that does match is found on every page walk.
    let seven = SessionFilter {
        endpoints: vec!["*items/7".into()],
        ..Default::default()
    };
    assert_eq!(listed_sessions(store, &seven).len(), 8);
}

/// The wall clock of a store under test, set by the checks of `run_clocked`.
#[derive(Clone)]
pub struct TestClock(Arc<std::sync::atomic::AtomicI64>);

impl TestClock {
    fn new(now: Micros) -> TestClock {
        TestClock(Arc::new(std::sync::atomic::AtomicI64::new(now)))
    }

    fn set(&self, now: Micros) {
        self.0.store(now, std::sync::atomic::Ordering::SeqCst);
    }

    /// The clock to hand to the store.
    pub fn clock(&self) -> crate::Clock {
        let time = Arc::clone(&self.0);
        Arc::new(move || time.load(std::sync::atomic::Ordering::SeqCst))
    }
}

type ClockedCheck = fn(&dyn Store, &TestClock);

/// The checks that need the store's clock (retention by time of storage): `make` returns a
/// fresh, empty store that reads its time of storage from the given clock.
pub fn run_clocked(make: &dyn Fn(&TestClock) -> Arc<dyn Store>) {
    let checks: &[(&str, ClockedCheck)] = &[
        (
            "retention keeps everything stored within the period whatever its age",
            retention_keeps_everything_stored_within_the_period_whatever_its_age,
        ),
        (
            "retention removes days stored before the cutoff",
            retention_removes_days_stored_before_the_cutoff,
        ),
        (
            "storing into a day again keeps it, duplicates included",
            storing_into_a_day_again_keeps_it_duplicates_included,
        ),
        (
            "attack contents go with their day",
            attack_contents_go_with_their_day,
        ),
    ];
    for (name, check) in checks {
        let clock = TestClock::new(wall_time());
        let store = make(&clock);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(store.as_ref(), &clock)
        }));
        if let Err(panic) = outcome {
            eprintln!("conformance check failed: {name}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// The store's clock in the clocked checks starts here (2026-12-01T12:00:00Z), far from the
/// event times of the traffic they store.
fn wall_time() -> Micros {
    parse_rfc3339("2026-12-01T12:00:00Z").unwrap_or(1_796_126_400 * MICROS_PER_SECOND)
}

/// 2015-05-17T10:05:00Z, the age of a public access log.
fn old_event_time() -> Micros {
    parse_rfc3339("2015-05-17T10:05:00Z").unwrap_or(1_431_857_100 * MICROS_PER_SECOND)
}

fn retention_keeps_everything_stored_within_the_period_whatever_its_age(
    store: &dyn Store,
    clock: &TestClock,
) {
    let now = wall_time();
    // One ingest of a 2015 log, a 2023 capture and today's traffic.
    append(
        store,
        &[
            exchange("m-2015", 1, old_event_time()),
            exchange("m-2023", 2, parse_rfc3339("2023-03-01T08:00:00Z").unwrap()),
            exchange("m-today", 3, now - seconds(30)),
        ],
    );
    let week = 7 * MICROS_PER_DAY;
    assert_eq!(
        store.apply_retention(now - week).unwrap(),
        Default::default()
    );
    // Just under a week later still nothing goes.
    clock.set(now + week - seconds(1));
    assert_eq!(
        store
            .apply_retention(now + week - seconds(1) - week)
            .unwrap(),
        Default::default()
    );
    assert_eq!(
        export_ids(store, &SessionFilter::default()),
        vec!["m-2015", "m-2023", "m-today"]
    );
    assert_eq!(store.usage().unwrap().oldest_storage, Some(now));
}

fn retention_removes_days_stored_before_the_cutoff(store: &dyn Store, clock: &TestClock) {
    let stored_first = wall_time();
    let old = old_event_time();
    append(
        store,
        &[
            with(exchange("r-1", 1, old), |e| {
                e.flows = [Flow::Billing].into_iter().collect();
                e.user = Some("old".into());
            }),
            exchange("r-2", 1, old + seconds(60)),
            exchange("r-3", 2, old + MICROS_PER_DAY),
        ],
    );
    // Eight days later: traffic older by event time than the first, in the same day as r-3.
    let stored_later = stored_first + 8 * MICROS_PER_DAY;
    clock.set(stored_later);
    append(
        store,
        &[
            exchange("r-4", 3, old - 30 * MICROS_PER_DAY),
            exchange("r-5", 4, old + MICROS_PER_DAY + seconds(5)),
        ],
    );
    let before = store.usage().unwrap();
    assert_eq!((before.exchanges, before.session_parts), (5, 4));
    assert_eq!(before.oldest_storage, Some(stored_first));
    let outcome = store
        .apply_retention(stored_later - 7 * MICROS_PER_DAY)
        .unwrap();
    // Only the day of r-1 and r-2 was not stored into since; r-3's day was (by r-5).
    assert_eq!(
        (
            outcome.exchanges_removed,
            outcome.parts_removed,
            outcome.days_removed
        ),
        (2, 1, 1)
    );
    assert_eq!(
        export_ids(store, &SessionFilter::default()),
        vec!["r-4", "r-3", "r-5"]
    );
    let after = store.usage().unwrap();
    assert_eq!((after.exchanges, after.session_parts), (3, 3));
    assert_eq!(after.oldest_storage, Some(stored_later));
    assert!(store.request("r-1").unwrap().is_none());
    assert!(store.request("r-3").unwrap().is_some());
    assert!(store
        .session_parts(session(1), &SessionFilter::default())
        .unwrap()
        .is_empty());
    for filter in [
        SessionFilter {
            users: vec!["old".into()],
            ..Default::default()
        },
        SessionFilter {
            flows: vec![Flow::Billing],
            ..Default::default()
        },
    ] {
        assert!(listed_sessions(store, &filter).is_empty(), "{filter:?}");
    }
    let page = store
        .list_sessions(&SessionFilter::default(), &PageRequest::default())
        .unwrap();
    assert_eq!((page.total, page.flows.len()), (Some(3), 0));
    // Running it again removes nothing; a removed id can be stored again, and is new.
    assert_eq!(
        store
            .apply_retention(stored_later - 7 * MICROS_PER_DAY)
            .unwrap(),
        Default::default()
    );
    assert_eq!(
        store.append(&[exchange("r-1", 1, old)]).unwrap().inserted,
        1
    );
    // Once nothing is stored for the whole period, everything goes.
    let outcome = store.apply_retention(stored_later + 1).unwrap();
    assert_eq!(outcome.exchanges_removed, 4);
    let empty = store.usage().unwrap();
    assert_eq!(
        (empty.exchanges, empty.oldest, empty.oldest_storage),
        (0, None, None)
    );
}

fn storing_into_a_day_again_keeps_it_duplicates_included(store: &dyn Store, clock: &TestClock) {
    let stored_first = wall_time();
    let old = old_event_time();
    append(
        store,
        &[
            exchange("d-1", 1, old),
            exchange("d-2", 2, old + MICROS_PER_DAY),
        ],
    );
    clock.set(stored_first + 6 * MICROS_PER_DAY);
    // A re-ingest of d-1: a duplicate, but the ingest accepted it, so its day starts over.
    let outcome = store.append(&[exchange("d-1", 1, old)]).unwrap();
    assert_eq!(outcome.duplicates, 1);
    let outcome = store
        .apply_retention(stored_first + MICROS_PER_DAY)
        .unwrap();
    assert_eq!((outcome.exchanges_removed, outcome.days_removed), (1, 1));
    assert_eq!(export_ids(store, &SessionFilter::default()), vec!["d-1"]);
}

fn attack_contents_go_with_their_day(store: &dyn Store, clock: &TestClock) {
    let stored_first = wall_time();
    let old = old_event_time();
    let attacked = |id: &str, ts: Micros| with(exchange(id, 1, ts), |e| e.attacks = vec![sqli()]);
    append(
        store,
        &[
            attacked("c-old", old),
            exchange("c-clean", 1, old + seconds(1)),
        ],
    );
    clock.set(stored_first + 10 * MICROS_PER_DAY);
    append(store, &[attacked("c-new", old + MICROS_PER_DAY)]);
    assert!(store.put_attack_contents(&[]).is_ok());
    store
        .put_attack_contents(&[
            ("c-old".to_string(), old, "{\"id\":\"c-old\"}".to_string()),
            (
                "c-new".to_string(),
                old + MICROS_PER_DAY,
                "{\"id\":\"c-new\"}".to_string(),
            ),
        ])
        .unwrap();
    // A repeated request keeps its first content, as `append` keeps its first exchange.
    store
        .put_attack_contents(&[("c-new".to_string(), old + MICROS_PER_DAY, "{}".to_string())])
        .unwrap();
    assert_eq!(
        store.attack_content("c-new").unwrap().as_deref(),
        Some("{\"id\":\"c-new\"}")
    );
    assert!(store.attack_content("c-old").unwrap().is_some());
    assert!(store.attack_content("c-clean").unwrap().is_none());
    assert!(store.attack_content("").unwrap().is_none());
    assert!(store.attack_content("nope' OR 1=1 --").unwrap().is_none());
    store
        .apply_retention(stored_first + MICROS_PER_DAY)
        .unwrap();
    assert!(store.attack_content("c-old").unwrap().is_none());
    assert!(store.attack_content("c-new").unwrap().is_some());
}

fn users_tokens_and_settings(store: &dyn Store) {
    assert!(store.user("ann").unwrap().is_none());
    store
        .create_user("ann", Role::Analyst, "$argon2id$hash")
        .unwrap();
    assert!(matches!(
        store.create_user("ann", Role::Admin, "x"),
        Err(StoreError::AlreadyExists(_))
    ));
    store
        .create_user("bob", Role::Admin, "$argon2id$other")
        .unwrap();
    let ann = store.user("ann").unwrap().unwrap();
    assert_eq!(
        (ann.name.as_str(), ann.role, ann.password_hash.as_str()),
        ("ann", Role::Analyst, "$argon2id$hash")
    );
    assert_eq!(
        store
            .users()
            .unwrap()
            .iter()
            .map(|user| user.name.as_str())
            .collect::<Vec<_>>(),
        vec!["ann", "bob"]
    );
    store
        .create_token("hash-1", "capture-node", Role::Ingest)
        .unwrap();
    assert!(matches!(
        store.create_token("hash-2", "capture-node", Role::Ingest),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.create_token("hash-1", "other", Role::Ingest),
        Err(StoreError::AlreadyExists(_))
    ));
    let token = store.token("hash-1").unwrap().unwrap();
    assert_eq!(
        (token.name.as_str(), token.role),
        ("capture-node", Role::Ingest)
    );
    assert!(store.token("hash-unknown").unwrap().is_none());
    assert!(store.setting("retention_days").unwrap().is_none());
    store.put_setting("retention_days", "7").unwrap();
    store.put_setting("retention_days", "30").unwrap();
    assert_eq!(
        store.setting("retention_days").unwrap().as_deref(),
        Some("30")
    );
    let secret = store.installation_secret().unwrap();
    assert_ne!(secret, [0u8; 32]);
    assert_eq!(store.installation_secret().unwrap(), secret);
}

fn tokens_are_listed_and_revoked_by_name(store: &dyn Store) {
    assert!(store.tokens().unwrap().is_empty());
    store
        .create_token("hash-b", "node-b", Role::Ingest)
        .unwrap();
    store
        .create_token("hash-a", "analyst-1", Role::Analyst)
        .unwrap();
    let listed: Vec<(String, Role, Option<Micros>)> = store
        .tokens()
        .unwrap()
        .into_iter()
        .map(|token| (token.name, token.role, token.last_used))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("analyst-1".to_string(), Role::Analyst, None),
            ("node-b".to_string(), Role::Ingest, None)
        ]
    );
    store.touch_token("hash-a", 1_234_000_000).unwrap();
    assert_eq!(
        store.token("hash-a").unwrap().unwrap().last_used,
        Some(1_234_000_000)
    );
    assert!(store.revoke_token("analyst-1").unwrap());
    assert!(store.token("hash-a").unwrap().is_none(), "revoked at once");
    assert!(!store.revoke_token("analyst-1").unwrap());
    assert!(!store.revoke_token("never-existed").unwrap());
    assert_eq!(store.tokens().unwrap().len(), 1);
    // The name is free again.
    store
        .create_token("hash-c", "analyst-1", Role::Analyst)
        .unwrap();
}

fn users_are_removed_and_change_password_but_the_last_admin_stays(store: &dyn Store) {
    store
        .create_user("root", Role::Admin, "$argon2id$r")
        .unwrap();
    store
        .create_user("ann", Role::Analyst, "$argon2id$a")
        .unwrap();
    assert!(matches!(
        store.remove_user("root"),
        Err(StoreError::LastAdmin(name)) if name == "root"
    ));
    assert!(store.user("root").unwrap().is_some());
    assert!(store.set_user_password("ann", "$argon2id$new").unwrap());
    assert_eq!(
        store.user("ann").unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert!(!store.set_user_password("nobody", "$argon2id$x").unwrap());
    assert!(store.remove_user("ann").unwrap());
    assert!(store.user("ann").unwrap().is_none());
    assert!(!store.remove_user("ann").unwrap());
    // With a second admin, either may go, but not both.
    store
        .create_user("second", Role::Admin, "$argon2id$s")
        .unwrap();
    assert!(store.remove_user("root").unwrap());
    assert!(matches!(
        store.remove_user("second"),
        Err(StoreError::LastAdmin(_))
    ));
}

fn the_audit_log_merges_access_events_with_configuration_changes(store: &dyn Store) {
    assert!(store.audit_events(10).unwrap().is_empty());
    store
        .record_audit("cli:root", "user.add", "ann", "role analyst")
        .unwrap();
    let change = store
        .save_analysis_settings("{}", "ann", "moved key 2 up")
        .unwrap();
    store
        .record_audit("ann", "token.create", "node-1", "role ingest")
        .unwrap();
    let events = store.audit_events(10).unwrap();
    let seen: Vec<(&str, &str, &str, Option<i64>)> = events
        .iter()
        .map(|event| {
            (
                event.who.as_str(),
                event.action.as_str(),
                event.target.as_str(),
                event.config_change,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("ann", "token.create", "node-1", None),
            ("ann", "config.change", "analysis settings", Some(change.id)),
            ("cli:root", "user.add", "ann", None),
        ]
    );
    assert_eq!(events[1].detail, "moved key 2 up");
    assert_eq!(events[2].detail, "role analyst");
    assert!(events.windows(2).all(|pair| pair[0].at >= pair[1].at));
    assert!(events[0].at > 0);
    let newest = store.audit_events(1).unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].action, "token.create");
}

fn analysis_settings_are_saved_with_their_change_log(store: &dyn Store) {
    assert!(store.analysis_settings().unwrap().is_none());
    assert!(store.config_changes(10).unwrap().is_empty());
    let first = r#"{"session_keys":[],"context":[],"apps":[]}"#;
    let second =
        r#"{"session_keys":[{"points":["request.header.x-session-id"]}],"context":[],"apps":[]}"#;
    let started = store
        .save_analysis_settings(
            first,
            "config-file",
            "first version from the configuration file",
        )
        .unwrap();
    assert_eq!(started.before, None);
    let changed = store
        .save_analysis_settings(second, "ann", "added key `request.header.x-session-id`")
        .unwrap();
    assert!(changed.id > started.id, "ids increase");
    assert!(changed.at >= started.at);
    assert_eq!(store.analysis_settings().unwrap().as_deref(), Some(second));
    // The generic settings view sees the same value.
    assert_eq!(
        store
            .setting(crate::ANALYSIS_SETTINGS_KEY)
            .unwrap()
            .as_deref(),
        Some(second)
    );
    let changes = store.config_changes(10).unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0], changed, "newest first");
    assert_eq!(
        (
            changes[0].who.as_str(),
            changes[0].summary.as_str(),
            changes[0].before.as_deref(),
            changes[0].after.as_str()
        ),
        (
            "ann",
            "added key `request.header.x-session-id`",
            Some(first),
            second
        )
    );
    assert_eq!(changes[1].who, "config-file");
    assert_eq!(changes[1].before, None);
    assert_eq!(store.config_changes(1).unwrap(), vec![changed.clone()]);
    assert!(store.config_changes(0).unwrap().is_empty());

    // An edit based on an older version is refused and saves nothing; one based on the newest
    // change is saved.
    let stale = store.save_analysis_settings_based_on(started.id, first, "bob", "stale edit");
    assert!(
        matches!(
            stale,
            Err(StoreError::StaleSettings { expected, newest })
                if expected == started.id && newest == changed.id
        ),
        "{stale:?}"
    );
    assert_eq!(store.analysis_settings().unwrap().as_deref(), Some(second));
    assert_eq!(store.config_changes(10).unwrap().len(), 2);
    let current = store
        .save_analysis_settings_based_on(changed.id, first, "bob", "current edit")
        .unwrap();
    assert_eq!(current.before.as_deref(), Some(second));
    assert_eq!(store.analysis_settings().unwrap().as_deref(), Some(first));
}

fn samples_are_replaced_as_a_set(store: &dyn Store) {
    assert!(store.samples().unwrap().is_empty());
    let first: Vec<String> = vec!["{\"id\":\"a\"}".into(), "{\"id\":\"b\"}".into()];
    store.replace_samples(&first).unwrap();
    assert_eq!(store.samples().unwrap(), first);
    let second: Vec<String> = vec!["{\"id\":\"c\"}".into()];
    store.replace_samples(&second).unwrap();
    assert_eq!(store.samples().unwrap(), second, "the old set is gone");
    store.replace_samples(&[]).unwrap();
    assert!(store.samples().unwrap().is_empty());
}

fn xss() -> Attack {
    Attack {
        kind: "xss".to_string(),
        point: "request.query.name".to_string(),
        payload: "<script>".to_string(),
        rule: "xss.script-tag".to_string(),
    }
}

fn attack_types_of(store: &dyn Store, session_number: u8) -> Vec<(String, u64)> {
    let stats = store
        .session_stats(session(session_number), None, &SessionFilter::default())
        .expect("session stats");
    stats
        .attack_types
        .iter()
        .map(|count| (count.value.clone(), count.count))
        .collect()
}

fn listed_with_attack_type(store: &dyn Store, attack_type: &str) -> Vec<(SessionId, u64)> {
    listed_sessions(
        store,
        &SessionFilter {
            attack_types: vec![attack_type.to_string()],
            ..SessionFilter::default()
        },
    )
}

fn reevaluation_drops_attacks_and_fixes_aggregates(store: &dyn Store) {
    let t = base_time();
    append(
        store,
        &[
            with(exchange("v-1", 1, t), |e| e.attacks = vec![sqli()]),
            with(exchange("v-2", 1, t + seconds(1)), |e| {
                e.attacks = vec![sqli(), xss()]
            }),
            with(exchange("v-3", 1, t + seconds(2)), |e| {
                e.host = "admin.shop.example".into();
                e.attacks = vec![sqli()];
            }),
            with(exchange("v-4", 2, t + seconds(3)), |e| {
                e.attacks = vec![sqli()]
            }),
            exchange("v-5", 2, t + seconds(4)),
        ],
    );
    assert_eq!(listed_with_attack_type(store, "sqli").len(), 2);
    store
        .put_attack_contents(&[
            ("v-1".to_string(), t, "{\"id\":\"v-1\"}".to_string()),
            (
                "v-2".to_string(),
                t + seconds(1),
                "{\"id\":\"v-2\"}".to_string(),
            ),
        ])
        .unwrap();
    // Keep a finding unless it is an sqli at request.query.q on api.shop.example (a false
    // positive scoped to a host); the check sees each request's host and endpoint.
    let seen_endpoints = std::sync::Mutex::new(Vec::new());
    let keep = |context: &crate::AttackContext<'_>, attack: &Attack| {
        if let Ok(mut seen) = seen_endpoints.lock() {
            seen.push(format!("{} {}", context.method, context.endpoint));
        }
        !(context.host == "api.shop.example"
            && attack.kind == "sqli"
            && attack.point == "request.query.q")
    };
    let outcome = store.reevaluate_attacks(None, &keep).expect("reevaluate");
    assert_eq!(outcome.exchanges_checked, 4);
    assert_eq!(outcome.exchanges_changed, 3);
    assert_eq!(outcome.exchanges_cleared, 2);
    assert_eq!(outcome.attacks_removed, 3);
    assert_eq!(outcome.parts_changed, 2);
    // A request left without attacks no longer keeps its content; one that keeps some does.
    assert!(store.attack_content("v-1").unwrap().is_none());
    assert!(store.attack_content("v-2").unwrap().is_some());
    assert!(seen_endpoints
        .lock()
        .map(|seen| seen
            .iter()
            .all(|endpoint| endpoint == "GET /v1/items/{int}"))
        .unwrap_or(false));

    // Session 1 keeps v-2's xss and v-3's sqli (another host): two attacked requests.
    let rows = all_rows(store, &SessionFilter::default());
    let attacks_of = |number: u8| {
        rows.iter()
            .find(|row| row.session_id == session(number))
            .map(|row| row.attacks)
    };
    assert_eq!(attacks_of(1), Some(2));
    assert_eq!(attacks_of(2), Some(0));
    assert_eq!(
        attack_types_of(store, 1),
        vec![("sqli".to_string(), 1), ("xss".to_string(), 1)]
    );
    assert!(attack_types_of(store, 2).is_empty());
    // The attack_type filter follows, per part and per request.
    assert_eq!(
        listed_with_attack_type(store, "sqli"),
        vec![(session(1), 1)]
    );
    assert_eq!(listed_with_attack_type(store, "xss"), vec![(session(1), 1)]);
    let v2 = store
        .request("v-2")
        .expect("request")
        .expect("v-2 is stored");
    assert_eq!(v2.row.attacks, vec![xss()]);
    let v1 = store
        .request("v-1")
        .expect("request")
        .expect("v-1 is stored");
    assert!(v1.row.attacks.is_empty());

    // Running it again changes nothing; new data still appends after the rewrite.
    let again = store.reevaluate_attacks(None, &keep).expect("reevaluate");
    assert_eq!((again.exchanges_changed, again.attacks_removed), (0, 0));
    append(
        store,
        &[with(exchange("v-6", 2, t + seconds(5)), |e| {
            e.attacks = vec![xss()]
        })],
    );
    assert_eq!(
        listed_with_attack_type(store, "xss").len(),
        2,
        "new attacks are counted after re-evaluation"
    );

    // `from` leaves older requests alone.
    let drop_everything = |_: &crate::AttackContext<'_>, _: &Attack| false;
    let later = store
        .reevaluate_attacks(Some(t + seconds(5)), &drop_everything)
        .expect("reevaluate");
    assert_eq!(later.attacks_removed, 1);
    assert_eq!(listed_with_attack_type(store, "xss"), vec![(session(1), 1)]);
}

/// Many separate writes of one session (a backend may store each write apart and re-evaluate them
/// in several steps): every finding is seen, and the session's counts end where they should.
fn reevaluation_covers_every_stored_write(store: &dyn Store) {
    let t = base_time();
    let writes = 600;
    for index in 0..writes {
        append(
            store,
            &[with(
                exchange(&format!("w-{index}"), 3, t + seconds(index)),
                |e| e.attacks = vec![sqli()],
            )],
        );
    }
    append(store, &[exchange("quiet", 4, t)]);
    let drop_everything = |_: &crate::AttackContext<'_>, _: &Attack| false;
    let outcome = store
        .reevaluate_attacks(None, &drop_everything)
        .expect("reevaluate");
    assert_eq!(outcome.exchanges_checked, writes as u64);
    assert_eq!(outcome.exchanges_cleared, writes as u64);
    assert_eq!(outcome.attacks_removed, writes as u64);
    assert_eq!(outcome.parts_changed, 1, "one part, counted once");
    assert!(listed_with_attack_type(store, "sqli").is_empty());
    let rows = all_rows(store, &SessionFilter::default());
    let session_row = rows
        .iter()
        .find(|row| row.session_id == session(3))
        .expect("session 3 is listed");
    assert_eq!(
        (session_row.requests, session_row.attacks),
        (writes as u64, 0)
    );
}

/// Attacked requests as the session list, the statistics, the `attack_type` filter and the
/// export each count them: after any piece of a re-evaluation all four agree.
fn attacked_counts_agree(store: &dyn Store) -> u64 {
    let mut exported = std::collections::HashMap::<SessionId, u64>::new();
    store
        .export_requests(&SessionFilter::default(), &mut |row| {
            if !row.attacks.is_empty() {
                *exported.entry(row.session_id).or_default() += 1;
            }
            Ok(())
        })
        .unwrap();
    let mut total = 0;
    for row in all_rows(store, &SessionFilter::default()) {
        let stats = store
            .session_stats(row.session_id, None, &SessionFilter::default())
            .unwrap();
        let from_export = exported.get(&row.session_id).copied().unwrap_or(0);
        assert_eq!(row.attacks, from_export, "list vs export");
        assert_eq!(
            count_of(&stats.attack_types, "sqli"),
            from_export,
            "stats vs export"
        );
        total += from_export;
    }
    let filtered: u64 = listed_with_attack_type(store, "sqli").len() as u64;
    let attacked_sessions = exported.values().filter(|count| **count > 0).count() as u64;
    assert_eq!(filtered, attacked_sessions, "attack_type filter vs export");
    total
}

fn an_interrupted_reevaluation_is_consistent_and_continues(store: &dyn Store) {
    use std::ops::ControlFlow;
    let t = base_time();
    let writes = 700u64;
    // One block per write, in two sessions: three pieces of at most 256 blocks.
    for index in 0..writes {
        append(
            store,
            &[with(
                exchange(
                    &format!("i-{index}"),
                    3 + (index % 2) as u8,
                    t + seconds(index as i64),
                ),
                |e| e.attacks = vec![sqli()],
            )],
        );
    }
    assert_eq!(attacked_counts_agree(store), writes);
    let drop_everything = |_: &crate::AttackContext<'_>, _: &Attack| false;
    let request = crate::ReevaluationRequest {
        settings_version: 4,
        scope: crate::ReevaluationScope::From(None),
    };
    // Stopped after its first piece, as Ctrl-C or a crash between pieces leaves it.
    let stopped = store
        .run_reevaluation(&request, &drop_everything, &mut |_| ControlFlow::Break(()))
        .unwrap();
    assert_eq!(stopped.end, crate::ReevaluationEnd::Stopped);
    assert!(!stopped.continued);
    let removed_first = stopped.job.outcome.attacks_removed;
    assert!(removed_first > 0 && removed_first < writes, "{stopped:?}");
    let job = store.reevaluation_job().unwrap().expect("the job is kept");
    assert_eq!((job.settings_version, job.from), (4, None));
    assert_eq!(
        (job.requests_total, job.requests_done),
        (writes, removed_first)
    );
    assert_eq!(job.outcome, stopped.job.outcome);
    assert_eq!(attacked_counts_agree(store), writes - removed_first);
    // A failure inside the next piece undoes that piece alone.
    let calls = std::cell::Cell::new(0u32);
    let failing = |_: &crate::AttackContext<'_>, _: &Attack| {
        calls.set(calls.get() + 1);
        assert!(
            calls.get() < 10,
            "injected failure in the middle of a piece"
        );
        false
    };
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.run_reevaluation(&request, &failing, &mut |_| ControlFlow::Continue(()))
    }));
    assert!(failed.is_err());
    assert_eq!(store.reevaluation_job().unwrap(), Some(job));
    assert_eq!(attacked_counts_agree(store), writes - removed_first);
    // Continuing it (as the next `rules reevaluate` or `serve` start does) finishes the rest.
    let mut pieces = 0;
    let finished = store
        .run_reevaluation(
            &crate::ReevaluationRequest {
                settings_version: 4,
                scope: crate::ReevaluationScope::Unfinished,
            },
            &drop_everything,
            &mut |_| {
                pieces += 1;
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(finished.end, crate::ReevaluationEnd::Finished);
    assert!(finished.continued);
    assert_eq!(pieces, 2);
    assert_eq!(finished.job.outcome.attacks_removed, writes);
    assert_eq!(finished.job.outcome.exchanges_cleared, writes);
    assert_eq!(
        finished.job.outcome.parts_changed, 2,
        "each part counted once"
    );
    assert!(store.reevaluation_job().unwrap().is_none());
    assert_eq!(attacked_counts_agree(store), 0);
    // With no job left, continuing does nothing.
    let nothing = store
        .run_reevaluation(
            &crate::ReevaluationRequest {
                settings_version: 4,
                scope: crate::ReevaluationScope::Unfinished,
            },
            &drop_everything,
            &mut |_| ControlFlow::Continue(()),
        )
        .unwrap();
    assert_eq!(
        (nothing.end, nothing.continued, nothing.job.outcome),
        (crate::ReevaluationEnd::Finished, false, Default::default())
    );
}

"""Turns the results of bench/run.py into bench/REPORT.md (figures from the run only; the
analysis section is kept from the previous report, between its markers)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_report"]

_KEEP_START = "<!-- analysis:start -->"
_KEEP_END = "<!-- analysis:end -->"


def _f(v, digits: int = 1) -> str:  # noqa: ANN001
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def write_report(res: dict, path: Path) -> None:
    m = res["machine"]
    c = res["closed"]
    st = res.get("statements", {})
    stm = lambda k: _f(st.get(k, {}).get("mean")) if isinstance(st.get(k), dict) else "?"  # noqa: E731
    w2_statements = sum(st.get(k, {}).get("mean", 0) for k in ("W2 profile", "W2 purchases", "W2 notes", "W2 consents") if isinstance(st.get(k), dict))
    r1 = c["W1"]["rps_median"] / c["baseline"]["rps_median"]
    r2 = c["W2"]["rps_median"] / c["baseline"]["rps_median"]
    half = res["W1_half"]
    w3 = res["W3_one"]
    w5 = res.get("W5") or {}
    w6 = {x["subscribers"]: x for x in res.get("W6", [])}
    w7 = res.get("W7") or {}
    w8 = res.get("W8") or {}
    conns = res["args"]["connections"]
    rows = [
        ("Baseline (bare ASGI + asyncpg + msgspec, 360)", c["baseline"], f"{conns} conns, closed loop", "10 (+BEGIN/COMMIT)", "1.00", ""),
        ("W1 customer 360, GraphQL", c["W1"], f"{conns} conns, closed loop", stm("W1"), f"{r1:.2f}", f"≥ 0.50: {_verdict(r1 >= 0.5)}"),
        ("W1 at half its max rate", half | {"rps_median": half["rps"]}, f"open loop {half['rate']:.0f}/s", stm("W1"), "", f"p99 < 25 ms: {_verdict(half['p99'] < 25)}"),
        ("W2 customer 360, REST (4 GETs per screen)", c["W2"], f"{conns} conns, closed loop", _f(w2_statements), f"{r2:.2f}", f"≥ 0.80: {_verdict(r2 >= 0.8)}"),
        ("W3 search, 20 results, typo in the surname", w3 | {"rps_median": w3["rps"]}, "1 conn", stm("W3"), "", f"p99 < 30 ms: {_verdict(w3['p99'] < 30)}"),
        ("W3 search under load", res["W3_loaded"] | {"rps_median": res["W3_loaded"]["rps"]}, f"{conns} conns", stm("W3"), "", ""),
        ("W4 add a note", res["W4"] | {"rps_median": res["W4"]["rps"]}, f"{conns} conns", stm("W4"), "", ""),
    ]
    if w8.get("loaded"):
        rows.append(("W8 = W1 on SQLite", w8["loaded"] | {"rps_median": w8["loaded"]["rps"]}, f"{conns} conns, closed loop", "", f"{w8['loaded']['rps'] / c['baseline']['rps_median']:.2f}", ""))
        rows.append(("W8 on SQLite, one client", w8["one"] | {"rps_median": w8["one"]["rps"]}, "1 conn", "", "", ""))
    out = [
        "# Benchmark report",
        "",
        f"Written by `python bench/run.py` ({res['total_seconds']:,} s in all) on {m['started']}. Every figure below comes from that run; "
        "nothing is copied from elsewhere. Re-running overwrites this file (the analysis section between the markers is kept).",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB; Linux {m['kernel']}; Python {m['python']}",
        f"- Load average at start: {m['load'][0]:.2f} / {m['load'][1]:.2f} / {m['load'][2]:.2f} (1 / 5 / 15 min)"
        + (" — **other work was running on the machine** (other engineers' tests share it), so absolute figures are noisy; the ratios were measured alternately in the same run" if m["load"][0] >= 1.5 else ""),
        "- Server: `clienteling serve` (uvicorn, one process) pinned with `taskset -c 0`; the baseline on the same core (idle while the other is measured); "
        f"the driver (bench/driver.py: asyncio on {'uvloop' if m.get('driver_loop') == 'uvloop' else 'the default event loop'}, httptools; W6's clients: websockets) pinned to core 1; PostgreSQL 15 unpinned (it shares both cores).",
        f"- The shared PostgreSQL server runs with `autovacuum = {res.get('autovacuum')}`"
        + ("; the run does what autovacuum would (`VACUUM ANALYZE` of the benchmark database) before every measured phase, "
           "otherwise plans cached while the audit table was empty are never replanned (see the analysis)." if res.get("autovacuum") == "off" else "."),
        f"- Data set: {res['dataset']['counts'].get('customer', 0):,} customers across {res['dataset']['stores']} stores, "
        f"{res['dataset']['counts'].get('purchase', 0):,} purchases with {res['dataset']['counts'].get('purchase_line', 0):,} lines, "
        f"{res['dataset']['counts'].get('note', 0):,} notes, {res['dataset']['counts'].get('consent_record', 0):,} consent answers; loaded in {res['dataset']['seconds']:.0f} s.",
        f"- First start on this data set: the service's automatic-task job created {_f((res.get('startup') or {}).get('automatic_tasks'))} tasks; "
        f"the database was quiet {_f((res.get('startup') or {}).get('database_settled_after_s'))} s after the service answered /ready "
        "(measurements start after that; see the analysis).",
        f"- Requests without `Accept-Encoding` (no compression), keep-alive; W1/W2/W3/W4 as an associate of the {res['args']['big_store']:,}-customer store, random customers of that store.",
        f"- The baseline returned byte-for-byte the same JSON (parsed) as W1 for {res['same_json'][0]}/{res['same_json'][1]} customers checked in this run.",
        "",
        "## Summary",
        "",
        "| workload | load | req/s | p50 ms | p95 ms | p99 ms | errors | SQL stmts/req | ratio to baseline | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r, load, stmts, ratio, target in rows:
        out.append(f"| {name} | {load} | {_f(r['rps_median'])} | {_f(r['p50'], 2)} | {_f(r['p95'], 2)} | {_f(r['p99'], 2)} | {r['errors']:,} | {stmts} | {ratio} | {target} |")
    out += [
        "",
        f"Ratios per alternating round (W1/baseline): {res['ratios']['W1']}; (W2/baseline): {res['ratios']['W2']}. "
        f"Throughput per round: baseline {c['baseline']['rps_rounds']}, W1 {c['W1']['rps_rounds']}, W2 {c['W2']['rps_rounds']} (the table shows the medians; latencies pooled over the rounds).",
        f"Baseline at half its max ({res['baseline_half']['rate']:.0f}/s, open loop): p50 {res['baseline_half']['p50']} ms, p99 {res['baseline_half']['p99']} ms.",
        "",
        f"W3 searches that found someone: {res['W3_found'][0]}/{res['W3_found'][1]} (a first name and a surname with one typo: a changed, dropped or doubled letter).",
        "",
    ]
    if w5:
        ok5 = w5.get("first_sync_s") is not None and w5["first_sync_s"] < 5
        out += [f"### W5 offline sync (stock RxDB client, rxdb 17.6 in Node, memory storage, batch {w5.get('batch', 1000):,})", "",
                "| customers | first sync end to end | replication only | docs/s | 100 changes reach the live tablet | server RSS before / after / peak | target < 5 s |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
                f"| {_f(w5.get('customers'))} | {_f(w5.get('first_sync_s'), 2)} s | {_f(w5.get('replication_s'), 2)} s | {_f(w5.get('docs_per_s'))} | "
                f"{_f(w5.get('incremental_100_s'), 2)} s | {w5.get('rss_before_mib')} / {w5.get('rss_after_mib')} / {w5.get('rss_peak_mib')} MiB | {_verdict(ok5)} |", ""]
    if w6:
        out += ["### W6 live-alert fan-out (`customerUpdated`, graphql-transport-ws)", "",
                "A manager changes the customer over REST; every subscriber gets the customer as they see them. Latency: from just before the PATCH "
                "to the arrival of each delivery at each subscriber.", "",
                "| subscribers | events | deliveries / expected | p50 ms | p95 ms | p99 ms | last delivery of an event (median) ms | target |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for n, x in sorted(w6.items()):
            if "error" in x:
                out.append(f"| {n} | — | — | — | — | — | — | failed: {x['error']} |")
            else:
                target = f"p99 < 50 ms: {_verdict(x['p99'] < 50)}" if n == 200 else ""
                out.append(f"| {n:,} | {x['events']} | {x['deliveries']:,} / {x['expected']:,} | {x['p50']} | {x['p95']} | {x['p99']} | {x['last_of_event_median']} | {target} |")
        out.append("")
    out += ["### W7 push delivery", ""]
    if w7.get("measured"):
        ok7 = (w7.get("per_s") or 0) >= 500
        out += [f"bench/push_bench.py: {w7['members']:,} loyalty members, each with one subscription at the local receiver (tests/push_receiver.py: "
                "VAPID JWT verified, payload decrypted) and one purchase webhook (a `points_earned` notification); then one "
                "`clienteling push-worker` process pinned to core 0.", "",
                "| notifications received | first arrival after worker start | first → last arrival | notifications/s per worker | incl. start-up | worker CPU ms / notification | worker peak RSS | target ≥ 500/s |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
                f"| {w7['received']:,} / {w7['webhooks']:,} | {w7['first_arrival_after_start_s']} s | {w7['span_s']} s | {w7['per_s']} | {w7['per_s_incl_start']} | "
                f"{w7['worker_cpu_ms_per_notification']} | {w7['worker_rss_peak_mib']} MiB | {_verdict(ok7)} |"]
    else:
        out.append(f"Not measured in this run: {w7.get('reason')}.")
    out.append("")
    if w8:
        out += ["### W8 (W1 on SQLite)", "", f"{w8.get('customers', 0):,} customers, {_f(w8.get('lines'))} purchase lines loaded in {w8.get('load_s')} s; "
                f"peak server RSS {w8.get('rss_peak_mib')} MiB.", ""]
    out += ["## Memory and statements", "",
            f"- Peak server RSS (VmHWM): {res.get('rss_after_start_mib')} MiB after start; {res.get('rss_peak_http_mib')} MiB after W1–W4; "
            f"{res.get('rss_peak_ws_mib', '—')} MiB after W6; {(res.get('W5') or {}).get('rss_peak_mib', '—')} MiB after W5; "
            f"{res.get('rss_peak_mib')} MiB at the end, after `GET /api/v1/audit/verify` walked the {_f((res.get('audit_verify') or {}).get('entries'))} audit entries.",
            "- SQL statements per request are counted in-process (bench/statements.py: the app as `serve` builds it, Litestar's test client, "
            "piccolo's query hook as in the suite's statement-count test; BEGIN/COMMIT not included): "
            + ", ".join(f"{k} {_f(v.get('mean'))} (min {v.get('min')}, max {v.get('max')})" for k, v in st.items() if isinstance(v, dict) and "mean" in v) + ".",
            "- Audit appends (the service's `clienteling_audit_write_seconds` histogram, read from /metrics around each round): "
            + "; ".join(f"{k}: {v['appends_per_request']} appends per request, {v['ms_per_append']} ms each, "
                        f"{100 * v['share_of_request_time']:.0f}% of the time requests were open" for k, v in res.get("audit", {}).items()) + ".",
            f"- Audit chain after the run (`GET /api/v1/audit/verify`, baseline entries included): {res.get('audit_verify')}.",
            ""]
    previous = path.read_text() if path.exists() else ""
    if _KEEP_START in previous and _KEEP_END in previous:
        analysis = previous[previous.index(_KEEP_START):previous.index(_KEEP_END) + len(_KEEP_END)]
    else:
        analysis = f"{_KEEP_START}\n## Analysis\n\n(To be written after a run.)\n{_KEEP_END}"
    out += [analysis, ""]
    path.write_text("\n".join(out))

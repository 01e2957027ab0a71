'use strict';
// GET /metrics: Prometheus text format (prom-client), on every instance's own port, for a scraper on
// the private network. Never through the router or the load balancer: a request that came through a
// proxy (X-Forwarded-For, Forwarded or the router's X-Nodered-Router header) gets 404, whatever the
// proxy's own rules; the router and the ALB also refuse the path themselves.
//
// Series (every one labelled with the instance's role and instance_id):
//   nodered_http_requests_total{route,method,status}, nodered_http_request_duration_seconds{...}
//       requests under httpNodeRoot by the HTTP-in route that took them ("unmatched": none did)
//   nodered_gate_requests_held_total, nodered_gate_requests_drained_total, nodered_gate_drain_timeouts_total,
//   nodered_gate_requests_unavailable_total, nodered_gate_requests_held, nodered_gate_requests_in_flight
//       the request gate during flow swaps (lib/gate.js)
//   nodered_flows_revision, nodered_flows_latest_revision, nodered_flows_ready, nodered_db_reachable
//   nodered_flows_reloads_total{cause,result}, nodered_flows_reload_duration_seconds{cause}
//       swaps of the running flows: cause "reload" (a worker following a deploy) or "deploy" (the editor)
//   nodered_flows_sync_lag_seconds (histogram, per swap), nodered_flows_last_sync_lag_seconds
//       from the revision's savedAt (the editor's clock) to its flows started here (this instance's)
//   nodered_flows_sync_phase_seconds{phase} (histogram, per swap for a new revision): the deploy's way here in
//       parts (storage/lib/timing.js): editor, notify (database write + change stream), load, swap
//   nodered_flows_restarted_flows{mode} (histogram, per swap): flows (tabs) restarted, mode full or partial
//   nodered_log_messages_total{level}, nodered_errors_caught_total
//   nodered_debug_messages_forwarded_total, nodered_debug_bytes_forwarded_total (workers),
//   nodered_debug_messages_dropped_total{reason} (workers: rate, bytes, full, write; editor: slow),
//   nodered_debug_messages_relayed_total{kind}, nodered_editor_sessions_closed_total (editor)
//   process_*, nodejs_* (prom-client's defaults: memory, CPU, event-loop lag, GC, handles)
const { EventEmitter } = require('events');
const client = require('prom-client');

const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-nodered-router'];
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SWAP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LOG_LEVELS = { 20: 'error', 30: 'warn', 10: 'fatal' };

class Metrics {
    constructor({ role, instance, storage, gate }) {
        const registry = new client.Registry();
        registry.setDefaultLabels({ role, instance_id: instance });
        this.registry = registry;
        this.processMetrics = false;
        const registers = [registry];
        const counter = (name, help, labelNames = []) => new client.Counter({ name, help, labelNames, registers });
        const gauge = (name, help, collect) => new client.Gauge({ name, help, registers, collect });

        this.requests = counter('nodered_http_requests_total', 'HTTP requests under httpNodeRoot, by HTTP-in route, method and status',
            ['route', 'method', 'status']);
        this.latency = new client.Histogram({
            name: 'nodered_http_request_duration_seconds', help: 'time from a request\'s arrival (held requests included) to its response',
            labelNames: ['route', 'method', 'status'], buckets: LATENCY_BUCKETS, registers,
        });

        // The gate's own counters (lib/gate.js `stats`), read when scraped.
        const fromGate = (name, help, key) => new client.Counter({
            name, help, registers,
            collect() {
                this.reset();
                this.inc(gate.stats[key]);
            },
        });
        fromGate('nodered_gate_requests_held_total', 'requests held while flows were swapped', 'held');
        fromGate('nodered_gate_requests_drained_total', 'requests inside the flows a swap waited for', 'drained');
        fromGate('nodered_gate_drain_timeouts_total', 'swaps that went on before the requests inside the flows were answered', 'drainTimeouts');
        fromGate('nodered_gate_requests_unavailable_total',
            'requests refused (503, or closed for the router to retry) before the first flows started or while stopping', 'unavailable');
        gauge('nodered_gate_requests_held', 'requests held now', function () {
            this.set(gate.held.size);
        });
        gauge('nodered_gate_requests_in_flight', 'requests inside the flows now', function () {
            this.set(gate.inFlight);
        });

        const status = () => storage.statusInfo();
        gauge('nodered_flows_revision', 'revision whose flows run here (-1: none yet)', function () {
            const s = status();
            this.set(s.rev ?? -1);
        });
        gauge('nodered_flows_latest_revision', 'newest revision this instance knows of (-1: none yet)', function () {
            const s = status();
            this.set(s.latestRev ?? -1);
        });
        gauge('nodered_flows_ready', '1 when the newest known revision\'s flows run here (as /healthz)', function () {
            this.set(status().ready ? 1 : 0);
        });
        gauge('nodered_db_reachable', '1 when MongoDB answers this instance', function () {
            this.set(status().dbReachable ? 1 : 0);
        });

        this.reloads = counter('nodered_flows_reloads_total', 'swaps of the running flows for another revision', ['cause', 'result']);
        this.reloadSeconds = new client.Histogram({
            name: 'nodered_flows_reload_duration_seconds', help: 'from the swap starting (requests held) to the new flows started',
            labelNames: ['cause'], buckets: SWAP_BUCKETS, registers,
        });
        this.syncLag = new client.Histogram({
            name: 'nodered_flows_sync_lag_seconds', help: 'from a revision saved by the editor to its flows started here',
            buckets: SWAP_BUCKETS, registers,
        });
        this.syncPhase = new client.Histogram({
            name: 'nodered_flows_sync_phase_seconds', help: 'the way of a deploy to this instance, by part (editor, notify, load, swap)',
            labelNames: ['phase'], buckets: SWAP_BUCKETS, registers,
        });
        this.restartedFlows = new client.Histogram({
            name: 'nodered_flows_restarted_flows', help: 'flows (tabs) restarted per swap, by mode (full or partial)',
            labelNames: ['mode'], buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200], registers,
        });
        this.lastSyncLag = gauge('nodered_flows_last_sync_lag_seconds', 'sync lag of the last revision swapped in here (0 before any)');

        this.logMessages = counter('nodered_log_messages_total', 'warnings and errors logged (nodes and runtime)', ['level']);
        this.caught = counter('nodered_errors_caught_total', 'node errors handled by a catch node');
        // Debug forwarding counts in plain numbers (lib/debug_forwarder.js `totals` on a worker,
        // lib/comms_guard.js `totals` on the editor), read here.
        this.debugTotals = null;
        const metrics = this;
        const fromDebug = (name, help, key) => new client.Counter({
            name, help, registers,
            collect() {
                this.reset();
                if (metrics.debugTotals) this.inc(metrics.debugTotals[key] || 0);
            },
        });
        fromDebug('nodered_debug_messages_forwarded_total', 'debug messages written for the editor\'s sidebar', 'forwarded');
        fromDebug('nodered_debug_bytes_forwarded_total', 'bytes of debug messages written for the editor\'s sidebar', 'bytes');
        fromDebug('nodered_editor_sessions_closed_total', 'editor sessions (/comms) closed for being too far behind', 'cut');
        new client.Counter({
            name: 'nodered_debug_messages_dropped_total', labelNames: ['reason'], registers,
            help: 'debug messages not forwarded or not shown (rate, bytes: over a worker\'s budget; full: database slow; '
                + 'write: database unreachable; slow: an editor session too far behind)',
            collect() {
                this.reset();
                if (!metrics.debugTotals) return;
                for (const [reason, n] of Object.entries(metrics.debugTotals.dropped)) this.inc({ reason }, n);
            },
        });
        this.relayed = counter('nodered_debug_messages_relayed_total', 'forwarded debug messages published to the editor\'s sidebar', ['kind']);

        this.swapCause = null;
    }

    // Express middleware in front of the HTTP-in endpoints: counts each request once, however it ends.
    countRequests() {
        return (req, res, next) => {
            const start = process.hrtime.bigint();
            let counted = false;
            const done = () => {
                if (counted) return;
                counted = true;
                const route = req.route && typeof req.route.path === 'string' ? req.route.path : 'unmatched';
                const labels = { route, method: req.method, status: res.writableFinished || res.headersSent ? String(res.statusCode) : 'aborted' };
                this.requests.inc(labels);
                this.latency.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
            };
            res.once('finish', done);
            res.once('close', done);
            next();
        };
    }

    // storage.events: reload counts and durations, sync lag.
    follow(events) {
        events.on('swap-starting', (ev) => {
            this.swapCause = ev.cause;
        });
        events.on('flows-started', (ev) => {
            const swapped = ev.previousRev !== null && ev.swapMs !== null && ev.swapMs !== undefined;
            const cause = this.swapCause || 'reload';
            this.swapCause = null;
            if (swapped) {
                this.reloads.inc({ cause, result: 'started' });
                this.reloadSeconds.observe({ cause }, ev.swapMs / 1000);
            }
            // Only for swaps: at boot the revision's age is no lag.
            if (swapped && ev.savedAt instanceof Date) {
                const lag = Math.max(0, (Date.now() - ev.savedAt.getTime()) / 1000);
                this.lastSyncLag.set(lag);
                this.syncLag.observe(lag);
            }
            const t = swapped ? ev.timing : null;
            if (t) {
                for (const [phase, v] of [['editor', t.editorMs], ['notify', t.notifyMs], ['load', t.loadMs], ['swap', t.swapMs]]) {
                    if (v !== null && v !== undefined) this.syncPhase.observe({ phase }, v / 1000);
                }
                if (t.restarted && typeof t.restarted.flows === 'number') this.restartedFlows.observe({ mode: t.mode || 'full' }, t.restarted.flows);
            }
        });
        events.on('start-failed', () => {
            this.reloads.inc({ cause: this.swapCause || 'reload', result: 'failed' });
            this.swapCause = null;
        });
    }

    // Node-RED's log: warnings and errors counted (a handler like the debug node's).
    followLog(redLog) {
        const handler = new EventEmitter();
        handler.on('log', (msg) => {
            const level = LOG_LEVELS[msg.level];
            if (level) this.logMessages.inc({ level });
        });
        redLog.addHandler(handler);
    }

    errorCaught() {
        this.caught.inc();
    }

    followDebug(totals) {
        this.debugTotals = totals;
    }

    debugRelayed(kind) {
        this.relayed.inc({ kind: kind || 'debug' });
    }

    // prom-client's process and Node.js metrics, from the first scrape on: the event-loop delay
    // (nodejs_eventloop_lag_*) is sampled every 200 ms, and each sample wakes the process, which an
    // instance nobody scrapes need not pay (5 wakeups a second; at prom-client's default of 10 ms an idle
    // worker's CPU more than doubled). CPU and memory figures are totals since the process started anyway.
    startProcessMetrics() {
        if (this.processMetrics) return;
        this.processMetrics = true;
        client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 200 });
    }

    // GET /metrics
    handler() {
        return async (req, res) => {
            if (PROXY_HEADERS.some((h) => req.headers[h] !== undefined)) {
                res.status(404).type('text/plain').send('Not Found');
                return;
            }
            try {
                this.startProcessMetrics();
                const body = await this.registry.metrics();
                res.setHeader('Content-Type', this.registry.contentType); // as prom-client states it
                res.end(body);
            } catch (err) {
                res.status(500).type('text/plain').send(err.message);
            }
        };
    }
}

module.exports = { Metrics, PROXY_HEADERS };

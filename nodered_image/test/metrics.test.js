'use strict';
// The launcher's /metrics (lib/metrics.js) apart from the stack: what an instance costs before anyone scrapes it.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Metrics } = require('../lib/metrics');

test('process metrics (and their event-loop sampling timer) start at the first scrape, not before', async () => {
    // Guards an idle worker's CPU: the event-loop delay is sampled every 200 ms, waking the process.
    const gate = { stats: {}, held: new Map(), inFlight: 0 };
    const storage = { statusInfo: () => ({ rev: 1, latestRev: 1, ready: true, state: 'running' }) };
    const m = new Metrics({ role: 'worker', instance: 'w1', storage, gate });
    assert.equal(m.registry.getSingleMetric('nodejs_eventloop_lag_seconds'), undefined);
    let body = '';
    const res = { setHeader() {}, end: (b) => { body = b; }, status() { return this; }, type() { return this; }, send: (b) => { body = b; } };
    await m.handler()({ headers: {} }, res);
    assert.ok(m.registry.getSingleMetric('nodejs_eventloop_lag_seconds'));
    assert.match(body, /^nodejs_eventloop_lag_seconds\{/m);
    assert.match(body, /^process_cpu_seconds_total\{/m);
    m.registry.clear(); // its event-loop histogram would keep the test process alive
});

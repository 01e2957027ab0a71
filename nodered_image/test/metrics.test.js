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

test('the handler itself refuses a request that came through a proxy: 404, no figures', async () => {
    // Guards the handler's own check: server.js makes the same one in front of it, so without this test
    // a handler answering proxied requests (mounted elsewhere, or the launcher's check changed) failed nothing.
    const gate = { stats: {}, held: new Map(), inFlight: 0 };
    const storage = { statusInfo: () => ({ rev: 1, latestRev: 1, ready: true, state: 'running' }) };
    const m = new Metrics({ role: 'worker', instance: 'w1', storage, gate });
    const answer = async (headers) => {
        const out = { status: 200, body: '' };
        const res = {
            setHeader() {}, end: (b) => { out.body = b; },
            status(code) { out.status = code; return this; }, type() { return this; }, send: (b) => { out.body = b; },
        };
        await m.handler()({ headers }, res);
        return out;
    };
    for (const headers of [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-nodered-router': 'nginx' }]) {
        assert.deepEqual(await answer(headers), { status: 404, body: 'Not Found' }, JSON.stringify(headers));
    }
    assert.equal(m.registry.getSingleMetric('nodejs_eventloop_lag_seconds'), undefined, 'no process metrics started for them');
    const direct = await answer({});
    assert.equal(direct.status, 200);
    assert.match(direct.body, /^nodered_flows_revision\b/m);
    m.registry.clear();
});

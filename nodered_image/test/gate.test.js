'use strict';
// The launcher's request gate (lib/gate.js) on a real HTTP server, driven by storage events as the
// storage emits them: every way a request can end leaves the in-flight count right, so the drain a swap
// waits for ends when the last request inside the flows does, never at its timeout.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('http');
const { EventEmitter } = require('events');
const express = require('express');
const { RequestGate } = require('../lib/gate');
const { waitFor } = require('./instances');

const DRAIN_TIMEOUT_MS = 5000;

// A launcher in miniature: the gate in front of /fast (answers at once) and /hang (answers when the
// test says), and the storage events the gate follows.
async function launcher(t, opts = {}) {
    const events = new EventEmitter();
    const logs = [];
    const gate = new RequestGate({ log: (level, m) => logs.push([level, m]), ...opts });
    gate.follow(events);
    const hanging = [];
    const arrived = []; // requests as the server sees them
    const handled = []; // paths the flows were handed
    const app = express();
    app.use('/red-nodes', (req, res, next) => {
        arrived.push(req);
        gate.handle(req, res, next);
    }, (req, res) => {
        handled.push(req.path);
        if (req.path === '/hang') hanging.push(res);
        else res.json({ ok: true });
    });
    const server = http.createServer(app);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
    }));
    const port = server.address().port;
    // A swap as the storage announces it; resolves with how long the drain it waited for took.
    const swap = () => {
        let drained;
        const began = Date.now();
        events.emit('swap-starting', { rev: 2, cause: 'reload', timeoutMs: DRAIN_TIMEOUT_MS, waitFor: (p) => {
            drained = p.then((ok) => ({ ok, ms: Date.now() - began }));
        } });
        return drained;
    };
    const started = () => events.emit('flows-started', { rev: 2, previousRev: 1 });
    // A GET whose fate the test decides: {req, response (promise), error (promise)}.
    const get = (path, headers = {}) => {
        const req = http.get({ host: '127.0.0.1', port, path: `/red-nodes${path}`, headers, agent: false });
        const response = new Promise((resolve) => req.on('response', (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        }));
        const error = new Promise((resolve) => req.on('error', resolve));
        return { req, response, error };
    };
    return { gate, events, logs, hanging, arrived, handled, swap, started, get, port };
}

// A prompt drain: well under the timeout (a leaked count would make it last all of it).
function assertPrompt(drain) {
    assert.equal(drain.ok, true, 'drained, not timed out');
    assert.ok(drain.ms < DRAIN_TIMEOUT_MS / 2, `drain took ${drain.ms} ms`);
}

test('answered: the count goes back to 0 and a swap does not wait', async (t) => {
    const l = await launcher(t);
    l.started();
    const r = l.get('/fast');
    assert.equal((await r.response).status, 200);
    await waitFor(() => l.gate.inFlight === 0, 2000, 'count back to 0');
    assertPrompt(await l.swap());
});

test('answered on one kept-alive connection, request after request: each counted once', async (t) => {
    const l = await launcher(t);
    l.started();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    for (let i = 0; i < 5; i++) {
        const res = await new Promise((resolve) => http.get({ host: '127.0.0.1', port: l.port, path: '/red-nodes/fast', agent }, resolve));
        res.resume();
        await new Promise((resolve) => res.on('end', resolve));
        assert.equal(res.statusCode, 200);
    }
    assert.equal(new Set(l.arrived.map((r) => r.socket)).size, 1, 'one connection carried them all');
    await waitFor(() => l.gate.inFlight === 0, 2000, 'count back to 0');
    assert.equal(l.gate.inFlight, 0, 'never below 0 either');
    assertPrompt(await l.swap());
});

test('aborted while held during a swap: never counted, the next swap does not wait for it', async (t) => {
    const l = await launcher(t);
    l.started();
    assertPrompt(await l.swap());
    const r = l.get('/fast');
    await waitFor(() => l.gate.held.size === 1, 2000, 'request held');
    r.req.destroy(); // the client gives up
    await waitFor(() => l.gate.held.size === 0, 2000, 'held request forgotten');
    l.started();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(l.gate.inFlight, 0);
    assertPrompt(await l.swap());
});

test('aborted while held, released in the same turn its connection closed: not run, not counted', async (t) => {
    const l = await launcher(t);
    l.started();
    await l.swap();
    const r = l.get('/fast');
    await waitFor(() => l.gate.held.size === 1, 2000, 'request held');
    l.arrived[0].socket.destroy(); // gone on the server side, its 'close' not delivered yet
    l.started();
    await waitFor(() => l.gate.inFlight === 0 && l.gate.held.size === 0, 2000, 'nothing counted');
    await r.error;
    assert.deepEqual(l.handled, [], 'the flows never got it');
    assertPrompt(await l.swap());
});

test('aborted while inside the flows: uncounted when the connection closes, a waiting drain ends then', async (t) => {
    const l = await launcher(t);
    l.started();
    const r = l.get('/hang');
    await waitFor(() => l.gate.inFlight === 1 && l.hanging.length === 1, 2000, 'request inside the flows');
    const drain = l.swap();
    setTimeout(() => r.req.destroy(), 100);
    const d = await drain;
    assertPrompt(d);
    assert.ok(d.ms >= 90, 'the drain waited for the request');
    assert.equal(l.gate.inFlight, 0);
});

test('answered while a swap waits: the drain ends with the answer, held requests then go through', async (t) => {
    const l = await launcher(t);
    l.started();
    const slow = l.get('/hang');
    await waitFor(() => l.hanging.length === 1, 2000, 'request inside the flows');
    const drain = l.swap();
    const held = l.get('/fast');
    await waitFor(() => l.gate.held.size === 1, 2000, 'request held');
    l.hanging[0].json({ slow: true });
    assert.equal((await slow.response).status, 200);
    assertPrompt(await drain);
    l.started();
    assert.equal((await held.response).status, 200);
    await waitFor(() => l.gate.inFlight === 0, 2000, 'count back to 0');
});

test('socket destroyed by the peer inside the flows, or by the gate itself: count back to 0', async (t) => {
    const l = await launcher(t);
    // No flows started yet: the router's GET is closed without an answer (nginx tries another worker).
    const routed = l.get('/fast', { 'X-Nodered-Router': 'nginx' });
    assert.equal((await routed.error).code, 'ECONNRESET');
    const direct = l.get('/fast');
    const answer = await direct.response;
    assert.deepEqual([answer.status, answer.headers['retry-after'], JSON.parse(answer.body)], [503, '1', { error: 'flows not started yet' }]);
    assert.equal(l.gate.inFlight, 0);

    l.started();
    const r = l.get('/hang');
    await waitFor(() => l.gate.inFlight === 1, 2000, 'request inside the flows');
    r.req.socket.resetAndDestroy(); // the peer resets the connection
    await waitFor(() => l.gate.inFlight === 0, 2000, 'count back to 0');

    // Held when shutdown begins: the router's request is closed by the gate, never counted.
    await l.swap();
    const late = l.get('/fast', { 'X-Nodered-Router': 'nginx' });
    await waitFor(() => l.gate.held.size === 1, 2000, 'request held');
    const shutdown = l.gate.shutdown(DRAIN_TIMEOUT_MS);
    assert.equal((await late.error).code, 'ECONNRESET');
    assert.equal(await shutdown, true);
    assert.equal(l.gate.inFlight, 0);
});

test('requests released by a swap are drained by a swap that starts at once, not cut off', async (t) => {
    const l = await launcher(t);
    l.started();
    await l.swap();
    const r = l.get('/hang');
    await waitFor(() => l.gate.held.size === 1, 2000, 'request held');
    l.started();
    const drain = l.swap(); // the next revision's swap, in the same turn
    assert.equal(l.gate.inFlight, 1, 'the released request counts before the next swap looks');
    await waitFor(() => l.hanging.length === 1, 2000, 'released request inside the flows');
    l.hanging[0].json({ ok: true });
    assert.equal((await r.response).status, 200);
    assertPrompt(await drain);
});

test('a request held longer than the hold limit goes to the flows; a drain that times out says so', async (t) => {
    const l = await launcher(t, { holdMs: 200 });
    l.started();
    await l.swap(); // never reported started
    const r = l.get('/hang');
    await waitFor(() => l.hanging.length === 1, 2000, 'request let through after the hold limit');
    assert.equal(await l.gate.drain(100), false);
    assert.ok(l.logs.some(([level, m]) => level === 'warn' && /1 request\(s\) still inside the flows after 100 ms/.test(m)));
    l.hanging[0].json({ ok: true });
    assert.equal((await r.response).status, 200);
    await waitFor(() => l.gate.inFlight === 0, 2000, 'count back to 0');
});

test('new flows fail and the worker falls back: requests stay held until the fallback starts, never a 404', async (t) => {
    const l = await launcher(t);
    l.started();
    await l.swap();
    const r = l.get('/fast');
    await waitFor(() => l.gate.held.size === 1, 2000, 'request held');
    l.events.emit('start-failed', { rev: 2, reason: 'missing node types: x', fallbackRev: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(l.gate.held.size, 1, 'still held while the fallback loads');
    assert.deepEqual(l.handled, []);
    l.events.emit('swap-starting', { rev: 1, cause: 'fallback', timeoutMs: DRAIN_TIMEOUT_MS, waitFor: () => {} });
    l.events.emit('flows-started', { rev: 1, previousRev: 1 });
    assert.equal((await r.response).status, 200);
    assert.deepEqual(l.handled, ['/fast']);
});

test('no flows may take requests (none started, or credentials do not decrypt): turned away like before the first start', async (t) => {
    const l = await launcher(t);
    l.started();
    await l.swap();
    const held = l.get('/fast');
    await waitFor(() => l.gate.held.size === 1, 2000, 'request held');
    l.events.emit('serving', { serving: false, reason: 'missing node types: x' });
    l.events.emit('start-failed', { rev: 2, reason: 'missing node types: x', fallbackRev: null });
    const answer = await held.response;
    assert.deepEqual([answer.status, JSON.parse(answer.body)], [503, { error: 'not serving: missing node types: x' }]);
    const routed = l.get('/fast', { 'X-Nodered-Router': 'nginx' });
    assert.equal((await routed.error).code, 'ECONNRESET', 'the router tries another worker');
    assert.deepEqual(l.handled, []);
    l.events.emit('serving', { serving: true, reason: null });
    assert.equal((await l.get('/fast').response).status, 200);
});

test('a worker still starting: router POSTs wait for its first flows (up to the hold limit), the rest is turned away at once', async (t) => {
    // Guards: a client's POST through the router getting 503 "flows not started yet" from a worker nginx
    // tried again while it was still loading after a restart (nginx never resends a POST).
    const l = await launcher(t, { holdMs: 1500 });
    const post = (headers) => {
        const req = http.request({ host: '127.0.0.1', port: l.port, path: '/red-nodes/fast', method: 'POST', headers, agent: false });
        const response = new Promise((resolve) => req.on('response', (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode, body }));
        }));
        req.end('{}');
        return response;
    };
    const waiting = post({ 'X-Nodered-Router': 'nginx', 'Content-Type': 'application/json' });
    await waitFor(() => l.gate.held.size === 1, 2000, 'router POST held');
    assert.equal((await post({ 'Content-Type': 'application/json' })).status, 503, 'a direct client is told at once');
    assert.equal((await l.get('/fast', { 'X-Nodered-Router': 'nginx' }).error).code, 'ECONNRESET', 'a GET goes to another worker');
    l.started();
    assert.equal((await waiting).status, 200, 'the held POST runs once the flows started');
    assert.equal(l.gate.inFlight, 0);

    // A worker that does not start within the hold limit answers the POST 503 then.
    const slow = await launcher(t, { holdMs: 300 });
    const req = http.request({ host: '127.0.0.1', port: slow.port, path: '/red-nodes/fast', method: 'POST',
        headers: { 'X-Nodered-Router': 'nginx' }, agent: false });
    const answer = new Promise((resolve) => req.on('response', (res) => resolve(res.statusCode)));
    req.end();
    assert.equal(await answer, 503);
    assert.deepEqual(slow.handled, []);
});

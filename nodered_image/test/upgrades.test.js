'use strict';
// The launcher's answers to requests with an Upgrade header (lib/upgrades.js), on a real HTTP server
// with listeners standing in for Node-RED's: its runtime (which never answers), the editor's /comms and
// a websocket-in endpoint. Every request gets an answer at once, whichever listener (if any) takes it.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('http');
const net = require('net');
const { EventEmitter } = require('events');
const express = require('express');
const { RequestGate } = require('../lib/gate');
const { Refusals } = require('../lib/refuse');
const { Upgrades } = require('../lib/upgrades');
const { parseTrustedProxies } = require('../lib/client');
const { waitFor } = require('./instances');

const WS_HEADERS = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

// A websocket handshake answer, as the ws library writes it.
function accept(socket) {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
}

async function launcher(t, { role = 'worker', authTimeoutMs = 300, started = true } = {}) {
    const events = new EventEmitter();
    const logs = [];
    const log = (level, m) => logs.push(m);
    const gate = new RequestGate({ log, holdMs: 2000 });
    gate.follow(events);
    const app = express();
    app.use('/red-nodes', (req, res, next) => gate.handle(req, res, next), (req, res) => res.json({ flow: req.path, upgrade: req.headers.upgrade || null }));
    const server = http.createServer(app);
    const refusals = new Refusals({ log, trustedProxies: parseTrustedProxies('127.0.0.1') });
    // Node-RED's runtime: takes nothing, answers nothing.
    server.on('upgrade', () => {});
    new Upgrades({ app, role, httpNodeRoot: '/red-nodes', gate, refusals, log, authTimeoutMs }).install(server);
    const endpoints = new Set(['/red-nodes/ws']); // websocket-in endpoints of the running flows
    const comms = []; // the editor's sockets, as its comms listener keeps them
    server.on('upgrade', (req, socket) => {
        const path = req.url.split('?')[0];
        if (role === 'worker' && endpoints.has(path)) accept(socket);
        if (role === 'editor' && path === '/comms') {
            accept(socket);
            comms.push(socket);
            socket.on('data', (d) => {
                if (d.includes('good-token')) socket.write(Buffer.concat([Buffer.from([0x81, 13]), Buffer.from('{"auth":"ok"}')]));
            });
        }
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sockets = []; // the test's clients
    const accepted = new Set(); // the server's side, upgraded ones included (closeAllConnections skips those)
    server.on('connection', (s) => accepted.add(s));
    t.after(() => new Promise((resolve) => {
        for (const s of [...sockets, ...accepted]) s.destroy();
        server.close(resolve);
    }));
    if (started) events.emit('flows-started', { rev: 1, previousRev: 0 });
    const port = server.address().port;

    // Sends raw request text from `source`; resolves with {status, headers, body, socket} once a whole
    // answer (or a 101) arrived, or {status: null} when the connection closed without one.
    const send = (text, source = '127.0.0.1') => new Promise((resolve) => {
        const socket = net.connect({ port, host: '127.0.0.1', localAddress: source });
        sockets.push(socket);
        let data = '';
        let done = false;
        const finish = (v) => {
            if (!done) {
                done = true;
                resolve({ ...v, socket });
            }
        };
        socket.on('data', (chunk) => {
            data += chunk;
            const end = data.indexOf('\r\n\r\n');
            if (end < 0) return;
            const [statusLine, ...lines] = data.slice(0, end).split('\r\n');
            const headers = Object.fromEntries(lines.map((l) => [l.split(':')[0].toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
            const status = Number(statusLine.split(' ')[1]);
            const body = data.slice(end + 4);
            if (status === 101 || body.length >= Number(headers['content-length'] || 0)) finish({ status, headers, body });
        });
        socket.on("close", () => finish({ status: null }));
        socket.on('error', () => {});
        socket.write(text);
    });
    return { gate, events, logs, endpoints, comms, send, port };
}

const get = (path, headers = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;

test('an h2c upgrade is served as a plain request; with a body it gets 400', async (t) => {
    const l = await launcher(t);
    const h2c = 'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';
    const plain = await l.send(get('/red-nodes/x', h2c));
    assert.equal(plain.status, 200);
    assert.deepEqual(JSON.parse(plain.body), { flow: '/x', upgrade: null });
    const withBody = await l.send(`POST /red-nodes/x HTTP/1.1\r\nHost: x\r\n${h2c}Content-Length: 2\r\n\r\nhi`);
    assert.equal(withBody.status, 400);
    assert.match(JSON.parse(withBody.body).error, /upgrade to "h2c" is not supported/);
});

test('a websocket nobody takes gets 404 JSON at once, also on a kept-alive connection', async (t) => {
    const l = await launcher(t);
    const began = Date.now();
    const r = await l.send(get('/red-nodes/x', WS_HEADERS));
    assert.equal(r.status, 404);
    assert.equal(JSON.parse(r.body).error, 'no websocket endpoint at this path');
    assert.ok(Date.now() - began < 1000);
    // The router sends it on a connection that already carried answers.
    const reused = await l.send(`${get('/red-nodes/a', 'Connection: keep-alive\r\n')}${get('/red-nodes/b', WS_HEADERS)}`);
    assert.equal(reused.status, 200); // the first answer; the second follows on the same socket
    await waitFor(() => l.logs.filter((m) => /refused 404 GET \/red-nodes\/b/.test(m)).length === 1, 2000, 'the 404 on the reused connection');
    assert.equal((await l.send(get('/red-nodes/ws', WS_HEADERS))).status, 101, 'an endpoint still takes its own');
});

test('a websocket arriving while flows swap waits for the new flows, whose endpoint takes it', async (t) => {
    const l = await launcher(t);
    let drained;
    l.events.emit('swap-starting', { rev: 2, cause: 'deploy', timeoutMs: 1000, waitFor: (p) => (drained = p) });
    await drained;
    l.endpoints.delete('/red-nodes/ws'); // the old flows are stopped
    const pending = l.send(get('/red-nodes/ws', WS_HEADERS));
    await new Promise((resolve) => setTimeout(resolve, 100));
    l.endpoints.add('/red-nodes/ws');
    l.events.emit('flows-started', { rev: 2, previousRev: 1 });
    assert.equal((await pending).status, 101);
});

test('before the flows start: the router\'s websocket GET is closed for another worker, others get 503', async (t) => {
    const l = await launcher(t, { started: false });
    l.endpoints.clear(); // no flows, no websocket-in endpoints
    assert.equal((await l.send(get('/red-nodes/ws', `${WS_HEADERS}X-Nodered-Router: nginx\r\n`))).status, null);
    const direct = await l.send(get('/red-nodes/ws', WS_HEADERS));
    assert.deepEqual([direct.status, direct.headers['retry-after']], [503, '1']);
});

test('the editor answers no websocket under httpNodeRoot', async (t) => {
    const l = await launcher(t, { role: 'editor' });
    const r = await l.send(get('/RED-NODES/ws', WS_HEADERS));
    assert.deepEqual([r.status, JSON.parse(r.body).error], [404, 'the editor serves no flow endpoints']);
});

test('editor websockets that do not log in are closed after the timeout; logged-in ones stay', async (t) => {
    const l = await launcher(t, { role: 'editor', authTimeoutMs: 300 });
    const idle = await l.send(get('/comms', WS_HEADERS), '127.0.0.2');
    const authed = await l.send(get('/comms', WS_HEADERS), '127.0.0.2');
    assert.deepEqual([idle.status, authed.status], [101, 101]);
    authed.socket.write('good-token');
    const closed = new Promise((resolve) => idle.socket.on('close', resolve));
    let frame = Buffer.alloc(0);
    idle.socket.on('data', (d) => (frame = Buffer.concat([frame, Buffer.from(d)])));
    const began = Date.now();
    await closed;
    assert.ok(Date.now() - began >= 200);
    assert.equal(frame[0], 0x88, 'a close frame first');
    assert.equal(frame.readUInt16BE(2), 1008);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(authed.socket.destroyed, false, 'the logged-in socket is still open');
    assert.equal(l.logs.filter((m) => /closed GET \/comms from 127\.0\.0\.2/.test(m)).length, 1);
});

test('one address has at most 10 editor websockets waiting to log in; other addresses are not affected', async (t) => {
    const l = await launcher(t, { role: 'editor', authTimeoutMs: 5000 });
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await l.send(get('/comms', WS_HEADERS), '127.0.0.3')).status);
    assert.deepEqual(statuses, [...Array(10).fill(101), 429, 429]);
    assert.equal((await l.send(get('/comms', WS_HEADERS), '127.0.0.4')).status, 101);
    // Through the router (trusted), the address is the one it forwarded.
    const forwarded = await l.send(get('/comms', `${WS_HEADERS}X-Forwarded-For: 127.0.0.3\r\n`), '127.0.0.1');
    assert.equal(forwarded.status, 429);
    // A socket that closed no longer counts.
    l.comms[0].destroy();
    await waitFor(async () => (await l.send(get('/comms', WS_HEADERS), '127.0.0.3')).status === 101, 2000, 'a free slot');
});

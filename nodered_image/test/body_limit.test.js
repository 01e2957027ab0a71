'use strict';
// The one body limit (lib/body_limit.js) in front of body parsers like Node-RED's: over it, 413 JSON
// before any parser reads the body, for a Content-Length and a chunked body alike; under it, the
// parsers get the whole body unchanged.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('http');
const net = require('net');
const express = require('express');
const { bodyLimit } = require('../lib/body_limit');
const { Refusals } = require('../lib/refuse');

const LIMIT = 64 * 1024;

async function server(t) {
    const logs = [];
    const refusals = new Refusals({ log: (level, m) => logs.push(m) });
    const parsed = [];
    const app = express();
    app.use('/red-nodes', bodyLimit({ limitBytes: LIMIT, refusals, lingerMs: 2000 }), express.raw({ type: () => true, limit: '10mb' }), (req, res) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        parsed.push(body.length);
        res.json({ bytes: body.length, sum: body.reduce((a, b) => a + b, 0) });
    });
    const s = http.createServer(app);
    await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => {
        s.closeAllConnections();
        s.close(resolve);
    }));
    return { port: s.address().port, logs, parsed };
}

// Raw request; resolves with the answer's status and JSON body (or null when there was none).
function send(port, head, chunks) {
    return new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let data = '';
        socket.on('data', (c) => (data += c));
        socket.on('error', () => {});
        socket.on('close', () => {
            const end = data.indexOf('\r\n\r\n');
            if (end < 0) return resolve(null);
            const body = data.slice(end + 4);
            resolve({ status: Number(data.split(' ')[1]), body: body ? JSON.parse(body) : null });
        });
        socket.write(head);
        (async () => {
            for (const c of chunks) {
                if (socket.destroyed) return;
                socket.write(c);
                await new Promise((r) => setImmediate(r));
            }
        })();
    });
}

const chunked = (buf, size = 8192) => {
    const out = [];
    for (let i = 0; i < buf.length; i += size) {
        const part = buf.subarray(i, i + size);
        out.push(Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]));
    }
    out.push(Buffer.from('0\r\n\r\n'));
    return out;
};

test('a Content-Length over the limit gets 413 JSON naming it, unread, and the client gets the answer', async (t) => {
    const s = await server(t);
    const body = Buffer.alloc(LIMIT + 1, 1);
    const r = await send(s.port, `POST /red-nodes/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`, [body]);
    assert.equal(r.status, 413);
    assert.deepEqual({ ...r.body, requestId: 'x' }, { error: 'request body too large', limit: '0.06 MiB', limitBytes: LIMIT, requestId: 'x' });
    assert.deepEqual(s.parsed, []);
    assert.equal(s.logs.filter((m) => m.startsWith('refused 413 POST /red-nodes/x from 127.0.0.1')).length, 1);
});

test('a chunked body over the limit gets 413 at the first byte past it; the parser never runs', async (t) => {
    const s = await server(t);
    const r = await send(s.port, 'POST /red-nodes/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n', chunked(Buffer.alloc(LIMIT * 4, 1)));
    assert.equal(r.status, 413);
    assert.deepEqual(s.parsed, []);
});

test('a chunked body at the limit reaches the parser whole and in order', async (t) => {
    const s = await server(t);
    const body = Buffer.from(Array.from({ length: LIMIT }, (_, i) => i % 251));
    const r = await send(s.port, 'POST /red-nodes/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n', chunked(body, 1000));
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { bytes: LIMIT, sum: body.reduce((a, b) => a + b, 0) });
});

test('a Content-Length at the limit, and no body at all, go through', async (t) => {
    const s = await server(t);
    const ok = await send(s.port, `POST /red-nodes/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${LIMIT}\r\n\r\n`, [Buffer.alloc(LIMIT, 2)]);
    assert.deepEqual(ok, { status: 200, body: { bytes: LIMIT, sum: LIMIT * 2 } });
    const none = await send(s.port, 'GET /red-nodes/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', []);
    assert.equal(none.status, 200);
});

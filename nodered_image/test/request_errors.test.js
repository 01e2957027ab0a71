'use strict';
// lib/request_errors.js in a process of its own (it installs process-wide handlers): an error nothing
// caught in a request's path answers that request 500 and the process keeps serving; one outside any
// request still ends the process, logged.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const net = require('net');
const { spawn } = require('child_process');

// Routes that fail the ways Node-RED's code can: a promise nobody awaits, a throw in a later callback,
// in a listener of the request's body, passed to next(); and an upgrade whose socket listener throws.
const SERVER = `
const http = require('http');
const express = require('express');
const { RequestErrors } = require(${JSON.stringify(path.join(__dirname, '../lib/request_errors'))});
const { Refusals } = require(${JSON.stringify(path.join(__dirname, '../lib/refuse'))});
const log = (level, m) => process.stdout.write(level + ' ' + m.split('\\n')[0] + '\\n');
const errors = new RequestErrors({ refusals: new Refusals({ log }), log });
errors.install();
const app = express();
app.use(errors.track());
app.get('/ok', (req, res) => res.json({ ok: true }));
app.get('/rejects', () => { Promise.resolve().then(() => { throw new Error('a promise nobody awaits'); }); });
app.get('/throws-later', () => { setTimeout(() => { throw new Error('thrown in a timer'); }, 5); });
app.post('/body-listener', (req) => { req.on('data', () => { throw new Error('thrown by a body listener'); }); });
app.get('/next', (req, res, next) => next(new Error('passed on')));
app.get('/answered', (req, res) => { res.json({ ok: true }); Promise.reject(new Error('after the answer')); });
app.use(errors.handler());
const server = http.createServer(app);
server.prependListener('upgrade', (req, socket) => errors.trackSocket(req, socket));
server.on('upgrade', (req, socket) => {
    socket.on('data', () => { throw new Error('a websocket message handler'); });
    socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n\\r\\n');
});
process.stdin.on('data', () => Promise.reject(new Error('no request at all')));
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

async function start(t) {
    const child = spawn(process.execPath, ['-e', SERVER], { cwd: path.join(__dirname, '..'), stdio: ['pipe', 'pipe', 'inherit'] });
    t.after(() => child.kill());
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    let code = null;
    const exited = new Promise((resolve) => child.on('exit', (c) => resolve((code = c))));
    while (!/port \d+/.test(out)) {
        assert.equal(code, null, 'the server exited before it listened');
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const url = `http://127.0.0.1:${out.match(/port (\d+)/)[1]}`;
    return { child, url, exited, output: () => out };
}

test('an uncaught error in a request answers it 500 and the process serves on', async (t) => {
    const s = await start(t);
    const cases = [['GET', '/rejects'], ['GET', '/throws-later'], ['POST', '/body-listener'], ['GET', '/next']];
    for (const [method, route] of cases) {
        const r = await fetch(s.url + route, { method, body: method === 'POST' ? 'x'.repeat(10) : undefined });
        assert.equal(r.status, 500, route);
        const body = await r.json();
        assert.equal(body.error, 'internal error');
        assert.match(body.requestId, /^[\w-]+$/);
        assert.equal((await fetch(`${s.url}/ok`)).status, 200, `serving after ${route}`);
    }
    // An error after the answer went out: logged, the answer stands.
    assert.equal((await fetch(`${s.url}/answered`)).status, 200);
    assert.equal((await fetch(`${s.url}/ok`)).status, 200);
    const lines = s.output().split('\n');
    for (const m of ['a promise nobody awaits', 'thrown in a timer', 'thrown by a body listener', 'passed on', 'after the answer']) {
        assert.ok(lines.some((l) => l.startsWith('error ') && / from 127\.0\.0\.1 \(request [\w-]+\): Error: /.test(l) && l.includes(m)), m);
    }
});

test('a throw in an upgraded socket\'s listener closes that socket only', async (t) => {
    const s = await start(t);
    const socket = net.connect(Number(new URL(s.url).port), '127.0.0.1');
    socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve)); // upgraded
    socket.write('a frame');
    await new Promise((resolve) => socket.on('close', resolve));
    assert.equal((await fetch(`${s.url}/ok`)).status, 200);
    assert.ok(s.output().includes('uncaught exception in GET /ws'));
});

test('an error outside any request still ends the process, logged', async (t) => {
    const s = await start(t);
    s.child.stdin.write('go\n');
    assert.equal(await s.exited, 1);
    assert.match(s.output(), /error unhandled rejection outside any request, exiting: Error: no request at all/);
});

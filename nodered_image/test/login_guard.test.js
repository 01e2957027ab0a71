'use strict';
// The login lockout per client address (lib/login_guard.js) in front of a stand-in for Node-RED's
// token endpoint: wrong passwords count against the address that sent them, never against the user.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('http');
const express = require('express');
const { LoginGuard } = require('../lib/login_guard');
const { Refusals } = require('../lib/refuse');
const { parseTrustedProxies } = require('../lib/client');
const { bcrypt } = require('../lib/bcrypt');

const HASH = bcrypt().hashSync('right-password', 4);

async function editor(t, opts = {}) {
    const logs = [];
    const log = (level, m) => logs.push(m);
    const refusals = new Refusals({ log, trustedProxies: parseTrustedProxies('127.0.0.1') });
    const guard = new LoginGuard({ users: [{ username: 'admin', password: HASH }], refusals, log, ...opts });
    const reached = []; // what Node-RED's endpoint got
    const app = express();
    app.use('/', guard.middleware(), (req, res) => {
        reached.push(req.body);
        res.json({ access_token: 'token' });
    });
    const server = http.createServer(app);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
    }));
    const port = server.address().port;
    // One POST of `body` (a string, sent as `type`) from `source`; the answer with its JSON.
    const post = (body, { source = '127.0.0.1', forwarded, path = '/auth/token', type = 'application/x-www-form-urlencoded' } = {}) =>
        new Promise((resolve, reject) => {
            const headers = { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) };
            if (forwarded) headers['X-Forwarded-For'] = forwarded;
            const req = http.request({ port, host: '127.0.0.1', localAddress: source, method: 'POST', path, headers, agent: false }, (res) => {
                let text = '';
                res.on('data', (c) => (text += c));
                res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: JSON.parse(text) }));
            });
            req.on('error', reject);
            req.end(body);
        });
    const login = (password, { username = 'admin', ...opts } = {}) =>
        post(new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username, password }).toString(), opts);
    return { login, post, logs, reached };
}

test('5 wrong passwords lock out that address only, the right one included', async (t) => {
    const e = await editor(t);
    const wrong = [];
    for (let i = 0; i < 6; i++) wrong.push(await e.login(`guess-${i}`, { source: '127.0.0.2' }));
    assert.deepEqual(wrong.map((r) => r.status), [403, 403, 403, 403, 403, 429]);
    assert.deepEqual(wrong[0].body, { error: 'invalid_grant', error_description: 'Invalid resource owner credentials' });
    assert.ok(Number(wrong[5].headers['retry-after']) > 590);
    assert.equal((await e.login('right-password', { source: '127.0.0.2' })).status, 429);
    assert.equal((await e.login('right-password', { source: '127.0.0.3' })).status, 200);
    assert.equal(e.reached.length, 1, 'only the right password reached Node-RED');
    assert.equal(e.logs.filter((m) => m.startsWith('failed login for "admin" from 127.0.0.2')).length, 5);
});

test('an unknown user counts as a failure too; a success clears the address\'s count', async (t) => {
    const e = await editor(t);
    for (let i = 0; i < 4; i++) assert.equal((await e.login('x', { username: 'root', source: '127.0.0.4' })).status, 403);
    assert.equal((await e.login('right-password', { source: '127.0.0.4' })).status, 200);
    for (let i = 0; i < 4; i++) assert.equal((await e.login('x', { source: '127.0.0.4' })).status, 403);
    assert.equal((await e.login('right-password', { source: '127.0.0.4' })).status, 200);
});

test('through the trusted proxy the forwarded address counts; from anyone else the header is ignored', async (t) => {
    const e = await editor(t);
    for (let i = 0; i < 5; i++) await e.login('x', { source: '127.0.0.1', forwarded: '203.0.113.5' });
    assert.equal((await e.login('right-password', { source: '127.0.0.1', forwarded: '203.0.113.5' })).status, 429);
    assert.equal((await e.login('right-password', { source: '127.0.0.1', forwarded: '203.0.113.6' })).status, 200);
    // A direct client naming someone else's address counts against its own.
    for (let i = 0; i < 5; i++) await e.login('x', { source: '127.0.0.5', forwarded: '203.0.113.7' });
    assert.equal((await e.login('right-password', { source: '127.0.0.5' })).status, 429);
    assert.equal((await e.login('right-password', { source: '127.0.0.1', forwarded: '203.0.113.7' })).status, 200);
});

test('the lockout ends when the oldest failure leaves the window; addresses remembered are bounded', async (t) => {
    const e = await editor(t, { windowMs: 400, maxAddresses: 3 });
    for (let i = 0; i < 5; i++) await e.login('x', { source: '127.0.0.6' });
    assert.equal((await e.login('right-password', { source: '127.0.0.6' })).status, 429);
    await new Promise((resolve) => setTimeout(resolve, 450));
    assert.equal((await e.login('right-password', { source: '127.0.0.6' })).status, 200);
    for (let i = 0; i < 5; i++) await e.login('x', { source: '127.0.0.7' });
    for (const source of ['127.0.0.8', '127.0.0.9', '127.0.0.10']) await e.login('x', { source });
    // 127.0.0.7 was forgotten first: its failures no longer lock it out.
    assert.equal((await e.login('right-password', { source: '127.0.0.7' })).status, 200);
});

test('anything but a password login, or another path, goes to Node-RED untouched', async (t) => {
    const e = await editor(t);
    assert.equal((await e.login('x', { path: '/auth/revoke' })).status, 200);
    assert.equal(e.reached.length, 1);
});

const LOGIN = { client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: 'right-password' };

test('a login field that is no string is refused 400, counted against the address, and never reaches Node-RED', async (t) => {
    const e = await editor(t);
    const form = 'client_id=node-red-admin&grant_type=password&scope=*';
    const forms = [`${form}&username=admin&password[]=x`, `${form}&username[]=admin&password=right-password`,
        `${form}&username=admin&password[a]=x`, `${form}&username=admin&password=x&password=y`];
    const json = [];
    for (const field of Object.keys(LOGIN)) for (const value of [{ a: 1 }, 12345, null, true, ['admin']]) json.push({ ...LOGIN, [field]: value });
    let source = 10;
    for (const body of forms) {
        const r = await e.post(body, { source: `127.0.1.${source++}` });
        assert.equal(r.status, 400, body);
        assert.match(r.body.error, /^login field "(password|username)" must be a string, not (array|object): failed login 1 of 5/);
    }
    for (const body of json) {
        const r = await e.post(JSON.stringify(body), { source: `127.0.1.${source++}`, type: 'application/json' });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(r.body.error, /^login field "\w+" must be a string, not (object|number|null|boolean|array)/);
    }
    assert.equal((await e.post('[1, 2]', { type: 'application/json' })).status, 400);
    assert.equal(e.reached.length, 0, 'nothing malformed reached Node-RED');
    assert.ok(e.logs.some((m) => /^refused 400 POST \/auth\/token from 127\.0\.1\.10 \(request [\w-]+\): login field "password"/.test(m)));
    assert.equal((await e.login('right-password', { source: '127.0.0.1' })).status, 200);
});

test('malformed logins lock the address out as wrong passwords do; the admin elsewhere is not', async (t) => {
    const e = await editor(t);
    const form = 'client_id=node-red-admin&grant_type=password&scope=*';
    const bodies = [`${form}&username[]=admin&password=wrong`, `${form}&username=admin`, `${form}&password=x`];
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await e.post(bodies[i % 3], { source: '127.0.0.20' })).status);
    assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429]);
    assert.equal((await e.login('right-password', { source: '127.0.0.20' })).status, 429);
    assert.equal((await e.login('right-password', { source: '127.0.0.21' })).status, 200);
    assert.equal((await e.login('right-password', { source: '127.0.0.22' })).status, 200);
    assert.equal(e.reached.length, 2, 'only the two right logins reached Node-RED');
});

'use strict';
// db_setup.js, the one-off setup the aws target runs with DocumentDB's admin login before the editor starts,
// run as the image runs it (node db_setup.js) against SecantusDB: it provisions the users, then SecantusDB
// restarts with authentication on and the application user must reach its own database and nothing else.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFile } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { findSecantusd, freePort, sleep, MongoClient } = require('./helpers');

const SCRIPT = path.join(__dirname, '..', 'db_setup.js');
const DB = 'nodered';
const USER = 'nodered-app';

// SecantusDB on `dir`, with or without authentication: {url, stop()}.
async function secantus(dir, auth) {
    const bin = findSecantusd();
    const port = await freePort();
    const args = ['--host', '127.0.0.1', '--port', String(port), '--storage-path', dir, '--log-level', 'WARNING'];
    if (auth) args.push('--auth');
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const url = `mongodb://127.0.0.1:${port}/?directConnection=true`;
    const deadline = Date.now() + 30000;
    for (;;) {
        const c = new MongoClient(url, { serverSelectionTimeoutMS: 500 });
        try {
            await c.connect();
            await c.db('admin').command({ ping: 1 });
            break;
        } catch (err) {
            if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`secantusd-py did not start: ${err.message}`, { cause: err });
            await sleep(100);
        } finally {
            await c.close().catch(() => {});
        }
    }
    return {
        port,
        url,
        stop: async () => {
            proc.kill('SIGTERM');
            await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
        },
    };
}

function runSetup(env) {
    return new Promise((resolve) => {
        execFile(process.execPath, [SCRIPT], { env: { PATH: process.env.PATH, ...env }, timeout: 60000 },
            (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
    });
}

const appUrl = (port, password) => `mongodb://${USER}:${password}@127.0.0.1:${port}/${DB}?directConnection=true&authSource=admin`;

test('the application user gets readWrite on its database only; a second run resets its password', async (t) => {
    // Guards: the aws target's Node-RED tasks logged in as the DocumentDB master user, which may do anything
    // on the cluster; the app user must not.
    if (!findSecantusd()) throw new Error('secantusd-py is missing: install the dev requirements (make install)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-setup-'));
    const clients = [];
    let server = null;
    t.after(async () => {
        for (const c of clients) await c.close().catch(() => {});
        if (server) await server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    server = await secantus(dir, false);
    try {
        const first = await runSetup({ MONGO_ADMIN_URL: server.url, MONGO_URL: appUrl(server.port, 'first-password'), MONGO_DB: DB });
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /user nodered-app created: readWrite on nodered only/);
        assert.match(first.stdout, /change streams on nodered verified/);
        const second = await runSetup({ MONGO_ADMIN_URL: server.url, MONGO_URL: appUrl(server.port, 'second-password'), MONGO_DB: DB });
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stdout, /user nodered-app updated/);
        // An admin login the setup can use for later runs once authentication is on.
        const admin = new MongoClient(server.url);
        await admin.db('admin').command({ createUser: 'root', pwd: 'root-password', roles: ['root'] });
        const { users } = await admin.db('admin').command({ usersInfo: { user: USER, db: 'admin' } });
        await admin.close();
        assert.equal(users.length, 1);
        assert.deepEqual(users[0].roles.map((r) => [r.role, r.db]), [['readWrite', DB]]);
    } finally {
        await server.stop();
        server = null;
    }

    server = await secantus(dir, true);
    const app = new MongoClient(appUrl(server.port, 'second-password'), { serverSelectionTimeoutMS: 3000 });
    clients.push(app);
    await app.db(DB).collection('flows').insertOne({ _id: 1, flows: [] });
    assert.equal((await app.db(DB).collection('flows').findOne({ _id: 1 }))._id, 1);
    await assert.rejects(app.db('other').collection('x').insertOne({ a: 1 }), (err) => err.code === 13, 'another database is off limits');
    await assert.rejects(app.db('admin').command({ createUser: 'x', pwd: 'y', roles: [] }), (err) => err.code === 13);

    const old = new MongoClient(appUrl(server.port, 'first-password'), { serverSelectionTimeoutMS: 3000 });
    clients.push(old);
    await assert.rejects(old.db(DB).command({ ping: 1 }), /auth/i, 'the old password no longer works');

    // With authentication on, a run with the admin login still succeeds (the password unchanged).
    const adminUrl = `mongodb://root:root-password@127.0.0.1:${server.port}/?directConnection=true&authSource=admin`;
    const again = await runSetup({ MONGO_ADMIN_URL: adminUrl, MONGO_URL: appUrl(server.port, 'second-password'), MONGO_DB: DB });
    assert.equal(again.code, 0, again.stderr);
});

test('a connection string without credentials is refused with exit code 1', async () => {
    const result = await runSetup({ MONGO_ADMIN_URL: 'mongodb://127.0.0.1:1/', MONGO_URL: 'mongodb://127.0.0.1:1/nodered' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /database setup failed: MONGO_URL .* names no user and password/);
});

test('it reads exactly the environment contract.json declares for it (dbSetup), which the aws target builds from', async () => {
    // Guards: the aws target built the setup container's environment by hand; a variable the script reads
    // that the target does not set (or the other way round) would surface only in a failed first deploy.
    const contract = require('../../contract.json');
    const { main } = require('../db_setup');
    const reads = new Set();
    const values = { MONGO_ADMIN_URL: 'not-a-mongodb-url', MONGO_URL: 'mongodb://u:p@127.0.0.1:1/db' };
    const env = new Proxy(values, { get: (v, key) => (reads.add(key), v[key]) });
    await assert.rejects(main(env, { info() {}, warn() {} }), /Invalid scheme/, 'stops before connecting');
    assert.deepEqual([...reads].sort(), [...contract.dbSetup.secrets, ...contract.dbSetup.plain].sort());
});

test('a setup that cannot finish ends by its deadline, exit code 1 while the user is not set up', async (t) => {
    // Guards: nothing bounded the setup's run (a connection that hangs, change streams that never open), while
    // the aws target's grace period for the editor's task counts on it ending by contract.json's deadline.
    const net = require('net');
    const sockets = new Set();
    const hung = net.createServer((socket) => sockets.add(socket)); // accepts, never answers
    await new Promise((resolve) => hung.listen(0, '127.0.0.1', resolve));
    t.after(() => {
        for (const s of sockets) s.destroy();
        hung.close();
    });
    const { runWithDeadline, SETUP_DEADLINE_MS } = require('../db_setup');
    assert.equal(SETUP_DEADLINE_MS, require('../../contract.json').dbSetup.deadlineSeconds * 1000);
    const url = `mongodb://u:p@127.0.0.1:${hung.address().port}/?directConnection=true`;
    const lines = [];
    const log = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
    const started = Date.now();
    const code = await new Promise((exit) => runWithDeadline({ env: { MONGO_ADMIN_URL: url, MONGO_URL: url }, log, deadlineMs: 1000, exit }));
    assert.equal(code, 1);
    assert.ok(Date.now() - started < 4000, 'ended at its deadline, before the driver gave up on the server');
    assert.deepEqual(lines, ['database setup not finished within 1 s: the user is not set up']);
});

'use strict';
// Test helpers: a MongoDB for the tests (MONGO_TEST_URL, else SecantusDB started here from ../../venv),
// stores as Node-RED makes them, and callbacks as promises.
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { MongoClient } = require('mongodb');
const sharedContextStore = require('..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function findSecantusd() {
    const candidates = [process.env.SECANTUSD, path.resolve(__dirname, '../../../venv/bin/secantusd-py')];
    for (const dir of (process.env.PATH || '').split(path.delimiter)) candidates.push(path.join(dir, 'secantusd-py'));
    return candidates.find((c) => c && fs.existsSync(c));
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
        srv.on('error', reject);
    });
}

// {url, stop()} or {skip: reason}. Under CI a missing server is an error, never a skip.
async function startMongo(fixedPort) {
    if (process.env.MONGO_TEST_URL && !fixedPort) return { url: process.env.MONGO_TEST_URL, stop: async () => {} };
    const bin = findSecantusd();
    if (!bin) {
        const reason = 'no MongoDB for the tests: set MONGO_TEST_URL, or SECANTUSD / PATH to secantusd-py';
        if (!['', '0', 'false'].includes((process.env.CI || '').toLowerCase())) throw new Error(reason);
        return { skip: reason };
    }
    const port = fixedPort || await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'context-test-'));
    const proc = spawn(bin, ['--host', '127.0.0.1', '--port', String(port), '--storage-path', dir, '--log-level', 'WARNING'],
        { stdio: ['ignore', 'ignore', 'inherit'] });
    const url = `mongodb://127.0.0.1:${port}/?directConnection=true`;
    const deadline = Date.now() + 30000;
    for (;;) {
        const c = new MongoClient(url, { serverSelectionTimeoutMS: 500 });
        try {
            await c.connect();
            await c.db('admin').command({ ping: 1 });
            await c.close();
            break;
        } catch (err) {
            await c.close().catch(() => {});
            if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`secantusd-py did not start: ${err.message}`, { cause: err });
            await sleep(100);
        }
    }
    return {
        url,
        stop: async () => {
            proc.kill('SIGTERM');
            await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

let dbCounter = 0;
const uniqueDb = (name) => `ctx_${name}_${process.pid}_${Date.now() % 100000}_${dbCounter++}`;

// A store as Node-RED makes and opens it.
async function openStore(config) {
    const store = sharedContextStore(config);
    await store.open();
    return store;
}

// The store's callback API as promises: get resolves with the value (an array for an array of keys).
const get = (store, scope, key) => new Promise((resolve, reject) => {
    store.get(scope, key, (err, ...values) => (err ? reject(err) : resolve(Array.isArray(key) ? values : values[0])));
});
const set = (store, scope, key, value) => new Promise((resolve, reject) => {
    store.set(scope, key, value, (err) => (err ? reject(err) : resolve()));
});
const keys = (store, scope) => new Promise((resolve, reject) => {
    store.keys(scope, (err, k) => (err ? reject(err) : resolve(k)));
});

async function waitFor(check, timeoutMs = 10000, what = 'condition') {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(50);
    }
}

module.exports = { startMongo, freePort, uniqueDb, openStore, get, set, keys, waitFor, sleep, MongoClient };

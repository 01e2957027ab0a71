'use strict';
// Test helpers: a MongoDB for the tests (MONGO_TEST_URL, else SecantusDB started here), storages on
// a fake Node-RED runtime that reloads the way Node-RED does (getFlows, getCredentials, flows:started).
const crypto = require('crypto');
const { EventEmitter } = require('events');
const { MongoClient } = require('mongodb');
const { createStorage } = require('../lib/storage');
const secantus = require('../../test_support/secantus');

const { findSecantusd, freePort, sleep } = secantus;

// Node-RED's revision of a flow set (@node-red/runtime lib/storage): the hash flows:started carries.
const flowsHash = (flows) => crypto.createHash('sha256').update(JSON.stringify(flows)).digest('hex');

// The tests' MongoDB (shared with the context store's tests).
const startMongo = (opts = {}) => secantus.startMongo({ MongoClient, prefix: 'storage-test-', ...opts });

let dbCounter = 0;
const uniqueDb = (name) => `st_${name}_${process.pid}_${Date.now() % 100000}_${dbCounter++}`;

// A Node-RED runtime stand-in: events, log capture, and nodes.loadFlows that reads through the
// storage and emits flows:started with Node-RED's hash of the flows, like the real runtime does.
function fakeRuntime() {
    const events = new EventEmitter();
    const logs = [];
    const rt = {
        events,
        logs,
        loads: [],
        startDelayMs: 5, // how long starting the flows takes
        log: {
            info: (m) => logs.push(['info', m]), warn: (m) => logs.push(['warn', m]),
            error: (m) => logs.push(['error', m]), debug: () => {},
        },
        storage: null,
        // Node-RED's runtime.version(): the Node-RED these tests run with (make test-node-red-4.1: 4.1).
        version: () => require('node-red/package.json').version,
        // Like Node-RED: flows with a node type it does not know never start (a missing-types event).
        started(flows) {
            if (flows.some((n) => n.type === 'no-such-type')) {
                events.emit('runtime-event', { id: 'runtime-state', payload: { error: 'missing-types', types: ['no-such-type'] } });
            } else {
                events.emit('flows:started', { config: { rev: flowsHash(flows) } });
            }
        },
        async start() {
            const flows = await rt.storage.getFlows();
            await rt.storage.getCredentials();
            rt.started(flows);
        },
        nodes: {
            loadFlows: async () => {
                const flows = await rt.storage.getFlows();
                const creds = await rt.storage.getCredentials();
                rt.loads.push({ rev: rt.storage.revisionForHash(flowsHash(flows)), flows, creds });
                setTimeout(() => rt.started(flows), rt.startDelayMs);
                return flowsHash(flows);
            },
        },
    };
    return rt;
}

// runtimeExtra: what the fake runtime says differently (e.g. version: () => '4.1.15').
async function makeStorage(url, database, role, extra = {}, runtimeExtra = {}) {
    const storage = createStorage();
    const runtime = Object.assign(fakeRuntime(), runtimeExtra);
    runtime.storage = storage;
    await storage.init({ storageModuleOptions: { role, mongoUrl: url, database, instanceId: `${role}-${dbCounter++}`, ...extra } }, runtime);
    return { storage, runtime };
}

async function waitFor(fn, timeoutMs = 10000, what = 'condition') {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(20);
    }
}

// Every field name in a stored document, recursively (to check MongoDB/DocumentDB-safe shapes).
function allKeys(value, out = []) {
    if (Array.isArray(value)) value.forEach((v) => allKeys(v, out));
    else if (value && typeof value === 'object' && !(value instanceof Date) && value._bsontype === undefined) {
        for (const k of Object.keys(value)) {
            out.push(k);
            allKeys(value[k], out);
        }
    }
    return out;
}

module.exports = { startMongo, findSecantusd, freePort, uniqueDb, makeStorage, fakeRuntime, waitFor, sleep, allKeys, MongoClient };

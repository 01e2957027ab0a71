'use strict';
// Test helpers: a MongoDB for the tests (MONGO_TEST_URL, else SecantusDB: ../test_support/secantus.js),
// stores as Node-RED makes them, and callbacks as promises.
const test = require('node:test');
const { MongoClient } = require('mongodb');
const sharedContextStore = require('..');
const secantus = require('../../test_support/secantus');

const { freePort, sleep } = secantus;

// The tests' MongoDB (shared with the storage module's tests); port: restart one on the same port.
// testCommands: the server takes configureFailPoint.
const startMongo = (port, { testCommands = false } = {}) => secantus.startMongo({ MongoClient, prefix: 'context-test-', port: port || null, testCommands });

let dbCounter = 0;
const uniqueDb = (name) => `ctx_${name}_${process.pid}_${Date.now() % 100000}_${dbCounter++}`;

// A store as Node-RED makes and opens it.
async function openStore(config) {
    const store = sharedContextStore(config);
    await store.open();
    return store;
}

// The server of a test file: started before its tests, stopped after them with every store opened on it.
// {mongo, client, stores, open(config)}: open() makes a store on it as Node-RED does.
function serverForTests(options) {
    const server = { mongo: null, client: null, stores: [] };
    test.before(async () => {
        server.mongo = await startMongo(null, options);
        server.client = new MongoClient(server.mongo.url);
    });
    test.after(async () => {
        for (const s of server.stores) await s.close();
        if (server.client) await server.client.close();
        if (server.mongo) await server.mongo.stop();
    });
    server.open = async (config) => {
        const store = await openStore({ mongoUrl: server.mongo.url, ...config });
        server.stores.push(store);
        return store;
    };
    return server;
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

module.exports = { startMongo, serverForTests, freePort, uniqueDb, openStore, get, set, keys, waitFor, sleep };

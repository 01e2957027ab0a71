'use strict';
// The database contract (nodered_image/database.json) against the JavaScript that uses the database:
// every collection and singleton id the code names is one the contract declares (so the Python side,
// which reads the same file, knows of it), the indexes the code creates are the declared ones, and the
// writes the contract wants acknowledged by a majority are sent so.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { startMongo, uniqueDb, makeStorage, waitFor, MongoClient } = require('./helpers');
const { LAYOUT, collection, singleton, indexes } = require('../../common/database');
const { openCollections } = require('../lib/collections');

const IMAGE_DIR = path.resolve(__dirname, '../..');
const SKIP = new Set(['node_modules', 'test', 'test_support']);

// Every JavaScript file of the image's own code (tests left out).
function productFiles(dir = IMAGE_DIR, out = []) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (SKIP.has(entry.name)) continue;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) productFiles(full, out);
        else if (entry.name.endsWith('.js')) out.push(full);
    }
    return out;
}

// Names the code gives collections: collection(db, 'x') (common/database.js), and the ways code wrote them
// out before it: db.collection('x'), COLLECTION = 'x', a default `c.collection || 'x'`.
const COLLECTION_NAMES = [
    /\.collection\(\s*'([^']+)'/g,
    /\bcollection\(\s*[\w.()]+\s*,\s*'([^']+)'/g,
    /\bCOLLECTION\s*=\s*'([^']+)'/g,
    /\bcollection\s*\|\|\s*'([^']+)'/g,
];
// Ids of documents of which there is one, written out: {_id: 'x'}, LEASE_ID = 'x'.
const SINGLETON_IDS = [/\b_id:\s*'([^']+)'/g, /\b[A-Z]+_ID\s*=\s*'([^']+)'/g];
// Those documents looked up in the contract: singleton('x').
const SINGLETON_NAMES = [/\bsingleton\(\s*'([^']+)'/g];

function named(patterns, files) {
    const found = [];
    for (const file of files) {
        // Comments may describe a document's shape ({_id: '["<scope>","<key>"]'}): only code counts.
        const text = fs.readFileSync(file, 'utf8').split('\n').filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line)).join('\n');
        for (const re of patterns) for (const m of text.matchAll(re)) found.push({ name: m[1], file: path.relative(IMAGE_DIR, file) });
    }
    return found;
}

let mongo;
let client;

test.before(async () => {
    mongo = await startMongo();
    client = new MongoClient(mongo.url);
});

test.after(async () => {
    if (client) await client.close();
    if (mongo && mongo.stop) await mongo.stop();
});

test('every collection and singleton id the code names is one database.json declares', () => {
    const files = productFiles();
    const collections = named(COLLECTION_NAMES, files);
    const ids = named(SINGLETON_IDS, files);
    const singletons = named(SINGLETON_NAMES, files);
    // The scan finds what the code uses (a scan that finds nothing checks nothing).
    for (const name of ['flows', 'instances', 'counters', 'leases', 'debug', 'context']) {
        assert.ok(collections.some((c) => c.name === name), `the scan finds the code's use of ${name}`);
    }
    for (const name of ['revisionCounter', 'leaderLease', 'settings', 'sessions']) {
        assert.ok(singletons.some((s) => s.name === name), `the scan finds the code's lookup of the ${name} singleton`);
    }
    assert.deepEqual(singletons.filter((s) => !Object.hasOwn(LAYOUT.singletons, s.name)), [], 'singletons database.json lacks');
    assert.deepEqual(collections.filter((c) => !Object.hasOwn(LAYOUT.collections, c.name)), [], 'collections database.json lacks');
    const declared = new Set(Object.values(LAYOUT.singletons).map((s) => s._id));
    assert.deepEqual(ids.filter((i) => !declared.has(i.name)), [], 'singleton ids database.json lacks');
    for (const s of Object.values(LAYOUT.singletons)) assert.ok(Object.hasOwn(LAYOUT.collections, s.collection), s.collection);
});

test('a collection or singleton the contract lacks is refused when opened', () => {
    const db = client.db(uniqueDb('refused'));
    assert.throws(() => collection(db, 'flow'), /database.json declares no collection "flow"/);
    assert.throws(() => collection(db, 'toString'), /declares no collection/);
    assert.throws(() => singleton('counter'), /declares no singleton "counter"/);
    assert.equal(singleton('revisionCounter').id, 'flows');
    assert.equal(collection(db, 'flows').writeConcern.w, 'majority');
    assert.equal(collection(db, 'instances').writeConcern, undefined, 'status records: the server default');
});

test('the storage creates exactly the indexes database.json declares', async () => {
    const database = uniqueDb('indexes');
    const log = { info() {}, warn: (m) => assert.fail(m) };
    await openCollections(client, { database, role: 'editor', statusTtlSeconds: 60 }, log);
    for (const name of ['instances', 'library']) {
        const made = (await client.db(database).collection(name).listIndexes().toArray()).filter((ix) => ix.name !== '_id_');
        const declared = indexes(name, { statusTtlSeconds: 60 });
        assert.deepEqual(made.map((ix) => [ix.name, ix.key, ix.expireAfterSeconds]),
            declared.map((ix) => [ix.options.name, ix.key, ix.options.expireAfterSeconds]), name);
    }
});

test('the debug forwarding and the context store create the indexes database.json declares', async () => {
    const calls = [];
    const { ensureDebugCollection } = require('../../lib/debug_forwarder');
    await ensureDebugCollection({ collection: (name) => ({ createIndex: async (key, options) => calls.push({ name, key, options }) }) }, () => {});
    assert.deepEqual(calls, indexes('debug').map((ix) => ({ name: 'debug', key: ix.key, options: ix.options })));
    const store = require('../../context')({ mongoUrl: mongo.url, database: uniqueDb('ctx'), role: 'editor' });
    await store.open();
    try {
        const made = (await (await store.collection()).listIndexes().toArray()).filter((ix) => ix.name !== '_id_');
        const byName = (a, b) => (a[0] < b[0] ? -1 : 1);
        assert.deepEqual(made.map((ix) => [ix.name, ix.key]).sort(byName), indexes('context').map((ix) => [ix.options.name, ix.key]).sort(byName));
    } finally {
        await store.close();
    }
});

test('a deploy is acknowledged by a majority: the revision insert and the counter step say w: majority', async () => {
    const database = uniqueDb('majority');
    const sent = [];
    // Command monitoring on the storage's own client (a connection string option): what it sends for a deploy.
    const made = await makeStorage(`${mongo.url}&monitorCommands=true`, database, 'editor');
    try {
        made.storage.database().client.on('commandStarted', (ev) => sent.push(ev));
        await made.runtime.start();
        await made.storage.saveFlows([{ id: 't1', type: 'tab' }], null);
    } finally {
        await made.storage.close();
    }
    const writes = sent.filter((ev) => ['insert', 'findAndModify', 'update'].includes(ev.commandName) && ev.command[ev.commandName] !== 'instances');
    const insert = writes.find((ev) => ev.commandName === 'insert' && ev.command.insert === 'flows');
    assert.ok(insert, `the revision insert was seen: ${writes.map((ev) => ev.commandName)}`);
    assert.ok(writes.some((ev) => ev.command[ev.commandName] === 'counters'), 'the counter step was seen');
    for (const ev of writes.filter((w) => ['flows', 'counters'].includes(w.command[w.commandName]))) {
        assert.deepEqual(ev.command.writeConcern, { w: 'majority' }, `${ev.commandName} ${ev.command[ev.commandName]}`);
    }
});

test('the leader lease is written for a majority to acknowledge: taken, renewed, created, released', async () => {
    // Guards the election's safety on a replica set: a lease write a failover could lose (acknowledged
    // by the primary alone) would let a second instance lead. A single-node test database acknowledges
    // any write concern alike, so the commands the storage sends are checked (command monitoring).
    const database = uniqueDb('lease-majority');
    const timing = { leaderLeaseSeconds: 2, leaderRenewSeconds: 0.2, leaderCheckSeconds: 0.1, leaderStopMarginSeconds: 1 };
    const made = await makeStorage(`${mongo.url}&monitorCommands=true`, database, 'worker', timing);
    const sent = [];
    try {
        assert.equal(made.storage.statusInfo().leader, true, 'the only instance leads from its start');
        made.storage.database().client.on('commandStarted', (ev) => {
            if (ev.command[ev.commandName] === 'leases') sent.push(ev);
        });
        // The lease deleted by hand: the leader's renewal finds nothing, it creates the lease anew and takes it.
        await waitFor(() => sent.some((ev) => ev.commandName === 'findAndModify'), 5000, 'a renewal');
        await client.db(database).collection('leases').deleteMany({});
        await waitFor(() => sent.some((ev) => ev.commandName === 'insert'), 5000, 'the lease created again');
        await waitFor(() => made.storage.statusInfo().leader, 5000, 'leading again');
    } finally {
        await made.storage.close(); // releases the lease
    }
    const writes = sent.filter((ev) => ['insert', 'findAndModify', 'update'].includes(ev.commandName));
    assert.deepEqual([...new Set(writes.map((ev) => ev.commandName))].sort(), ['findAndModify', 'insert', 'update']);
    for (const ev of writes) assert.deepEqual(ev.command.writeConcern, { w: 'majority' }, `${ev.commandName}: ${JSON.stringify(ev.command.writeConcern)}`);
});

'use strict';
// Node-RED versions across a stack (lib/versions.js): each status record says which Node-RED its instance
// runs, and an editor refuses deploys while a live worker runs an older release line than its own.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startMongo, uniqueDb, makeStorage, waitFor, MongoClient } = require('./helpers');
const { older, LIVE_MS } = require('../lib/versions');

let mongo;
test.before(async () => {
    mongo = await startMongo();
});
test.after(async () => {
    if (mongo) await mongo.stop();
});

test('release lines compare by major and minor only', () => {
    assert.equal(older('4.1.15', '5.0.7'), true);
    assert.equal(older('5.0.4', '5.0.7'), false);
    assert.equal(older('5.0.7', '4.1.15'), false);
    assert.equal(older('5.0.7', '5.1.0'), true);
    assert.equal(older('not a version', '5.0.7'), false);
});

test('each status record says which Node-RED its instance runs', async (t) => {
    const db = uniqueDb('versions_record');
    const { storage } = await makeStorage(mongo.url, db, 'worker');
    t.after(() => storage.close());
    const client = await MongoClient.connect(mongo.url);
    t.after(() => client.close());
    const own = require('node-red/package.json').version;
    const record = await waitFor(() => client.db(db).collection('instances').findOne({ role: 'worker' }), 10000, 'status record');
    assert.equal(record.nodeRedVersion, own);
});

test('an editor on a newer Node-RED refuses deploys while a live worker runs an older one', async (t) => {
    // Guards: during a rolling update an editor on 5 saved revisions that workers on 4.1 loaded.
    const db = uniqueDb('versions_guard');
    const { storage } = await makeStorage(mongo.url, db, 'editor', {}, { version: () => '5.0.7' });
    t.after(() => storage.close());
    const client = await MongoClient.connect(mongo.url);
    t.after(() => client.close());
    const instances = client.db(db).collection('instances');
    const now = Date.now();
    await instances.insertMany([
        { _id: 'w-old', role: 'worker', nodeRedVersion: '4.1.15', lastSeen: new Date(now) },
        // Written by this image before records carried the version: Node-RED 4.1.
        { _id: 'w-unrecorded', role: 'worker', lastSeen: new Date(now) },
        { _id: 'w-dead', role: 'worker', nodeRedVersion: '4.1.15', lastSeen: new Date(now - 2 * LIVE_MS) },
        { _id: 'w-patch', role: 'worker', nodeRedVersion: '5.0.4', lastSeen: new Date(now) },
    ]);
    const { olderWorkers: problem, otherKey } = await storage.deployProblems();
    assert.equal(otherKey, null, "every worker record here is on no key, or the same");
    assert.match(problem, /^2 workers run an older Node-RED than this editor's 5\.0\.7: /);
    assert.match(problem, /w-old \(Node-RED 4\.1\.15\)/);
    assert.match(problem, /w-unrecorded \(a Node-RED before 5\)/);
    assert.doesNotMatch(problem, /w-dead|w-patch/);
    assert.match(problem, /once every worker runs Node-RED 5\.0$/);

    await instances.deleteMany({ _id: { $in: ['w-old', 'w-unrecorded'] } });
    assert.equal((await storage.deployProblems()).olderWorkers, null);

    // An older editor with newer workers deploys: a newer Node-RED loads what an older one saved.
    const { storage: oldEditor } = await makeStorage(mongo.url, db, 'editor', {}, { version: () => '4.1.15' });
    t.after(() => oldEditor.close());
    assert.equal((await oldEditor.deployProblems()).olderWorkers, null);
});

test('a revision records the Node-RED that saved it', async (t) => {
    const db = uniqueDb('versions_revision');
    const { storage } = await makeStorage(mongo.url, db, 'editor', {}, { version: () => '5.0.7' });
    t.after(() => storage.close());
    const client = await MongoClient.connect(mongo.url);
    t.after(() => client.close());
    await storage.saveFlows([{ id: 't1', type: 'tab', label: 'one' }], { username: 'admin' });
    const [doc] = await client.db(db).collection('flows').find().sort({ _id: -1 }).limit(1).toArray();
    assert.equal(doc.nodeRedVersion, '5.0.7');
});

'use strict';
// Revision identity and validation on read, at the storage level (a fake Node-RED runtime, a real
// MongoDB wire-protocol server): numbers never given twice, the newest revision followed by identity,
// malformed documents failed and reported instead of loaded, "restart flows" reaching every instance.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startMongo, uniqueDb, makeStorage, waitFor, sleep, MongoClient } = require('./helpers');
const { Numbering, nextRevision } = require('../lib/numbering');
const { Revisions } = require('../lib/revisions');
const { encodeKeys } = require('../lib/codec');

let mongo;
let client;
const opened = [];

test.before(async () => {
    mongo = await startMongo();
    client = new MongoClient(mongo.url);
});

test.after(async () => {
    for (const s of opened) await s.close().catch(() => {});
    if (client) await client.close();
    if (mongo && mongo.stop) await mongo.stop();
});

async function storageFor(t, db, role, extra) {
    const made = await makeStorage(mongo.url, db, role, extra);
    opened.push(made.storage);
    return made;
}

const flows = (marker) => [{ id: 'tab1', type: 'tab', label: marker }, { id: 'n1', type: 'function', z: 'tab1', func: marker, wires: [] }];
const label = (loaded) => loaded.flows[0].label;
const running = (s) => s.storage.statusInfo();

async function worker(t, db) {
    const wk = await storageFor(t, db, 'worker', { syncCheckSeconds: 60 });
    await wk.runtime.start();
    return wk;
}

test('a number is never given twice: not after the newest revision is deleted, nor after the flows collection is restored', async (t) => {
    const db = uniqueDb('numbers');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    const coll = client.db(db).collection('flows');
    for (let i = 1; i <= 3; i++) await ed.storage.saveFlows(flows(`v${i}`), null);
    await coll.deleteOne({ _id: 3 }); // "the obvious fix" for a bad newest revision
    assert.equal(await ed.storage.saveFlows(flows('v4'), null), 4);
    // The flows collection restored from a backup taken at revision 1 (the counter is elsewhere).
    const backup = await coll.find({ _id: 1 }).toArray();
    await coll.drop();
    await coll.insertMany(backup);
    const ed2 = await storageFor(t, db, 'editor'); // also after an editor restart (nothing in memory)
    await ed2.runtime.start();
    assert.equal(await ed2.storage.saveFlows(flows('v5'), null), 5);
    const ids = (await coll.find({}, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray()).map((d) => d._id);
    assert.deepEqual(ids, [1, 5]);
});

test('after a whole-database restore (counter included) numbers live instances report are not given again', async (t) => {
    const db = uniqueDb('restore_all');
    const ed = await storageFor(t, db, 'editor', { statusSeconds: 1 });
    if (!ed) return;
    await ed.storage.saveFlows(flows('v1'), null);
    const wk = await worker(t, db);
    for (let i = 2; i <= 6; i++) await ed.storage.saveFlows(flows(`v${i}`), null);
    await waitFor(() => running(wk).rev === 6, 10000, 'worker on 6');
    // Restore of everything as it was at revision 1: flows and counter; the editor restarts too.
    const d = client.db(db);
    const one = await d.collection('flows').find({ _id: 1 }).toArray();
    await d.collection('flows').deleteMany({});
    await d.collection('flows').insertMany(one);
    await d.collection('counters').updateOne({ _id: 'flows' }, { $set: { seq: 1 } });
    await ed.storage.close();
    const ed2 = await storageFor(t, db, 'editor');
    await ed2.runtime.start();
    // The worker follows the restored newest revision although its number is lower than what it ran.
    await waitFor(() => running(wk).rev === 1 && running(wk).ready, 15000, 'worker back on the restored revision 1');
    assert.equal(label(wk.runtime.loads.at(-1)), 'v1');
    // Its status record (written every second) still says it knows revision 6: the next number is above.
    await waitFor(async () => (await d.collection('instances').findOne({ role: 'worker' })).latestRev === 1, 10000, 'status record');
    const rev = await ed2.storage.saveFlows(flows('after restore'), null);
    assert.ok(rev > 6, `revision ${rev} must not reuse a number the worker ran`);
    await waitFor(() => running(wk).rev === rev, 10000, 'worker on the deploy after the restore');
});

// The editor's commands, in order, as the server gets them (command monitoring on its client).
function editorCommands(t) {
    const seen = [];
    const connect = MongoClient.prototype.connect;
    MongoClient.prototype.connect = function (...args) {
        if (this.options.appName === 'nodered-scale-editor') {
            this.monitorCommands = true;
            this.on('commandStarted', (ev) => seen.push(`${ev.commandName} ${ev.command[ev.commandName]}`));
        }
        return connect.apply(this, args);
    };
    t.after(() => { MongoClient.prototype.connect = connect; });
    return seen;
}

test('with what the next number must be above read ahead a deploy writes nothing before its insert; a higher number inserted since still puts the deploy above it', async (t) => {
    // Before: every deploy stepped the counter first, a write the workers' change streams woke for as well.
    const commands = editorCommands(t);
    const db = uniqueDb('ahead');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    const d = client.db(db);
    const floorReads = () => commands.filter((c) => c === 'find instances').length;
    assert.equal(await ed.storage.saveFlows(flows('v1'), null), 1);
    const wk = await worker(t, db);
    await waitFor(() => floorReads() === 2, 10000, 'read ahead after the first save');
    const before = commands.length;
    assert.equal(await ed.storage.saveFlows(flows('v2'), null), 2);
    // Not the save's: the change streams' getMores (SecantusDB answers them at every write) and the health ping.
    const ofTheSave = commands.slice(before).filter((c) => !/^(getMore|ping) /.test(c));
    assert.equal(ofTheSave[0], 'insert flows', `the save's first command (then: ${ofTheSave.join(', ')})`);
    // Shortly after, the counter stands at the deploy's number, so no other writer takes it again.
    await waitFor(async () => (await d.collection('counters').findOne({ _id: 'flows' })).seq === 2, 10000, 'the counter raised to 2');
    await waitFor(() => floorReads() === 3, 10000, 'read ahead after the second save');
    // A revision numbered far above, inserted meanwhile (what a rollback or a restore from elsewhere does).
    await d.collection('flows').insertOne({ _id: 50, rev: 50, deployId: 'elsewhere', flowsJson: JSON.stringify(flows('from elsewhere')), savedAt: new Date() });
    await waitFor(() => running(ed).latestRev === 50, 10000, 'the editor has seen revision 50');
    const rev = await ed.storage.saveFlows(flows('after 50'), null);
    assert.equal(rev, 51, 'the deploy after revision 50');
    await waitFor(() => running(wk).rev === rev, 10000, 'worker on the deploy after 50');
    assert.equal(label(wk.runtime.loads.at(-1)), 'after 50');
});

// The next number as any other writer takes it (a rollback, a second editor): straight from the database.
function nextRevisionOf(db) {
    const d = client.db(db);
    return nextRevision({ flows: d.collection('flows'), instances: d.collection('instances'), counters: d.collection('counters') });
}

const counterOf = async (db) => ((await client.db(db).collection('counters').findOne({ _id: 'flows' })) || { seq: 0 }).seq;

test('what was read ahead is not used when the change stream was not open the whole time since (a reopen, an outage)', async (t) => {
    const db = uniqueDb('ahead_stream');
    const d = client.db(db);
    const reads = [];
    const counted = (coll) => ({
        find: (...a) => { reads.push(coll.collectionName); return coll.find(...a); },
        findOne: (...a) => coll.findOne(...a),
        findOneAndUpdate: (...a) => coll.findOneAndUpdate(...a),
        updateOne: (...a) => coll.updateOne(...a),
    });
    const c = { flows: counted(d.collection('flows')), instances: counted(d.collection('instances')), counters: counted(d.collection('counters')) };
    let period = 1;
    const numbering = new Numbering(c, { following: () => period });
    t.after(() => numbering.close());
    assert.deepEqual(await numbering.next(0), { rev: 1, counted: true }, 'nothing read ahead: the counter steps');
    numbering.saved(1, true);
    await waitFor(() => reads.length === 4, 10000, 'read ahead');
    assert.deepEqual(await numbering.next(1), { rev: 2, counted: false });
    assert.equal(reads.length, 4, 'nothing read at the save');
    numbering.saved(2, false);
    await waitFor(async () => await counterOf(db) === 2 && reads.length === 6, 10000, 'the counter raised to 2, read ahead again');
    await d.collection('flows').insertOne({ _id: 7, rev: 7, flowsJson: '[]' }); // unseen: the stream "reopened"
    period = 2;
    assert.deepEqual(await numbering.next(2), { rev: 8, counted: true }, 'taken the long way, above what the stream may have missed');
    numbering.saved(8, true);
    period = null; // not open: nothing is read ahead
    await sleep(300); // three times the wait before reading ahead
    assert.equal(reads.length, 8, 'only the save\'s own reads');
    assert.deepEqual(await numbering.next(8), { rev: 9, counted: true });
});

test('a number another writer took meanwhile is left to it: the deploy takes the next; a stopping editor raises the counter to its last deploy', async () => {
    // The number is read ahead, not taken from the counter: the insert tells whether it was free.
    const db = uniqueDb('ahead_taken');
    const d = client.db(db);
    const c = { flows: d.collection('flows'), instances: d.collection('instances'), counters: d.collection('counters') };
    const revisions = new Revisions({ collections: c, opts: { role: 'editor' }, log: { info() {}, warn() {}, error() {}, debug() {} }, isClosed: () => false,
        onFailure: () => {}, following: () => 1 });
    const save = (marker) => revisions.insert(flows(marker), { savedBy: null, deployType: 'full' });
    assert.equal((await save('v1')).rev, 1);
    await waitFor(() => revisions.numbering.ahead !== null, 10000, 'read ahead');
    // A rollback takes number 2 from the counter and inserts it before this editor has seen it.
    const taken = await nextRevisionOf(db);
    assert.equal(taken, 2);
    await c.flows.insertOne({ _id: taken, rev: taken, deployId: 'rollback', flowsJson: JSON.stringify(flows('rollback')), savedAt: new Date() });
    assert.equal((await save('v3')).rev, 3, 'the deploy after the number taken meanwhile');
    assert.equal(JSON.parse((await c.flows.findOne({ _id: 2 })).flowsJson)[0].label, 'rollback', 'revision 2 is still the rollback');
    // Saved right after the read ahead: the counter is raised to it only after AHEAD_DELAY_MS, or at close.
    await waitFor(() => revisions.numbering.ahead !== null, 10000, 'read ahead');
    assert.equal((await save('v4')).rev, 4);
    await revisions.close();
    assert.equal(await counterOf(db), 4, 'the counter raised before the editor went');
    assert.equal(await nextRevisionOf(db), 5);
});

test('a worker follows the newest revision by identity: a document reusing a number it ran is loaded', async (t) => {
    const db = uniqueDb('identity');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    await ed.storage.saveFlows(flows('v1'), null);
    await ed.storage.saveFlows(flows('v2'), null);
    const wk = await worker(t, db);
    assert.equal(running(wk).rev, 2);
    const coll = client.db(db).collection('flows');
    const two = await coll.findOne({ _id: 2 });
    await coll.deleteOne({ _id: 2 });
    await coll.insertOne({ ...two, deployId: 'operator-copy', flowsJson: JSON.stringify(flows('v2 again, by hand')), savedAt: new Date() });
    await waitFor(() => wk.runtime.loads.length > 0 && label(wk.runtime.loads.at(-1)) === 'v2 again, by hand', 10000, 'the new document under number 2');
    await waitFor(() => running(wk).ready, 5000, 'ready');
});

for (const [name, change, reason] of [
    ['no flows field', (d) => { delete d.flowsJson; }, 'it has no flows field'],
    ['flowsJson not JSON', (d) => { d.flowsJson = '[{"id":'; }, 'its flowsJson field is not valid JSON'],
    ['flowsJson not an array', (d) => { d.flowsJson = '{"id":"x"}'; }, 'its flowsJson field holds an object, not an array'],
    ['a node without type', (d) => { d.flowsJson = '[{"id":"a"}]'; }, 'flows[0] (id "a") has no type'],
    ['flows (as written before flowsJson) not an array', (d) => { delete d.flowsJson; d.flows = { id: 'x' }; }, 'its flows field is an object, not an array'],
    ['undecodable credentials', (d) => { d.credentials = 'garbage'; }, 'its credentials field is a string, not {encrypted: "<ciphertext>"}'],
    ['encrypted credentials not a string', (d) => { d.credentials = { encrypted: 42 }; }, 'its credentials.encrypted is a number, not a string'],
    ['a fractional _id', (d) => { d._id = 2.5; d.rev = 2.5; }, 'its _id 2.5 is not a whole number from 1'],
]) {
    test(`a newest revision with ${name} fails and is reported; workers keep serving, a restarted editor loads the one before`, async (t) => {
        const db = uniqueDb('malformed');
        const ed = await storageFor(t, db, 'editor');
        if (!ed) return;
        await ed.storage.saveFlows(flows('good'), null);
        const wk = await worker(t, db);
        const coll = client.db(db).collection('flows');
        const doc = { ...(await coll.findOne({ _id: 1 })), _id: 2, rev: 2, deployId: 'by-hand', savedAt: new Date() };
        change(doc);
        await coll.insertOne(doc);
        const failedRev = doc._id;
        await waitFor(() => running(wk).failed !== null && running(wk).ready, 10000, 'the failure reported, serving');
        const info = running(wk);
        assert.deepEqual([info.rev, info.state, info.ready], [1, 'running', true]);
        assert.deepEqual(info.failed, { rev: failedRev, reason });
        assert.equal(info.message, `serving revision 1, revision ${failedRev} failed: ${reason}`);
        assert.equal(wk.runtime.loads.length, 0, 'nothing was loaded');
        assert.ok(wk.runtime.logs.some(([l, m]) => l === 'error' && m.includes(reason)), 'logged');

        // An editor started now loads the newest revision that can be loaded and says what it skipped.
        const ed2 = await storageFor(t, db, 'editor');
        await ed2.runtime.start();
        assert.equal(running(ed2).rev, 1);
        assert.equal(running(ed2).message, `serving revision 1, revision ${failedRev} failed: ${reason}`);
        assert.ok(ed2.runtime.logs.some(([, m]) => m === `[storage] loaded flows revision 1 (2 nodes); skipped revision ${failedRev} (${reason})`));

        // The fix is a deploy (under a new number), which every instance loads.
        const fixed = await ed2.storage.saveFlows(flows('fixed'), null);
        assert.equal(fixed, 3);
        await waitFor(() => running(wk).rev === 3 && running(wk).ready, 10000, 'the fix');
        assert.equal(running(wk).failed, null);
    });
}

test('a document whose _id is not a number is reported, never taken for the newest; the next deploy is numbered after the others', async (t) => {
    const db = uniqueDb('stray');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    await ed.storage.saveFlows(flows('v1'), null);
    const wk = await worker(t, db);
    const coll = client.db(db).collection('flows');
    await coll.insertOne({ _id: 'zzz', rev: 'zzz', flows: flows('stray') });
    await waitFor(() => running(wk).failed !== null, 10000, 'the stray reported');
    assert.equal(running(wk).message, 'serving revision 1, revision "zzz" failed: its _id "zzz" is not a revision number, ' +
        'so it is never loaded (delete it, or roll back to the revision you meant)');
    assert.equal(running(wk).ready, true);
    const rev = await ed.storage.saveFlows(flows('v2'), null);
    assert.equal(rev, 2);
    await waitFor(() => running(wk).rev === 2, 10000, 'the deploy after the stray');
    assert.equal(running(wk).failed, null);
    assert.equal(label(wk.runtime.loads.at(-1)), 'v2');
});

test('a worker started while every revision is malformed waits, not ready, and starts with the first good one', async (t) => {
    const db = uniqueDb('all_bad');
    await client.db(db).collection('flows').insertOne({ _id: 1, rev: 1, flows: 'nope' });
    const wk = await storageFor(t, db, 'worker', { syncCheckSeconds: 60 });
    const starting = wk.runtime.start();
    await waitFor(() => running(wk).failed !== null, 10000, 'the failure');
    assert.deepEqual([running(wk).ready, running(wk).rev], [false, null]);
    assert.equal(running(wk).message, 'not serving: revision 1 failed: its flows field is a string, not an array');
    const ed = await storageFor(t, db, 'editor');
    await ed.runtime.start(); // the editor starts (empty) and stays manageable
    assert.equal(running(ed).rev, 0);
    assert.equal(await ed.storage.saveFlows(flows('first good'), null), 2);
    await starting;
    await waitFor(() => running(wk).ready && running(wk).rev === 2, 10000, 'started with revision 2');
});

test('"restart flows" in the editor restarts every worker\'s flows without a new revision, and is recorded', async (t) => {
    const db = uniqueDb('restart');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    await ed.runtime.start();
    await ed.storage.saveFlows(flows('v1'), { username: 'alice' });
    const wks = [await worker(t, db), await worker(t, db)];
    const before = wks.map((w) => w.runtime.loads.length);
    // What the editor's flows API does for Node-RED-Deployment-Type: reload (lib/deploy_guard.js).
    await ed.storage.runDeploy({ type: 'reload', user: 'bob' }, () => ed.runtime.nodes.loadFlows());
    for (const [i, w] of wks.entries()) {
        await waitFor(() => w.runtime.loads.length === before[i] + 1 && running(w).ready, 10000, 'the restart on a worker');
        assert.equal(w.runtime.loads.at(-1).rev, 1);
    }
    const doc = await client.db(db).collection('flows').findOne({ _id: 1 });
    assert.equal(doc.restarts, 1);
    assert.equal(doc.restartedBy, 'bob');
    assert.equal(await client.db(db).collection('flows').countDocuments(), 1, 'no new revision');
    await waitFor(async () => {
        const recs = await client.db(db).collection('instances').find({ role: 'worker' }).toArray();
        return recs.length === 2 && recs.every((r) => r.restart && r.restart.rev === 1 && r.restart.count === 1);
    }, 10000, 'status records saying so');
    // A worker started later does not restart for a request made before it.
    const late = await worker(t, db);
    await sleep(300);
    assert.equal(late.runtime.loads.length, 0);
});

test('the deploy type of each save is stored with the revision', async (t) => {
    const db = uniqueDb('deploy_type');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    await ed.storage.runDeploy({ type: 'nodes', user: 'alice' }, () => ed.storage.saveFlows(flows('a'), { username: 'alice' }));
    await ed.storage.saveFlows(flows('b'), null); // outside any API call (tests, tools)
    const docs = await client.db(db).collection('flows').find().sort({ _id: 1 }).toArray();
    assert.deepEqual(docs.map((d) => [d._id, d.deployType, d.savedBy]), [[1, 'nodes', 'alice'], [2, null, null]]);
    assert.ok(docs.every((d) => typeof d.deployId === 'string' && d.deployId.length >= 32));
    assert.ok(docs.every((d) => d.savedAt instanceof Date));
});

test('a revision written before flowsJson (flows as an array, keys escaped) loads exactly as deployed', async (t) => {
    // Guards databases written by earlier versions: their revisions and backups keep loading.
    const db = uniqueDb('legacy');
    const nodes = [{ id: 'tab1', type: 'tab', label: 'old' }, { id: 'n1', type: 'change', z: 'tab1', rules: [{ $op: 'set', 'a.b': 1 }] }];
    await client.db(db).collection('flows').insertOne({ _id: 1, rev: 1, deployId: 'old', flows: encodeKeys(nodes), credentials: null, savedAt: new Date() });
    const wk = await worker(t, db);
    assert.deepEqual(await wk.storage.getFlows(), nodes);
    assert.equal(running(wk).rev, 1);
});

test('stored flows round-trip exactly: $, dots, ~, NUL, unicode and __proto__ keys', async (t) => {
    const db = uniqueDb('exact');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    const tricky = JSON.parse(JSON.stringify([{ id: 'n', type: 'tab' }]));
    Object.assign(tricky[0], JSON.parse('{"$op": 1, "a.b": {"~d": "~p", "\\u0000x": 2}, "ключ €😀": "значение", "": 0}'));
    Object.defineProperty(tricky[0], '__proto__', { value: { inner: true }, enumerable: true, configurable: true, writable: true });
    const text = JSON.stringify(tricky);
    assert.ok(text.includes('"__proto__"'));
    await ed.storage.saveFlows(tricky, null);
    const wk = await worker(t, db);
    assert.equal(JSON.stringify(wk.runtime.loads.length ? wk.runtime.loads.at(-1).flows : await wk.storage.getFlows()), text);
    assert.equal(JSON.stringify(await wk.storage.getFlows()), text);
});

test('what cannot be stored exactly is named before anything is written', async (t) => {
    const ed = await storageFor(t, uniqueDb('unstorable'), 'editor');
    if (!ed) return;
    const check = ed.storage.storageProblem;
    assert.equal(check(JSON.parse('[{"id":"a","type":"tab","x":{"__proto__":{"p":1}}}]')),
        'flows[0]["x"]["__proto__"]: a field named "__proto__" cannot be stored (Node-RED drops it)');
    assert.match(check([{ id: 'a', type: 'tab', name: 'bad \ud800 text' }]), /^flows\[0\]\["name"\] holds a lone UTF-16 surrogate/);
    assert.match(check([{ id: 'a', type: 'tab', ['k\udc00']: 1 }]), /^flows\[0\]\["k\\udc00"\]: the field name holds a lone UTF-16 surrogate/);
    let deep = {};
    const root = deep;
    for (let i = 0; i < 100; i++) deep = deep.x = {};
    assert.match(check([{ id: 'a', type: 'tab', deep: root }]), /nested more than 90 levels deep/);
    assert.equal(check([{ id: 'a', type: 'tab', ok: 'emoji 😀 pair is fine', '$.~': [1, null, true] }]), null);
});

'use strict';
// Change streams that cannot be opened yet, as on a fresh DocumentDB cluster before they are enabled
// (simulated with a failCommand failpoint on the `aggregate` that opens a change stream): the editor
// enables them for the whole database and keeps trying until one opens on `flows`; a worker meanwhile
// still sees every new revision within seconds, not only at its periodic check.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startMongo, uniqueDb, makeStorage, waitFor, MongoClient } = require('./helpers');
const { ChangeStream, Collection } = require('mongodb');
const { enableChangeStreams } = require('../lib/collections');

let mongo;
let admin;
const opened = [];

test.before(async () => {
    mongo = await startMongo({ testCommands: true });
    admin = new MongoClient(mongo.url);
    await admin.connect();
});

test.after(async () => {
    await failChangeStreams(null, 'off').catch(() => {});
    for (const s of opened) await s.close().catch(() => {});
    if (admin) await admin.close();
    if (mongo && mongo.stop) await mongo.stop();
});

// Every change stream the clients named `appName` open fails (mode 'alwaysOn', {times: n}, or 'off').
async function failChangeStreams(appName, mode) {
    if (!admin) return;
    const data = { failCommands: ['aggregate'], errorCode: 2 };
    if (appName) data.appName = appName;
    await admin.db('admin').command({ configureFailPoint: 'failCommand', mode, data });
}

async function storageFor(t, db, role, extra) {
    const made = await makeStorage(mongo.url, db, role, extra);
    opened.push(made.storage);
    return made;
}

const flows = (marker) => [{ id: 'tab1', type: 'tab', label: `tab ${marker}` }];

test('a worker whose change stream cannot open still loads a new deploy within seconds', async (t) => {
    // Guards: on DocumentDB before change streams were enabled, workers served a deploy only at their
    // next periodic check (30 s), or not until the editor restarted and enabled them.
    const db = uniqueDb('nostream');
    const ed = await storageFor(t, db, 'editor');
    await ed.storage.saveFlows(flows('v1'), null);
    await failChangeStreams('nodered-scale-worker', 'alwaysOn');
    t.after(() => failChangeStreams(null, 'off'));
    const wk = await storageFor(t, db, 'worker', { syncCheckSeconds: 30 });
    await wk.runtime.start();
    assert.equal(wk.storage.statusInfo().rev, 1);

    const saved = Date.now();
    await ed.storage.saveFlows(flows('v2'), null);
    await waitFor(() => wk.storage.statusInfo().rev === 2 && wk.storage.statusInfo().ready, 12000, 'revision 2 on the worker');
    assert.ok(Date.now() - saved < 12000);
    assert.ok(wk.runtime.logs.some(([level, m]) => level === 'warn' && /change stream on flows failed/.test(m)),
        'the change stream really failed');
});

test('enabling change streams: database-wide, retried until a change stream opens on flows', async (t) => {
    // Guards: the editor tried modifyChangeStreams on the flows collection once and only logged a
    // failure (e.g. a fresh cluster), leaving workers without change streams until it restarted.
    const db = uniqueDb('enable');
    const client = new MongoClient(mongo.url, { appName: 'enable-test', monitorCommands: true });
    t.after(() => client.close());
    const sent = [];
    client.on('commandStarted', (ev) => {
        if (ev.commandName === 'modifyChangeStreams') sent.push(ev.command);
    });
    await client.connect();
    // The first two change streams fail, as on a cluster where enabling has not taken effect yet.
    await failChangeStreams('enable-test', { times: 2 });
    t.after(() => failChangeStreams(null, 'off'));
    const logs = [];
    const log = { info: (m) => logs.push(['info', m]), warn: (m) => logs.push(['warn', m]) };

    const verified = await enableChangeStreams(client, db, log, { initialDelayMs: 50 });
    assert.equal(verified, true);
    assert.equal(sent.length, 3, 'one modifyChangeStreams per attempt until a change stream opened');
    for (const command of sent) {
        assert.equal(command.database, db);
        assert.equal(command.collection, '', 'the whole database, collections created later included');
        assert.equal(command.enable, true);
    }
    assert.equal(logs.filter(([level]) => level === 'warn').length, 2);
    assert.match(logs[logs.length - 1][1], /verified/);
});

test('enabling change streams stops retrying when the storage closes', async (t) => {
    const client = new MongoClient(mongo.url, { appName: 'enable-closed' });
    t.after(() => client.close());
    await client.connect();
    await failChangeStreams('enable-closed', 'alwaysOn');
    t.after(() => failChangeStreams(null, 'off'));
    let closed = false;
    const log = { info: () => {}, warn: () => {} };
    const running = enableChangeStreams(client, uniqueDb('closed'), log, { initialDelayMs: 20, isClosed: () => closed });
    setTimeout(() => {
        closed = true;
    }, 200);
    assert.equal(await running, false);
});

test('a worker loads a deploy from the document its change stream delivered: no read of the flows collection per deploy', async (t) => {
    // Guards: after every reload each worker read the newest revisions again (two queries sorting the
    // whole collection), so every deploy cost the database two more queries per worker.
    const reads = [];
    const connect = MongoClient.prototype.connect;
    MongoClient.prototype.connect = function (...args) {
        if (this.options.appName === 'nodered-scale-worker') {
            this.monitorCommands = true;
            this.on('commandStarted', (ev) => {
                if (['find', 'aggregate', 'count'].includes(ev.commandName) && ev.command[ev.commandName] === 'flows') reads.push(ev.commandName);
            });
        }
        return connect.apply(this, args);
    };
    t.after(() => { MongoClient.prototype.connect = connect; });
    const db = uniqueDb('noreads');
    const ed = await storageFor(t, db, 'editor');
    await ed.storage.saveFlows(flows('v1'), null);
    const wk = await storageFor(t, db, 'worker', { syncCheckSeconds: 60 });
    await wk.runtime.start();
    // The change stream delivers revision 2 once the follower's start-up reads are done (they come first).
    await ed.storage.saveFlows(flows('v2'), null);
    await waitFor(() => wk.storage.statusInfo().rev === 2 && wk.storage.statusInfo().ready, 10000, 'revision 2 on the worker');
    const atStart = reads.length;
    assert.ok(reads.includes('aggregate'), 'the worker opened no change stream');
    for (let rev = 3; rev <= 5; rev++) {
        await ed.storage.saveFlows(flows(`v${rev}`), null);
        await waitFor(() => wk.storage.statusInfo().rev === rev && wk.storage.statusInfo().ready, 10000, `revision ${rev} on the worker`);
    }
    assert.deepEqual(reads.slice(atStart), [], 'the worker read the flows collection for a deploy');
});

test('a check that read the newest revision before a deploy and answers after it does not take the instance back to the older one', async (t) => {
    // Guards: the editor's periodic check read revision 5 just before a deploy saved 6 and answered just
    // after; the editor then took 5 for the newest, wanted a reload it never did, and its /healthz said
    // "down" until the next check (seen once in a hostile-suite run).
    const db = uniqueDb('stalecheck');
    const first = await storageFor(t, db, 'editor');
    await first.storage.saveFlows(flows('v1'), null);
    await first.storage.close();
    // The second "newest revision" read (the first periodic check; the first is the start check) is
    // answered only after the deploy.
    let caught;
    const isCaught = new Promise((resolve) => { caught = resolve; });
    let release;
    const released = new Promise((resolve) => { release = resolve; });
    let headReads = 0;
    const find = Collection.prototype.find;
    Collection.prototype.find = function (filter, options) {
        const cursor = find.call(this, filter, options);
        if (this.collectionName === 'flows' && options && options.limit === 1 && options.projection && options.projection.deployId && ++headReads === 2) {
            const toArray = cursor.toArray.bind(cursor);
            cursor.toArray = async () => {
                const docs = await toArray();
                caught(docs);
                await released;
                return docs;
            };
        }
        return cursor;
    };
    // The change events the editor's change stream delivers (their _id): revision 2's must be in before the
    // held answer is, or that event would put things right again after it and hide the fault.
    const delivered = [];
    const tryNext = ChangeStream.prototype.tryNext;
    ChangeStream.prototype.tryNext = async function () {
        const change = await tryNext.call(this);
        if (change && change.documentKey) delivered.push(change.documentKey._id);
        return change;
    };
    t.after(() => {
        Collection.prototype.find = find;
        ChangeStream.prototype.tryNext = tryNext;
    });
    const ed = await storageFor(t, db, 'editor', { syncCheckSeconds: 1 });
    await ed.runtime.start();
    const stale = await isCaught;
    assert.equal(stale[0]._id, 1, 'the held read found revision 1');
    assert.equal(await ed.storage.saveFlows(flows('v2'), null), 2);
    // (The follower handles a change in the microtasks after tryNext returns it, before waitFor's next poll.)
    await waitFor(() => delivered.includes(2) && ed.storage.statusInfo().latestRev === 2, 5000, 'revision 2 known and its change event handled');
    const linesBefore = ed.runtime.logs.length;
    release();
    // The held answer handled (a line from now on): taken for the newest (the fault) or noticed as out of date.
    const handled = () => ed.runtime.logs.slice(linesBefore).some(([, m]) => /revision 1 \(seen by periodic check\)|read before revision 2 was known/.test(m));
    await waitFor(handled, 5000, 'the held answer handled');
    const info = ed.storage.statusInfo();
    assert.deepEqual([info.latestRev, info.ready], [2, true], 'the editor right after the held answer (the next check is 1 s away)');
});

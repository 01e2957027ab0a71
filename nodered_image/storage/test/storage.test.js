'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startMongo, uniqueDb, makeStorage, waitFor, sleep, allKeys, MongoClient } = require('./helpers');

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

// Node properties with names MongoDB/DocumentDB reject ($-prefixed, dotted) must round-trip.
const sampleFlows = (marker, n = 3) => [
    { id: 'tab1', type: 'tab', label: `tab ${marker}` },
    ...Array.from({ length: n }, (_, i) => ({
        id: `n${i}`, type: 'function', z: 'tab1', func: `return "${marker}";`,
        rules: [{ $op: 'set', 'a.b': marker, '~t': 1 }], wires: [],
    })),
];

test('flows and credentials round-trip in one revision document with DocumentDB-safe field names', async (t) => {
    const db = uniqueDb('roundtrip');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    await ed.storage.saveCredentials({ $: 'ciphertext-1' });
    await ed.storage.saveFlows(sampleFlows('one'), { username: 'alice' });

    const docs = await client.db(db).collection('flows').find().toArray();
    assert.equal(docs.length, 1);
    assert.equal(docs[0]._id, 1);
    assert.equal(docs[0].rev, 1);
    assert.equal(docs[0].savedBy, 'alice');
    assert.ok(docs[0].savedAt instanceof Date);
    const bad = allKeys(docs[0]).filter((k) => k.startsWith('$') || k.includes('.'));
    assert.deepEqual(bad, []);

    const wk = await storageFor(t, db, 'worker');
    assert.deepEqual(await wk.storage.getFlows(), sampleFlows('one'));
    assert.deepEqual(await wk.storage.getCredentials(), { $: 'ciphertext-1' });
});

test('credentials carry forward when a deploy does not change them; newest revision wins', async (t) => {
    const db = uniqueDb('carry');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    await ed.storage.saveCredentials({ $: 'c1' });
    assert.equal(await ed.storage.saveFlows(sampleFlows('a'), null), 1);
    assert.equal(await ed.storage.saveFlows(sampleFlows('b'), null), 2);
    const docs = await client.db(db).collection('flows').find().sort({ _id: 1 }).toArray();
    assert.deepEqual(docs.map((d) => d.credentials), [{ encrypted: 'c1' }, { encrypted: 'c1' }]);

    // An editor restarted later reads the newest revision and its credentials.
    const ed2 = await storageFor(t, db, 'editor');
    assert.deepEqual(await ed2.storage.getFlows(), sampleFlows('b'));
    assert.deepEqual(await ed2.storage.getCredentials(), { $: 'c1' });
    await ed2.storage.saveCredentials({ $: 'c2' });
    assert.equal(await ed2.storage.saveFlows(sampleFlows('c'), null), 3);
    const wk = await storageFor(t, db, 'worker');
    await wk.storage.getFlows();
    assert.deepEqual(await wk.storage.getCredentials(), { $: 'c2' });
});

test('only the last K revisions are kept', async (t) => {
    const db = uniqueDb('keep');
    const ed = await storageFor(t, db, 'editor', { revisionsKept: 3 });
    if (!ed) return;
    for (let i = 1; i <= 6; i++) await ed.storage.saveFlows(sampleFlows(`r${i}`), null);
    const coll = client.db(db).collection('flows');
    await waitFor(async () => (await coll.countDocuments()) === 3, 5000, 'pruning');
    const ids = (await coll.find({}, { projection: { _id: 1 } }).sort({ _id: 1 }).toArray()).map((d) => d._id);
    assert.deepEqual(ids, [4, 5, 6]);
});

test('an empty database gives an empty flow set and no credentials', async (t) => {
    const ed = await storageFor(t, uniqueDb('empty'), 'editor');
    if (!ed) return;
    assert.deepEqual(await ed.storage.getFlows(), []);
    assert.deepEqual(await ed.storage.getCredentials(), {});
    assert.equal(ed.storage.statusInfo().latestRev, 0);
});

test('settings and sessions round-trip; a worker keeps the settings it saves in memory only', async (t) => {
    const db = uniqueDb('settings');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    const settings = { _credentialSecret: 'x', users: { alice: { editor: { view: { 'view-grid-size': 20 } } } }, $weird: 1 };
    await ed.storage.saveSettings(settings);
    assert.deepEqual(await ed.storage.getSettings(), settings);
    const sessions = { tok1: { user: 'alice', client: 'node-red-editor', scope: ['*'], accessToken: 'tok1', expires: 123 } };
    await ed.storage.saveSessions(sessions);
    assert.deepEqual(await ed.storage.getSessions(), sessions);
    const raw = await client.db(db).collection('settings').findOne({ _id: 'settings' });
    assert.deepEqual(allKeys(raw).filter((k) => k.startsWith('$') || k.includes('.')), []);
    // Both in MongoDB (an editor's user dir dies with its container), read back by another editor's storage.
    assert.equal(raw.settings.users.alice.editor.view['view-grid-size'], 20);
    const rawSessions = await client.db(db).collection('sessions').findOne({ _id: 'sessions' });
    assert.equal(rawSessions.sessions.tok1.user, 'alice');
    const other = await storageFor(t, db, 'editor');
    assert.deepEqual(await other.storage.getSettings(), settings);
    assert.deepEqual(await other.storage.getSessions(), sessions);

    const wk = await storageFor(t, db, 'worker');
    assert.deepEqual(await wk.storage.getSettings(), settings);
    await wk.storage.saveSettings({ instanceId: 'worker-local' });
    assert.deepEqual(await wk.storage.getSettings(), { instanceId: 'worker-local' });
    assert.deepEqual(await ed.storage.getSettings(), settings, 'the worker wrote nothing');
});

test('settings held in objects without a prototype are stored with their keys escaped too', async (t) => {
    // Guards the one key escaping of storage and context store (common/stored_keys.js): the storage
    // passed an Object.create(null) object through unescaped, so a `$` or `.` key reached the database
    // as it was (refused by DocumentDB), where the context store escaped it.
    const db = uniqueDb('bare-settings');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    const view = Object.assign(Object.create(null), { 'grid.size': 20, $mode: 'dark' });
    await ed.storage.saveSettings({ users: { alice: { view } } });
    const raw = await client.db(db).collection('settings').findOne({ _id: 'settings' });
    assert.deepEqual(allKeys(raw).filter((k) => k.startsWith('$') || k.includes('.')), []);
    assert.deepEqual(await ed.storage.getSettings(), { users: { alice: { view: { 'grid.size': 20, $mode: 'dark' } } } });
});

test('library entries and directory listings behave like Node-RED file storage', async (t) => {
    const db = uniqueDb('library');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    const s = ed.storage;
    await s.saveLibraryEntry('functions', 'util/strings/trim.js', { name: 'trim', outputs: 1 }, 'return msg;');
    await s.saveLibraryEntry('functions', 'util/pad.js', { name: 'pad' }, 'return pad;');
    await s.saveLibraryEntry('functions', 'top.js', { name: 'top' }, 'return top;');
    await s.saveLibraryEntry('flows', 'demo/hello', {}, '[{"id":"1"}]');

    assert.equal(await s.getLibraryEntry('functions', 'util/pad.js'), 'return pad;');
    assert.equal(await s.getLibraryEntry('functions', '/util/strings/trim.js'), 'return msg;');
    assert.deepEqual(await s.getLibraryEntry('functions', ''), ['util', { name: 'top', fn: 'top.js' }]);
    assert.deepEqual(await s.getLibraryEntry('functions', 'util'), ['strings', { name: 'pad', fn: 'pad.js' }]);
    assert.deepEqual(await s.getLibraryEntry('functions', 'util/'), ['strings', { name: 'pad', fn: 'pad.js' }]);
    assert.deepEqual(await s.getLibraryEntry('functions', 'util/strings'), [{ name: 'trim', outputs: 1, fn: 'trim.js' }]);
    // flows entries are stored as .json and found with or without the extension
    assert.equal(await s.getLibraryEntry('flows', 'demo/hello'), '[{"id":"1"}]');
    assert.equal(await s.getLibraryEntry('flows', 'demo/hello.json'), '[{"id":"1"}]');
    assert.deepEqual(await s.getLibraryEntry('flows', 'demo'), [{ fn: 'hello.json' }]);
    assert.deepEqual(await s.getLibraryEntry('templates', ''), []);
    await assert.rejects(s.getLibraryEntry('functions', 'nope.js'), /not found/);
    // overwrite replaces the entry
    await s.saveLibraryEntry('functions', 'top.js', { name: 'top2' }, 'v2');
    assert.equal(await s.getLibraryEntry('functions', 'top.js'), 'v2');

    // Kept in MongoDB, one document per entry (an editor's user dir dies with its container), and read
    // back from there by another editor's storage.
    const docs = await client.db(db).collection('library').find().sort({ _id: 1 }).toArray();
    assert.deepEqual(docs.map((d) => [d._id, d.type, d.path, d.body]), [
        ['flows:demo/hello.json', 'flows', 'demo/hello.json', '[{"id":"1"}]'],
        ['functions:top.js', 'functions', 'top.js', 'v2'],
        ['functions:util/pad.js', 'functions', 'util/pad.js', 'return pad;'],
        ['functions:util/strings/trim.js', 'functions', 'util/strings/trim.js', 'return msg;'],
    ]);
    const other = await storageFor(t, db, 'editor');
    assert.deepEqual(await other.storage.getLibraryEntry('functions', 'util'), ['strings', { name: 'pad', fn: 'pad.js' }]);
    assert.equal(await other.storage.getLibraryEntry('functions', 'top.js'), 'v2');
});

test('a worker refuses to save flows, credentials or library entries and writes nothing', async (t) => {
    const db = uniqueDb('refuse');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    await ed.storage.saveFlows(sampleFlows('kept'), null);
    const wk = await storageFor(t, db, 'worker');
    await assert.rejects(wk.storage.saveCredentials({ $: 'evil' }), (e) => e.code === 'forbidden');
    await assert.rejects(wk.storage.saveFlows(sampleFlows('evil'), null), (e) => e.code === 'forbidden' && /worker/.test(e.message));
    await assert.rejects(wk.storage.saveLibraryEntry('functions', 'x.js', {}, 'x'), (e) => e.code === 'forbidden');
    const docs = await client.db(db).collection('flows').find().toArray();
    assert.equal(docs.length, 1);
    assert.deepEqual(JSON.parse(docs[0].flowsJson).map((n) => n.id).length, 4);
    assert.equal(await client.db(db).collection('library').countDocuments(), 0);
    assert.ok(wk.runtime.logs.some(([level, m]) => level === 'warn' && /refused to save flows/.test(m)), 'a clear log line');
});

test('a reader during saves never sees empty or partial flows', async (t) => {
    const db = uniqueDb('atomic');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    const N = 200;
    await ed.storage.saveCredentials({ $: 'c-s0' });
    await ed.storage.saveFlows(sampleFlows('s0', N), null);
    const wk = await storageFor(t, db, 'worker');
    let done = false;
    let reads = 0;
    const reader = (async () => {
        while (!done) {
            const flows = await wk.storage.getFlows();
            reads += 1;
            assert.equal(flows.length, N + 1, 'a complete flow set');
            const markers = new Set(flows.filter((n) => n.type === 'function').map((n) => n.rules[0]['a.b']));
            assert.equal(markers.size, 1, 'all nodes from one revision');
            const creds = await wk.storage.getCredentials();
            assert.equal(creds.$, `c-${[...markers][0]}`, 'credentials of the same revision');
        }
    })();
    for (let i = 1; i <= 30; i++) {
        await ed.storage.saveCredentials({ $: `c-s${i}` });
        await ed.storage.saveFlows(sampleFlows(`s${i}`, N), null);
    }
    done = true;
    await reader;
    assert.ok(reads > 5, `reader ran concurrently (${reads} reads)`);
});

test('a worker follows every deploy, coalesces bursts and ends on the newest, never going back', async (t) => {
    const db = uniqueDb('follow');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    await ed.storage.saveFlows(sampleFlows('v1'), null);
    const wk = await storageFor(t, db, 'worker', { syncCheckSeconds: 60 });
    await wk.runtime.start();
    assert.equal(wk.storage.statusInfo().rev, 1);
    assert.equal(wk.storage.statusInfo().ready, true);

    // one deploy at a time: each one is loaded
    for (let i = 2; i <= 4; i++) {
        await ed.storage.saveFlows(sampleFlows(`v${i}`), null);
        await waitFor(() => wk.storage.statusInfo().rev === i && wk.storage.statusInfo().ready, 10000, `revision ${i}`);
    }
    // a burst while starting flows takes a while: the worker skips intermediate revisions, ends on the newest
    wk.runtime.startDelayMs = 150;
    for (let i = 5; i <= 24; i++) await ed.storage.saveFlows(sampleFlows(`v${i}`), null);
    await waitFor(() => wk.storage.statusInfo().rev === 24 && wk.storage.statusInfo().ready, 15000, 'revision 24');
    const revs = wk.runtime.loads.map((l) => l.rev);
    assert.deepEqual(revs.slice(0, 3), [2, 3, 4]);
    for (let i = 1; i < revs.length; i++) assert.ok(revs[i] > revs[i - 1], `never back: ${revs}`);
    assert.ok(revs.length < 3 + 20, `the burst coalesced (${revs.length} loads)`);
    const last = wk.runtime.loads[wk.runtime.loads.length - 1];
    assert.equal(last.flows[0].label, 'tab v24');
    await sleep(300);
    assert.equal(wk.storage.statusInfo().rev, 24);
});

test('status records: one per instance with role, state and revision; TTL index; removed on close', async (t) => {
    const db = uniqueDb('status');
    const ed = await storageFor(t, db, 'editor', { instanceId: 'ed-1', statusSeconds: 1 });
    if (!ed) return;
    await ed.runtime.start();
    const coll = client.db(db).collection('instances');
    const rec = await waitFor(async () => {
        const r = await coll.findOne({ _id: 'ed-1' });
        return r && r.state === 'running' ? r : null;
    }, 5000, 'status record');
    assert.equal(rec.role, 'editor');
    assert.equal(rec.rev, 0);
    assert.equal(rec.pid, process.pid);
    assert.ok(rec.lastSeen instanceof Date && rec.startedAt instanceof Date);
    const indexes = await coll.indexes();
    assert.ok(indexes.some((i) => i.key.lastSeen === 1 && i.expireAfterSeconds === 60), 'TTL index on lastSeen');
    await ed.storage.close();
    assert.equal(await coll.countDocuments({ _id: 'ed-1' }), 0);
});

test('bad options are refused with the option named', async () => {
    const { createStorage } = require('../lib/storage');
    await assert.rejects(createStorage().init({ storageModuleOptions: { role: 'boss', mongoUrl: mongo.url } }, null), /role/);
    await assert.rejects(createStorage().init({ storageModuleOptions: { role: 'worker' } }, null), /mongoUrl/);
});

test('flows that cannot start: a worker keeps serving the newest revision that started; with none it is not ready', async (t) => {
    const db = uniqueDb('broken');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    const broken = (m) => [...sampleFlows(m), { id: 'x', type: 'no-such-type', z: 'tab1', wires: [] }];
    await ed.storage.saveFlows(broken('b1'), null);
    // at startup, nothing that starts: not ready
    const wk = await storageFor(t, db, 'worker', { syncCheckSeconds: 60 });
    await wk.runtime.start();
    await waitFor(() => wk.storage.statusInfo().state === 'error', 5000, 'error state');
    assert.deepEqual([wk.storage.statusInfo().ready, wk.storage.statusInfo().rev], [false, null]);
    assert.equal(wk.storage.statusInfo().message, 'not serving: revision 1 failed: missing node types: no-such-type');
    await ed.storage.saveFlows(sampleFlows('good2'), null);
    await waitFor(() => wk.storage.statusInfo().ready && wk.storage.statusInfo().rev === 2, 10000, 'recovery after startup failure');
    assert.equal(wk.storage.statusInfo().failed, null);
    // on a reload: back to revision 2, still ready
    await ed.storage.saveFlows(broken('b3'), null);
    await waitFor(() => wk.storage.statusInfo().failed !== null, 10000, 'the failure');
    await waitFor(() => wk.storage.statusInfo().ready, 10000, 'serving again');
    const info = wk.storage.statusInfo();
    assert.deepEqual([info.rev, info.latestRev, info.state], [2, 3, 'running']);
    assert.deepEqual(info.failed, { rev: 3, reason: 'missing node types: no-such-type' });
    assert.equal(wk.runtime.loads.at(-1).flows[0].label, 'tab good2');
    await ed.storage.saveFlows(sampleFlows('good4'), null);
    await waitFor(() => wk.storage.statusInfo().ready && wk.storage.statusInfo().rev === 4, 10000, 'recovery after reload failure');
    assert.equal(wk.storage.statusInfo().failed, null);
    assert.equal(wk.storage.statusInfo().message, 'serving revision 4');
});

test('the storage\'s client checks its connection pool every 10 s, not ten times a second', async () => {
    // Guards the idle cost: the driver's default pool check (100 ms) was about half of what an idle
    // worker spent. The driver takes the setting only internally: a driver upgrade that ignores it fails here.
    const { connectWithBackoff, POOL_CHECK_MS } = require('../lib/connect');
    const c = await connectWithBackoff({ role: 'worker', mongoUrl: mongo.url, database: uniqueDb('pool') }, { info() {}, warn() {} }, () => false);
    try {
        const pools = [...c.topology.s.servers.values()].map((s) => s.pool.options.minPoolSizeCheckFrequencyMS);
        assert.ok(pools.length > 0);
        assert.deepEqual(new Set(pools), new Set([POOL_CHECK_MS]));
        assert.equal(POOL_CHECK_MS, 10000);
    } finally {
        await c.close();
    }
});

'use strict';
// The bounds of a worker's debug forwarding (lib/debug_forwarder.js), against a stand-in database: the
// rate and byte limits, each flow's (and node's) share of them, one notice per drop episode with the
// exact count, drops while the database is away counted and reported once it is back, oversized
// messages replaced, a hanging database never blocking the flows.
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('events');
const { DebugForwarder } = require('../lib/debug_forwarder');
const { interleave } = require('../lib/debug_budget');
const { waitFor } = require('./instances');

// A Db stand-in: insertMany records documents, or fails while `down`, or hangs while `stuck`.
function fakeDb() {
    const db = { docs: [], down: false, stuck: null };
    const coll = {
        createIndex: async () => 'at_ttl',
        insertMany: async (docs) => {
            if (db.stuck) await db.stuck;
            if (db.down) throw new Error('connection refused');
            db.docs.push(...docs);
        },
    };
    db.collection = () => coll;
    return db;
}

// Makes the stand-in's writes hang; resolves with release() once the first write (of `first`) is in flight.
async function hungWrite(db, f, publish) {
    let release;
    db.stuck = new Promise((r) => {
        release = r;
    });
    publish({ id: 'first', msg: 'first' });
    await waitFor(() => f.writing !== null, 5000, 'a write in flight');
    return () => {
        release();
        db.stuck = null;
    };
}

function forwarder(db, extra = {}) {
    const events = new EventEmitter();
    const lines = [];
    const f = new DebugForwarder({
        events, database: () => db, instance: 'worker-9', role: 'worker', rate: 20,
        log: (level, m) => lines.push([level, m]), flushMs: 20, quietMs: 100, ...extra,
    });
    f.start();
    const publish = (data) => events.emit('comms', { topic: 'debug', data });
    return { f, events, publish, lines };
}

// The messages written, in order, each with its document's instance, role and time.
const messages = (db) => db.docs.flatMap((d) => d.messages.map((m) => ({ ...m, at: d.at, instance: d.instance, role: d.role })));
const notices = (db) => messages(db).filter((m) => m.kind === 'dropped');
const shown = (db) => messages(db).filter((m) => m.kind === 'debug');

test('a flood is cut to the rate, and one notice counts exactly what was dropped', async () => {
    const db = fakeDb();
    const { f, publish, events } = forwarder(db);
    events.emit('comms', { topic: 'status/x', data: {} }); // not the sidebar's: ignored
    for (let i = 0; i < 5000; i++) publish({ id: 'n1', msg: String(i), format: 'string[4]' });
    await waitFor(() => notices(db).length === 1, 5000, 'the notice');
    const [notice] = notices(db);
    assert.equal(shown(db).length + notice.dropped, 5000);
    assert.ok(shown(db).length <= 25, `${shown(db).length} forwarded at 20/s (burst 20)`);
    assert.equal(JSON.parse(shown(db)[0].data).msg, '0', 'the first ones go, in order');
    assert.ok(db.docs.length <= shown(db).length / 5, `${db.docs.length} documents for ${shown(db).length} messages: one per flush`);
    const data = JSON.parse(notice.data);
    assert.equal(data.level, 30);
    assert.match(data.msg, new RegExp(`^${notice.dropped} debug messages of worker-9 dropped in [\\d.]+ s: ${notice.dropped} over the limit of 20 per second`));
    await f.stop();
    assert.equal(notices(db).length, 1, 'one notice per episode');
    assert.ok(shown(db).every((d) => d.at instanceof Date && d.instance === 'worker-9' && d.role === 'worker'));
});

test('messages lost while the database is away are counted and reported when it is back', async () => {
    const db = fakeDb();
    db.down = true;
    const { f, publish, lines } = forwarder(db);
    for (let i = 0; i < 5; i++) publish({ msg: `lost ${i}` });
    await waitFor(() => f.drops.write === 5, 5000, 'the failed write counted');
    assert.equal(db.docs.length, 0);
    db.down = false;
    await waitFor(() => notices(db).length === 1, 5000, 'the notice once the database is back');
    assert.equal(notices(db)[0].dropped, 5);
    assert.match(JSON.parse(notices(db)[0].data).msg, /5 not written: database unreachable/);
    assert.ok(lines.some(([, m]) => /cannot write to the database/.test(m)));
    await f.stop();
});

test('a database that hangs never blocks the flows: what waits is bounded per node and the rest counted', async () => {
    const db = fakeDb();
    const { f, publish } = forwarder(db, { rate: 1000, perNode: 100 });
    const release = await hungWrite(db, f, publish);
    const began = process.hrtime.bigint();
    for (let i = 0; i < 5000; i++) publish({ id: 'n1', msg: `m${i}` });
    const took = Number(process.hrtime.bigint() - began) / 1e6;
    assert.ok(took < 1000, `taking 5000 messages took ${took} ms`);
    assert.equal(f.queues.size, 100);
    assert.equal(f.drops.full, 4900);
    release();
    await waitFor(() => notices(db).length === 1, 5000, 'the notice');
    assert.equal(shown(db).length + notices(db)[0].dropped, 5001);
    assert.match(JSON.parse(notices(db)[0].data).msg, /4900 while the database was slow/);
    await f.stop();
});

test('a message too large to forward is replaced by a note naming its node', async () => {
    const db = fakeDb();
    const { f, publish } = forwarder(db, { maxBytes: 1000 });
    publish({ id: 'big', z: 'tab', name: 'big one', msg: 'x'.repeat(5000), format: 'string[5000]' });
    await waitFor(() => shown(db).length === 1, 5000, 'the note');
    const data = JSON.parse(shown(db)[0].data);
    assert.equal(data.id, 'big');
    assert.match(data.msg, /over the 1 KiB a worker forwards/);
    await f.stop();
});

test('a flood from one flow leaves every warning of a quiet flow forwarded, and the notice names the flood', async () => {
    const db = fakeDb();
    const { f, publish } = forwarder(db);
    for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 500; i++) publish({ id: 'flood', z: 'noisy', name: 'flood', msg: `f${round}.${i}` });
        publish({ id: 'w', z: 'quiet', type: 'function', level: 30, msg: `quiet ${round}` });
        await waitFor(() => shown(db).some((m) => JSON.parse(m.data).msg === `quiet ${round}`), 5000, `quiet ${round}`);
    }
    await f.stop();
    const [notice] = notices(db);
    assert.match(JSON.parse(notice.data).msg, /; most from "flood" \(\d+\)$/);
    assert.equal(shown(db).length + notice.dropped, 5010);
});

test('within a flow, a noisy node leaves the other nodes their share', async () => {
    const db = fakeDb();
    const { f, publish } = forwarder(db, { rate: 10 });
    for (let i = 0; i < 1000; i++) publish({ id: 'noisy', z: 'tab', msg: `n${i}` });
    publish({ id: 'error', z: 'tab', type: 'function', level: 20, msg: 'failed' });
    await f.stop();
    const msgs = shown(db).map((m) => JSON.parse(m.data).msg);
    assert.ok(msgs.includes('failed'), 'the other node\'s error');
    assert.equal(msgs.length, 10);
    assert.equal(msgs[msgs.length - 1], 'failed', 'messages stay in the order they came');
});

test('bytes are limited per second too: large messages of a flood are cut to the byte budget', async () => {
    const db = fakeDb();
    const { f, publish } = forwarder(db, { rate: 1000, kib: 16, flushMs: 50, maxWaitMs: 500 });
    const big = 'x'.repeat(4000);
    const started = Date.now();
    for (let i = 0; i < 200; i++) publish({ id: 'big', z: 'noisy', msg: big });
    publish({ id: 'small', z: 'quiet', msg: 'small' });
    await waitFor(() => notices(db).length === 1, 5000, 'the notice');
    const seconds = (Date.now() - started) / 1000;
    await f.stop();
    const bytes = shown(db).reduce((n, m) => n + Buffer.byteLength(m.data) + 40, 0);
    assert.ok(bytes <= 16 * 1024 * (seconds + 1), `${bytes} bytes in ${seconds} s at 16 KiB/s (burst 16 KiB)`);
    assert.ok(shown(db).some((m) => JSON.parse(m.data).msg === 'small'));
    assert.equal(f.totals.bytes, bytes);
    const notice = notices(db)[0];
    assert.match(JSON.parse(notice.data).msg, new RegExp(`${f.totals.dropped.bytes} over the limit of 16 KiB per second \\(NODE_RED_DEBUG_FORWARD_KIB\\)`));
    assert.equal(shown(db).length + notice.dropped, 201);
});

test('a message larger than the byte budget is replaced by a note, or its node could never send again', () => {
    const f = new DebugForwarder({ events: new EventEmitter(), database: () => null, instance: 'w', role: 'worker', rate: 10, kib: 16, log: () => {} });
    assert.equal(f.maxBytes, 16 * 1024 - 40);
    assert.equal(new DebugForwarder({ events: new EventEmitter(), database: () => null, instance: 'w', role: 'worker', rate: 10, kib: 1024, log: () => {} }).maxBytes, 64 * 1024);
});

test('a sidebar-only debug node whose queue is full has its messages dropped before it formats them, and counted', async () => {
    // Node-RED's own hooks: a message the hook halts never reaches the debug node's input handler.
    const { hooks } = require('@node-red/util');
    const db = fakeDb();
    const events = new EventEmitter();
    const f = new DebugForwarder({ events, database: () => db, instance: 'worker-9', role: 'worker', rate: 20, log: () => {}, flushMs: 20, quietMs: 100 });
    f.start(hooks);
    const completed = [];
    const debugNode = (id, extra = {}) => ({ id, z: 'tab', type: 'debug', name: id, active: true, tosidebar: true, console: 'false', tostatus: false, _complete: (msg) => completed.push([id, msg]), ...extra });
    const receives = (node) => new Promise((resolve) => hooks.trigger('onReceive', { msg: { payload: 1 }, destination: { id: node.id, node } }, (err) => resolve(err !== false)));
    try {
        const sidebar = debugNode('sidebar');
        assert.equal(await receives(sidebar), true, 'an empty queue: the node formats its message');
        for (let i = 0; i < 20; i++) events.emit('comms', { topic: 'debug', data: { id: 'sidebar', z: 'tab', msg: String(i) } });
        assert.equal(await receives(sidebar), false, 'a full queue: dropped before the node');
        assert.deepEqual(completed, [['sidebar', { payload: 1 }]], 'the message completes, as the debug node would complete it');
        assert.equal(f.dropped, 1);
        for (const other of [debugNode('console', { console: 'true' }), debugNode('status', { tostatus: true }), debugNode('off', { active: false }),
            debugNode('log', { tosidebar: false }), { ...debugNode('fn'), type: 'function' }]) {
            for (let i = 0; i < 20; i++) events.emit('comms', { topic: 'debug', data: { id: other.id, z: 'tab', msg: String(i) } });
            assert.equal(await receives(other), true, `${other.id}: it has other work than the sidebar, or is no debug node`);
        }
        assert.equal(await receives(debugNode('fresh')), true, 'another node of the same flow keeps its own queue');
    } finally {
        await f.stop();
    }
    assert.equal(await receives(debugNode('sidebar')), true, 'stopped: the hook is gone');
    const [notice] = notices(db);
    assert.match(JSON.parse(notice.data).msg, /most from "sidebar" \(\d+\)/);
    assert.equal(shown(db).length + notice.dropped, 6 * 20 + 1, 'every message: forwarded or counted in the notice');
});

test('interleave: one of each list per round, the shorter lists first', () => {
    assert.deepEqual(interleave([[1, 2, 3, 4], ['a'], ['x', 'y']]), ['a', 'x', 1, 'y', 2, 3, 4]);
    assert.deepEqual(interleave([]), []);
});

test('what waits for the budget is bounded in bytes per node too: large messages wait as a second of the byte budget', async () => {
    // Guards: a node's queue held `rate` messages whatever their size, so under a flood of large
    // messages (the hostile mix's 61 KiB ones) a worker formatted and kept far more than the byte budget
    // could ever forward: most waited out maxWaitMs and were dropped after the debug node's formatting,
    // the worker's main cost of a debug flood; a hung database left rate x 64 KiB waiting per node.
    const db = fakeDb();
    const { f, publish } = forwarder(db, { rate: 1000, kib: 16 });
    const release = await hungWrite(db, f, publish);
    const big = 'x'.repeat(4000);
    for (let i = 0; i < 200; i++) publish({ id: 'big', z: 'noisy', msg: big });
    assert.ok(f.queues.size <= 5, `${f.queues.size} large messages waiting (16 KiB a second: about 4)`);
    assert.equal(f.queues.size + f.drops.full, 200, 'the rest dropped on arrival, counted as the database being slow');
    // The hook before a debug node formats its message drops it now, without the formatting.
    const node = { type: 'debug', active: true, tosidebar: true, id: 'big', z: 'noisy' };
    assert.equal(f.dropBeforeFormatting(node, {}), true);
    // Small messages of another node still have their room.
    publish({ id: 'small', z: 'quiet', msg: 'small' });
    assert.equal(f.queues.full('quiet', 'small'), null);
    release();
    await f.stop();
});

test('a node held back by its byte budget keeps a second of it waiting, and its drops say bytes', async () => {
    const db = fakeDb();
    const { f, publish } = forwarder(db, { rate: 1000, kib: 16, flushMs: 1000 });
    const big = 'x'.repeat(4000);
    for (let i = 0; i < 50; i++) publish({ id: 'big', z: 'noisy', msg: big });
    assert.ok(f.queues.size <= 5, `${f.queues.size} waiting`);
    assert.equal(f.drops.bytes, 50 - f.queues.size, 'dropped as over the byte budget, not the rate');
    assert.equal(f.drops.rate, 0);
    await f.stop();
});

test('what a flush puts back still counts against the node\'s bytes: the bound holds flush after flush', async () => {
    // Guards: entries a flush could not send go back into their queue; if their bytes were not counted
    // again, a node held back by the byte budget would take a second's worth more after every flush.
    const db = fakeDb();
    const { f, publish } = forwarder(db, { rate: 1000, kib: 16, flushMs: 60000 });
    const big = 'x'.repeat(4000);
    const burst = () => {
        for (let i = 0; i < 4; i++) publish({ id: 'big', z: 'noisy', msg: big });
    };
    burst();
    await f.flush(); // the byte burst spent on these
    assert.equal(shown(db).length, 4);
    burst();
    await f.flush(); // nothing left in the bucket: all put back, held back by bytes
    const waiting = f.queues.size;
    assert.equal(f.queues.full('noisy', 'big'), 'bytes');
    for (let i = 0; i < 10; i++) publish({ id: 'big', z: 'noisy', msg: big });
    assert.equal(f.queues.size, waiting, 'nothing more taken while a second of bytes waits');
    await f.stop();
});

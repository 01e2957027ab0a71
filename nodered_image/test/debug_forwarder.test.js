'use strict';
// The bounds of a worker's debug forwarding (lib/debug_forwarder.js), against a stand-in database: the
// rate limit, one notice per drop episode with the exact count, drops while the database is away counted
// and reported once it is back, oversized messages replaced, a hanging database never blocking the flows.
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('events');
const { DebugForwarder } = require('../lib/debug_forwarder');
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

test('a database that hangs never blocks the flows: the queue is bounded and the rest counted', async () => {
    const db = fakeDb();
    let release;
    db.stuck = new Promise((r) => {
        release = r;
    });
    const { f, publish } = forwarder(db, { rate: 1000, queueLimit: 100 });
    publish({ msg: 'first' });
    await waitFor(() => f.writing !== null, 5000, 'a write in flight');
    const began = process.hrtime.bigint();
    for (let i = 0; i < 5000; i++) publish({ msg: `m${i}` });
    const took = Number(process.hrtime.bigint() - began) / 1e6;
    assert.ok(took < 1000, `taking 5000 messages took ${took} ms`);
    assert.equal(f.queue.length, f.queueLimit);
    assert.ok(f.drops.full > 0);
    release();
    db.stuck = null;
    await waitFor(() => notices(db).length === 1, 5000, 'the notice');
    assert.equal(shown(db).length + notices(db)[0].dropped, 5001);
    await f.stop();
});

test('a message too large to forward is replaced by a note naming its node', async () => {
    const db = fakeDb();
    const { f, publish } = forwarder(db, { maxChars: 1000 });
    publish({ id: 'big', z: 'tab', name: 'big one', msg: 'x'.repeat(5000), format: 'string[5000]' });
    await waitFor(() => shown(db).length === 1, 5000, 'the note');
    const data = JSON.parse(shown(db)[0].data);
    assert.equal(data.id, 'big');
    assert.match(data.msg, /over the 1 KiB a worker forwards/);
    await f.stop();
});

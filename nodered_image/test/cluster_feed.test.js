'use strict';
// The Cluster sidebar's feed on the editor (lib/cluster/feed.js), against a stand-in database: it follows
// the status records only while an editor session is connected, a record's periodic rewrite costs no
// read and no push, a real change is pushed (retained) after one read, and a worker that stops writing
// its record turns stale on time without any change event.
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('events');
const { ClusterFeed } = require('../lib/cluster/feed');
const { waitFor } = require('./instances');

// A change stream whose events the test pushes; tryNext waits for one (or for close()).
class FakeStream {
    constructor() {
        this.queue = [];
        this.waiting = null;
        this.closed = false;
        this.resumeToken = { t: 1 };
    }

    push(change) {
        this.queue.push(change);
        if (this.waiting) this.waiting();
    }

    async tryNext() {
        if (this.queue.length) return this.queue.shift();
        if (this.closed) throw new Error('stream closed');
        await new Promise((resolve) => {
            this.waiting = resolve;
            setTimeout(resolve, 50).unref();
        });
        this.waiting = null;
        return this.queue.shift() || null;
    }

    async close() {
        this.closed = true;
        if (this.waiting) this.waiting();
    }
}

// A feed on a stand-in database, stopped when the test ends (passed or not).
function setUp(t, { clock = Date.now() } = {}) {
    const records = [
        { _id: 'editor', role: 'editor', rev: 3, state: 'running', lastSeen: new Date(clock) },
        { _id: 'w1', role: 'worker', rev: 3, state: 'running', lastSeen: new Date(clock) },
    ];
    const state = { records, reads: 0, streams: [], now: clock };
    const db = { collection: () => ({ watch: () => { const s = new FakeStream(); state.streams.push(s); return s; } }) };
    const reads = {
        database: () => db,
        snapshot: async () => {
            state.reads += 1;
            return { records: state.records.map((r) => ({ ...r })), newest: { _id: 3, rev: 3 }, lease: null, now: new Date(state.now) };
        },
    };
    const events = new EventEmitter();
    const pushed = [];
    events.on('comms', (m) => pushed.push(m));
    const feed = new ClusterFeed({ reads, events, log: () => {}, staleAfter: 1, stopAfterMs: 100 });
    feed.start();
    t.after(() => feed.stop());
    return { feed, events, pushed, state, stream: () => state.streams.at(-1) };
}

test('nothing is followed until an editor session connects, and following stops after the last one left', async (t) => {
    const { events, pushed, state } = setUp(t);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(state.reads, 0);
    assert.equal(state.streams.length, 0);
    events.emit('comms:connection-added', { session: 'a' });
    await waitFor(() => pushed.length === 1, 2000, 'the first report');
    assert.equal(pushed[0].topic, 'nodered-scale/cluster');
    assert.equal(pushed[0].retain, true);
    assert.equal(pushed[0].data.inSync, true);
    events.emit('comms:connection-removed', { session: 'a' });
    await waitFor(() => state.streams[0].closed, 2000, 'the change stream closed');
    assert.deepEqual(pushed.at(-1), { topic: 'nodered-scale/cluster', data: null, retain: false }, 'the retained report goes');
});

test('a record\'s periodic rewrite is applied without a read or a push; a change is read once and pushed', async (t) => {
    const { events, pushed, state, stream } = setUp(t);
    events.emit('comms:connection-added', { session: 'a' });
    await waitFor(() => pushed.length === 1, 2000, 'the first report');
    const reads = state.reads;
    stream().push({ operationType: 'update', documentKey: { _id: 'w1' },
        updateDescription: { updatedFields: { lastSeen: new Date(), rev: 3, state: 'running' }, removedFields: [] } });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(state.reads, reads, 'no read for a heartbeat');
    assert.equal(pushed.length, 1, 'no push for a heartbeat');

    state.records[1] = { ...state.records[1], rev: 2, lastSeen: new Date() };
    stream().push({ operationType: 'update', documentKey: { _id: 'w1' },
        updateDescription: { updatedFields: { lastSeen: new Date(), rev: 2 }, removedFields: [] } });
    await waitFor(() => pushed.length === 2, 2000, 'the change pushed');
    assert.equal(state.reads, reads + 1);
    assert.equal(pushed[1].data.inSync, false);
    assert.equal(pushed[1].data.instances.find((i) => i.id === 'w1').problem, 'behind');
});

test('a worker that stops writing its record is pushed as stale once staleAfter has passed', async (t) => {
    const { events, pushed } = setUp(t);
    events.emit('comms:connection-added', { session: 'a' });
    await waitFor(() => pushed.length === 1, 2000, 'the first report');
    // staleAfter is 1 s here; the records were seen at the start and are never rewritten.
    await waitFor(() => pushed.length === 2, 4000, 'the stale worker pushed');
    assert.equal(pushed[1].data.instances.find((i) => i.id === 'w1').problem, 'stale');
});

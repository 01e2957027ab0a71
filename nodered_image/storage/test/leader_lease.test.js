'use strict';
// The leader lease (lib/leader_lease.js) between instances sharing one database, on short timings: who leads,
// takeover after a crash, release on a graceful stop, a leader cut off from the database, clock jumps,
// the lease edited by hand, a renewal that lands late.
const test = require('node:test');
const assert = require('node:assert/strict');
const { performance } = require('perf_hooks');
const { startMongo, uniqueDb, waitFor, sleep, MongoClient } = require('./helpers');
const { LeaderLease, LEASE_ID } = require('../lib/leader_lease');
const { collection } = require('../../common/database');

let mongo;
let client;
const made = [];

test.before(async () => {
    mongo = await startMongo();
    client = new MongoClient(mongo.url);
});

test.after(async () => {
    for (const l of made) await l.close().catch(() => {});
    if (client) await client.close();
    if (mongo && mongo.stop) await mongo.stop();
});

// Short, but with room for a loaded machine: a renewal may take most of a second.
const TIMING = { leaderLeaseSeconds: 2.5, leaderRenewSeconds: 0.3, leaderCheckSeconds: 0.2, leaderStopMarginSeconds: 1 };
// LEASE_DEBUG=1 prints each contender's log lines on one monotonic timeline.
const logFor = (id) => {
    if (!process.env.LEASE_DEBUG) return { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
    const line = (m) => console.log(`${performance.now().toFixed(0)} ${id} ${m}`);
    return { info: line, warn: line, error: line, debug: () => {} };
};

function endPeriod(periods, id) {
    const now = performance.now();
    periods.filter((p) => p.id === id && p.to === null).forEach((p) => { p.to = now; });
}

// Leadership periods of every contender, on one monotonic timeline: [{id, from, to}].
function timeline() {
    const periods = [];
    return {
        periods,
        onChange: (id) => (leader) => {
            const now = performance.now();
            if (leader) periods.push({ id, from: now, to: null });
            else endPeriod(periods, id);
        },
        // A graceful stop or a crash ends a period too (neither calls onChange).
        closed(id) {
            endPeriod(periods, id);
        },
        // No two periods overlap.
        assertNoOverlap() {
            const sorted = [...periods].sort((a, b) => a.from - b.from);
            for (let i = 1; i < sorted.length; i++) {
                const prev = sorted[i - 1];
                assert.ok(prev.to !== null && prev.to <= sorted[i].from,
                    `${prev.id} led until ${prev.to} while ${sorted[i].id} led from ${sorted[i].from}`);
            }
        },
    };
}

async function contenders(t, name, ids, { coll, clocks = {}, timing = TIMING } = {}) {
    const leases = collection(client.db(uniqueDb(name)), 'leases'); // as the storage opens it
    const tl = timeline();
    const list = ids.map((id) => {
        const lease = new LeaderLease({
            coll: coll ? coll(id, leases) : leases,
            opts: { instanceId: id, role: 'worker', ...timing },
            log: logFor(id),
            onChange: tl.onChange(id),
            clock: clocks[id],
        });
        made.push(lease);
        return lease;
    });
    await Promise.all(list.map((l) => l.start()));
    return { list, leases, tl };
}

// A crash: the process stops, nothing is released.
function crash(lease) {
    lease.closed = true;
    clearTimeout(lease.timer);
    clearTimeout(lease.deadline);
}

const leaders = (list) => list.filter((l) => l.leader);

// A network partition between one instance and MongoDB only: while net.cutOff is its id, every database
// call of that instance fails. Pass net.coll to contenders().
function partition() {
    const net = { cutOff: null };
    net.coll = (id, leases) => new Proxy(leases, {
        get(target, prop) {
            const value = target[prop];
            if (typeof value !== 'function') return value;
            return (...args) => (id === net.cutOff ? Promise.reject(new Error('network partition')) : value.apply(target, args));
        },
    });
    return net;
}

test('exactly one of several instances leads, and the lease document says which', async (t) => {
    const c = await contenders(t, 'one', ['w1', 'w2', 'w3']);
    if (!c) return;
    await waitFor(() => leaders(c.list).length === 1, 5000, 'a leader');
    await sleep(1000);
    await waitFor(() => leaders(c.list).length === 1, 5000, 'one leader');
    const doc = await c.leases.findOne({ _id: LEASE_ID });
    const [leader] = leaders(c.list);
    assert.equal(doc.holder, leader.opts.instanceId);
    assert.equal(doc.role, 'worker');
    assert.ok(doc.term >= 1);
    assert.ok(doc.acquiredAt instanceof Date && doc.renewedAt instanceof Date && doc.expiresAt instanceof Date);
    assert.ok(doc.renewedAt > doc.acquiredAt, 'renewed');
    assert.ok(doc.expiresAt > doc.renewedAt, 'expires after its last renewal');
    c.tl.assertNoOverlap();
});

test('after the leader crashes another instance takes over once the lease lapses, with the next term', async (t) => {
    const c = await contenders(t, 'crash', ['w1', 'w2', 'w3']);
    if (!c) return;
    await waitFor(() => leaders(c.list).length === 1, 5000, 'a leader');
    const [first] = leaders(c.list);
    const before = await c.leases.findOne({ _id: LEASE_ID });
    const crashedAt = performance.now();
    crash(first);
    const others = c.list.filter((l) => l !== first);
    await waitFor(() => leaders(others).length === 1, 8000, 'a new leader');
    const took = performance.now() - crashedAt;
    // Not before the lease lapsed, and within lease + 2 checks (+ slack for a loaded machine).
    assert.ok(took >= (TIMING.leaderLeaseSeconds - TIMING.leaderRenewSeconds) * 1000, `took over after ${took} ms`);
    assert.ok(took < (TIMING.leaderLeaseSeconds + 2 * TIMING.leaderCheckSeconds) * 1000 + 1500, `took over after ${took} ms`);
    const doc = await c.leases.findOne({ _id: LEASE_ID });
    assert.equal(doc.term, before.term + 1);
    assert.equal(doc.holder, leaders(others)[0].opts.instanceId);
});

test('a leader that stops gracefully releases the lease: the next instance takes it at once', async (t) => {
    const c = await contenders(t, 'release', ['w1', 'w2']);
    if (!c) return;
    await waitFor(() => leaders(c.list).length === 1, 5000, 'a leader');
    const [first] = leaders(c.list);
    const other = c.list.find((l) => l !== first);
    const stoppedAt = performance.now();
    await first.close();
    c.tl.closed(first.opts.instanceId);
    await waitFor(() => other.leader, 5000, 'the other to lead');
    const took = performance.now() - stoppedAt;
    assert.ok(took < TIMING.leaderLeaseSeconds * 1000, `took over ${took} ms after the release: waited for the lease to lapse`);
    c.tl.assertNoOverlap();
});

test('a leader cut off from the database stops leading before another instance can take over', async (t) => {
    const net = partition();
    const c = await contenders(t, 'partition', ['w1', 'w2', 'w3'], { coll: net.coll });
    if (!c) return;
    await waitFor(() => leaders(c.list).length === 1, 5000, 'a leader');
    const [first] = leaders(c.list);
    net.cutOff = first.opts.instanceId;
    const others = c.list.filter((l) => l !== first);
    await waitFor(() => leaders(others).length === 1, 6000, 'a new leader');
    assert.equal(first.leader, false);
    c.tl.assertNoOverlap();
    // Back on the network, the old leader follows the new one.
    net.cutOff = null;
    await sleep(TIMING.leaderLeaseSeconds * 1000);
    assert.ok(leaders(c.list).length <= 1);
    c.tl.assertNoOverlap();
});

test('a leader cut off from the database stops leaderStopMarginSeconds before its lease could lapse', async (t) => {
    // Guards the stop margin (docs/flows-on-workers.md, "Run-once tabs"): a leader whose renewals fail stops
    // its run-once tabs leaseSeconds - stopMarginSeconds after it sent its last renewal that landed,
    // so it has stopped well before another instance may take over (at least leaseSeconds after that
    // renewal). Without the margin it stopped at leaseSeconds, and only the system test's bound noticed.
    // A margin of 4 s in a lease of 6: the stop is due 2 s after that renewal, and it must come before
    // 4 s (a timer 2 s late would be the machine's fault, no margin at all is 2 s beyond).
    const timing = { leaderLeaseSeconds: 6, leaderRenewSeconds: 0.5, leaderCheckSeconds: 0.2, leaderStopMarginSeconds: 4 };
    let cutOff = false;
    let lastLandedSentAt = null; // when the last take or renewal that landed was sent (performance.now())
    const watched = (id, leases) => new Proxy(leases, {
        get(target, prop) {
            const value = target[prop];
            if (typeof value !== 'function') return value;
            return async (...args) => {
                if (cutOff) throw new Error('network partition');
                const sentAt = performance.now();
                const result = await value.apply(target, args);
                if (prop === 'findOneAndUpdate' && result) lastLandedSentAt = sentAt;
                return result;
            };
        },
    });
    const c = await contenders(t, 'stop-margin', ['w1'], { coll: watched, timing });
    const [leader] = await waitFor(() => leaders(c.list).length === 1 && leaders(c.list), 5000, 'a leader');
    await waitFor(() => leader.beat >= 2, 5000, 'renewals');
    cutOff = true;
    await waitFor(() => !leader.leader, (timing.leaderLeaseSeconds + 2) * 1000, 'the leader to stop');
    const [period] = c.tl.periods;
    const stoppedAfter = period.to - lastLandedSentAt;
    const dueAfter = (timing.leaderLeaseSeconds - timing.leaderStopMarginSeconds) * 1000;
    assert.ok(stoppedAfter >= dueAfter - 5, `stopped ${stoppedAfter.toFixed(0)} ms after its last renewal was sent, before its lease less the margin`);
    assert.ok(stoppedAfter < dueAfter + timing.leaderStopMarginSeconds * 500,
        `stopped ${stoppedAfter.toFixed(0)} ms after its last renewal was sent: the stop margin was not kept (due after ${dueAfter} ms)`);
});

test('instances whose clocks are hours apart still have one leader at a time, and take over on time', async (t) => {
    const realNow = Date.now;
    const skewed = { w1: () => realNow() + 3 * 3600e3, w2: () => realNow() - 3 * 3600e3, w3: () => realNow() + 86400e3 };
    const c = await contenders(t, 'skew', ['w1', 'w2', 'w3'], { clocks: skewed });
    if (!c) return;
    await waitFor(() => leaders(c.list).length === 1, 5000, 'a leader');
    await sleep(TIMING.leaderLeaseSeconds * 1000 * 1.5);
    const [first] = await waitFor(() => leaders(c.list).length === 1 && leaders(c.list), 5000, 'one leader');
    const crashedAt = performance.now();
    crash(first);
    c.tl.closed(first.opts.instanceId); // a dead process leads no more
    const others = c.list.filter((l) => l !== first);
    await waitFor(() => leaders(others).length === 1, 8000, 'a new leader');
    const took = performance.now() - crashedAt;
    assert.ok(took >= (TIMING.leaderLeaseSeconds - TIMING.leaderRenewSeconds) * 1000, `taken over after ${took} ms`);
    c.tl.assertNoOverlap();
});

// The next check of `lease` now, once it is not in the middle of one (as if its timer had come first).
async function checkNow(lease) {
    while (lease.running) await lease.running;
    await lease.tick();
}

for (const [what, edit] of [
    ['to name another instance', (named) => ({ $set: { holder: named.opts.instanceId } })],
    ['to hold nobody', () => ({ $set: { holder: null } })],
]) {
    test(`a lease edited by hand ${what} never makes two leaders: it is waited out, not taken at once`, async (t) => {
        const c = await contenders(t, 'edit-holder', ['w1', 'w2', 'w3']);
        if (!c) return;
        await waitFor(() => leaders(c.list).length === 1, 5000, 'a leader');
        const [first] = leaders(c.list);
        const named = c.list.find((l) => l !== first);
        await c.leases.updateOne({ _id: LEASE_ID }, edit(named));
        // Another instance reads the edited lease before the leader's next renewal finds it changed.
        await checkNow(named);
        assert.equal(named.leader, false, 'took the lease at once, while the leader still ran');
        await waitFor(() => !first.leader, 5000, 'the old leader to stop');
        await waitFor(() => leaders(c.list).length === 1, 8000, 'a new leader');
        c.tl.assertNoOverlap();
    });
}

test('an older copy of the lease put back does not make the instance it names lead again at once', async (t) => {
    const net = partition();
    const c = await contenders(t, 'older-copy', ['w1', 'w2', 'w3'], { coll: net.coll });
    if (!c) return;
    await waitFor(() => leaders(c.list).length === 1, 5000, 'a leader');
    const [first] = leaders(c.list);
    const older = await c.leases.findOne({ _id: LEASE_ID });
    await waitFor(async () => (await c.leases.findOne({ _id: LEASE_ID })).beat >= older.beat + 2, 5000, 'renewals after the copy');
    // The leader is cut off until another instance takes over: it stepped down, never told it lost.
    net.cutOff = first.opts.instanceId;
    const others = c.list.filter((l) => l !== first);
    await waitFor(() => leaders(others).length === 1, 6000, 'a new leader');
    net.cutOff = null;
    await c.leases.replaceOne({ _id: LEASE_ID }, older);
    await checkNow(first);
    assert.equal(first.leader, false, 'took the older copy at once, while the new leader still ran');
    await waitFor(() => leaders(c.list).length === 0, 5000, 'the new leader to stop');
    await waitFor(() => leaders(c.list).length === 1, 8000, 'a leader again');
    c.tl.assertNoOverlap();
});

test('a renewal that lands after the leader stopped for want of it makes it lead again at once, same term', async (t) => {
    // Renewals every 1.5 s; a leader stops 3 s after its last one was sent.
    const timing = { leaderLeaseSeconds: 4, leaderRenewSeconds: 1.5, leaderCheckSeconds: 0.2, leaderStopMarginSeconds: 1 };
    let slow = null; // the next renewal of this instance waits 2.25 s (lands after the stop, within its own lease)
    let landed = null;
    const delayed = (id, leases) => new Proxy(leases, {
        get(target, prop) {
            const value = target[prop];
            if (prop !== 'findOneAndUpdate') return typeof value === 'function' ? value.bind(target) : value;
            return async (filter, update, ...rest) => {
                const renewal = id === slow && update.$inc && update.$inc.beat === 1;
                if (renewal) {
                    slow = null;
                    await sleep(2250);
                }
                const doc = await value.call(target, filter, update, ...rest);
                if (renewal) landed = performance.now();
                return doc;
            };
        },
    });
    const c = await contenders(t, 'late-renewal', ['w1', 'w2'], { coll: delayed, timing });
    if (!c) return;
    const [first] = await waitFor(() => leaders(c.list).length === 1 && leaders(c.list), 5000, 'a leader');
    const { term } = first;
    slow = first.opts.instanceId;
    await waitFor(() => !first.leader, 5000, 'the leader to stop for want of a renewal');
    await waitFor(() => landed !== null, 5000, 'the late renewal');
    await waitFor(() => first.leader, 5000, 'the leader to lead again');
    const after = performance.now() - landed;
    assert.ok(after < 200, `led again ${after.toFixed(0)} ms after its renewal landed`);
    assert.equal(first.term, term, 'on the lease it renewed, not a new one');
    c.tl.assertNoOverlap();
});

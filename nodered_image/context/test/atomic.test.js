'use strict';
// The shared store's atomic operations (lib/atomic.js) from two instances of the stack: what they
// return, what global.get(key, 'shared') then reads, and that a database failing during one leaves the
// key as it was.
const test = require('node:test');
const assert = require('node:assert/strict');
const { serverForTests, uniqueDb, get, set, waitFor } = require('./helpers');
const { REGISTRY } = require('../lib/store');

const server = serverForTests({ testCommands: true });

async function twoInstances(name) {
    const database = uniqueDb(name);
    const a = await server.open({ database, role: 'worker', instanceId: 'a' });
    const b = await server.open({ database, role: 'worker', instanceId: 'b' });
    return [a, b, database];
}

test('incr counts from a missing key, returns the new number, and global.get reads it', async () => {
    const [a, b] = await twoInstances('incr');
    assert.equal(await a.incr('orders'), 1);
    assert.equal(await b.incr('orders', 5), 6);
    assert.equal(await a.incr('orders', -2.5), 3.5);
    assert.equal(await get(b, 'global', 'orders'), 3.5);
    await set(a, 'global', 'plain', 10);
    assert.equal(await b.incr('plain'), 11);
    await set(a, 'global', 'negativeZero', -0);
    assert.equal(await b.incr('negativeZero', 2), 2);
});

test('concurrent incr from two instances loses no increment', async () => {
    // Guards the read-modify-write a get/set counter is: two instances that both read 5 both write 6.
    const [a, b] = await twoInstances('incr_race');
    const n = 40;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => (i % 2 ? a : b).incr('hits')));
    assert.equal(await get(a, 'global', 'hits'), n);
    assert.deepEqual(results.sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i + 1), 'every caller got its own new number');
});

test('incr of a key holding no number is an error and leaves the value as it was', async () => {
    const [a, b] = await twoInstances('incr_nan');
    await set(a, 'global', 'name', { first: 'Ada' });
    await assert.rejects(b.incr('name'), /holds an object, not a number/);
    assert.deepEqual(await get(a, 'global', 'name'), { first: 'Ada' });
    await set(a, 'global', 'text', '5');
    await assert.rejects(b.incr('text'), /holds a string, not a number/);
    assert.equal(await get(a, 'global', 'text'), '5');
    await assert.rejects(a.incr('n', '1'), TypeError);
    await assert.rejects(a.incr('a.b'), /nested key/);
    await assert.rejects(a.incr(''), TypeError);
});

test('compareAndSet writes only over the expected value, equal as JSON with keys in any order', async () => {
    const [a, b] = await twoInstances('cas');
    assert.equal(await a.compareAndSet('state', undefined, { step: 1, by: 'a' }), true, 'create where the key is missing');
    assert.equal(await b.compareAndSet('state', undefined, { step: 1, by: 'b' }), false, 'the key exists now');
    assert.equal(await b.compareAndSet('state', { by: 'a', step: 1 }, { step: 2, by: 'b' }), true, 'keys in another order are equal');
    assert.equal(await a.compareAndSet('state', { step: 1, by: 'a' }, { step: 3 }), false, 'stale expectation');
    assert.deepEqual(await get(a, 'global', 'state'), { step: 2, by: 'b' });
    assert.equal(await a.compareAndSet('state', { step: 2, by: 'b' }, undefined), true, 'undefined deletes');
    assert.equal(await get(b, 'global', 'state'), undefined);
    await set(a, 'global', 'list', [1, { x: [2, 3] }]);
    assert.equal(await b.compareAndSet('list', [1, { x: [2, 3] }], 'replaced'), true);
    assert.equal(await get(a, 'global', 'list'), 'replaced');
});

test('compareAndSet under contention from two instances loses no update', async () => {
    // Each client loops: read, compareAndSet(read, read + 1) until true. The final value is the number of
    // successful updates; a compare-and-set that wrote over a value it did not expect would lose one.
    const [a, b] = await twoInstances('cas_race');
    let successes = 0;
    const client = async (store, times) => {
        for (let i = 0; i < times; i++) {
            for (;;) {
                const seen = await get(store, 'global', 'count');
                if (await store.compareAndSet('count', seen, (seen || 0) + 1)) break;
            }
            successes += 1;
        }
    };
    await Promise.all([client(a, 15), client(b, 15), client(a, 15), client(b, 15)]);
    assert.equal(successes, 60);
    assert.equal(await get(a, 'global', 'count'), 60);
});

test('deleteIfEqual deletes only the expected value', async () => {
    const [a, b] = await twoInstances('del');
    await set(a, 'global', 'job', { id: 7, owner: 'a' });
    assert.equal(await b.deleteIfEqual('job', { id: 7, owner: 'b' }), false);
    assert.deepEqual(await get(b, 'global', 'job'), { id: 7, owner: 'a' });
    assert.equal(await b.deleteIfEqual('job', { owner: 'a', id: 7 }), true);
    assert.equal(await get(a, 'global', 'job'), undefined);
    assert.equal(await a.deleteIfEqual('job', { owner: 'a', id: 7 }), false, 'already gone');
    assert.equal(await a.deleteIfEqual('never', undefined), false);
});

test('a lock has one holder; tokens grow with every grant; a late unlock never frees a newer holder\'s lock', async () => {
    const [a, b] = await twoInstances('lock');
    const first = await a.lock('batch', 30);
    assert.equal(typeof first, 'number');
    assert.equal(await b.lock('batch', 30), null, 'granted twice');
    const held = await get(b, 'global', 'batch');
    assert.equal(held.token, first);
    assert.ok(held.expiresAt instanceof Date && held.expiresAt > new Date());
    assert.equal(await b.unlock('batch', first + 1), false, 'an unlock with another token freed it');
    assert.equal(await a.unlock('batch', first), true);
    assert.equal((await get(a, 'global', 'batch')).expiresAt, null, 'a freed lock reads expiresAt null');
    assert.equal(await a.unlock('batch', first), false, 'freed twice');

    const second = await b.lock('batch', 0.3);
    assert.ok(second > first);
    // The holder stalls past its TTL: another instance is granted the lock, the stalled one's unlock fails.
    const third = await waitFor(() => a.lock('batch', 30), 10000, 'the expired lock to be granted again');
    assert.ok(third > second);
    assert.equal(await b.unlock('batch', second), false, 'a late unlock succeeded');
    assert.equal(await b.lock('batch', 30), null, 'a late unlock freed the new holder\'s lock');
    assert.equal((await get(b, 'global', 'batch')).token, third);
    // Tokens keep growing for a key whose lock was freed.
    assert.equal(await a.unlock('batch', third), true);
    assert.ok(await b.lock('batch', 30) > third);
});

test('concurrent lock attempts from two instances: exactly one is granted', async () => {
    const [a, b] = await twoInstances('lock_race');
    for (let round = 0; round < 5; round++) {
        const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).lock(`job${round}`, 30)));
        assert.equal(tokens.filter((t) => t !== null).length, 1, `round ${round}: ${JSON.stringify(tokens)}`);
    }
});

test('lock of a key holding no lock is an error and leaves the value; bad ttl or token is refused', async () => {
    const [a] = await twoInstances('lock_bad');
    await set(a, 'global', 'count', 3);
    await assert.rejects(a.lock('count', 10), /holds a number, not a lock/);
    assert.equal(await get(a, 'global', 'count'), 3);
    await assert.rejects(a.lock('x', 0), TypeError);
    await assert.rejects(a.lock('x'), TypeError);
    assert.equal(await a.unlock('x', '1'), false);
});

// The database fails each write of an operation (it closes the connection instead of answering).
async function failWrites(mode) {
    const data = { failCommands: ['findAndModify', 'update', 'insert', 'delete'], closeConnection: true };
    await server.client.db('admin').command({ configureFailPoint: 'failCommand', mode, data });
}

test('the database failing during an operation: the caller gets an error and the key is as it was', async (t) => {
    const [a, b] = await twoInstances('outage');
    await set(a, 'global', 'count', 5);
    await set(a, 'global', 'state', { step: 1 });
    const token = await a.lock('batch', 30);
    await a.get('global', 'count', () => {}); // connected: the reads of compareAndSet answer, its write fails
    await failWrites('alwaysOn');
    t.after(() => failWrites('off'));
    const operations = {
        incr: a.incr('count', 2),
        compareAndSet: a.compareAndSet('state', { step: 1 }, { step: 2 }),
        deleteIfEqual: a.deleteIfEqual('state', { step: 1 }),
        lock: a.lock('other', 30),
        unlock: a.unlock('batch', token),
    };
    const settled = await Promise.allSettled(Object.values(operations));
    await failWrites('off');
    for (const [i, name] of Object.keys(operations).entries()) {
        assert.equal(settled[i].status, 'rejected', `${name} did not fail: ${JSON.stringify(settled[i].value)}`);
        assert.ok(settled[i].reason instanceof Error);
    }
    assert.equal(await get(b, 'global', 'count'), 5);
    assert.deepEqual(await get(b, 'global', 'state'), { step: 1 });
    assert.equal(await get(b, 'global', 'other'), undefined);
    assert.equal((await get(b, 'global', 'batch')).token, token);
    assert.equal(await b.lock('batch', 30), null, 'the failed unlock freed the lock');
    // The same store works again (once the driver has found the server again).
    const after = await waitFor(() => a.incr('count', 2).catch(() => null), 20000, 'the store to answer again');
    assert.equal(after, 7);
});

test('function nodes\' nodered-scale-shared module reaches the open store of its process', async () => {
    const shared = require('../../nodered-scale-shared');
    const [a, b] = await twoInstances('module');
    assert.equal(globalThis[REGISTRY], b, 'the last store opened is the one registered');
    assert.equal(await shared.incr('visits'), 1);
    assert.equal(await shared.incr('visits', 2), 3);
    assert.equal(await get(a, 'global', 'visits'), 3);
    assert.equal(await shared.compareAndSet('visits', 3, 10), true);
    const token = await shared.lock('job', 30);
    assert.equal(await a.lock('job', 30), null);
    assert.equal(await shared.unlock('job', token), true);
    assert.equal(await shared.deleteIfEqual('visits', 10), true);
    await assert.rejects(shared.incr('a.b'), /nested key/, 'a refusal is a rejected promise');
    await b.close();
    await assert.rejects(shared.incr('visits'), /no open shared context store/);
});

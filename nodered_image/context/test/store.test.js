'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startMongo, serverForTests, freePort, uniqueDb, get, set, keys, waitFor, sleep } = require('./helpers');
const sharedContextStore = require('..');
const { SYNC_ERROR } = require('../lib/store');
// Node-RED's own per-instance store: the shared store must answer as it does.
const memoryStore = require('@node-red/runtime/lib/nodes/context/memory');

const server = serverForTests();

// Two stores on one database: two instances of the stack.
async function twoInstances(t, name, role = 'worker') {
    const database = uniqueDb(name);
    const a = await server.open({ database, role, instanceId: 'a' });
    const b = await server.open({ database, role, instanceId: 'b' });
    return [a, b, database];
}

const allKeys = (value, out = []) => {
    if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Date)) {
        for (const [k, v] of Object.entries(value)) {
            if (!Array.isArray(value)) out.push(k);
            allKeys(v, out);
        }
    }
    return out;
};

test('a value one instance sets is the value another instance gets, exactly', async (t) => {
    const [a, b, database] = await twoInstances(t, 'roundtrip');
    if (!a) return;
    const value = {
        nested: { deeper: { list: [1, 'two', { three: 3 }, [4, [5]]] } },
        $dollar: 'kept', 'dotted.key': 'kept', '~tilde': 'kept', '~d': 'not an escape', '$a.b~c': { '.': '$' },
        'nul\u0000key': 'kept', '~0': 'not an escape either',
        buffer: Buffer.from([0, 1, 2, 250, 255]),
        date: new Date('2024-02-29T12:34:56.789Z'),
        numbers: [0, -0, 1.5, -7, 2 ** 53, Number.MAX_VALUE, NaN, Infinity],
        flags: [true, false, null],
        text: 'ünïcødé ✓ "quoted" \n',
        holes: [undefined, 1],
        missing: undefined,
        empty: { obj: {}, arr: [] },
    };
    await set(a, 'global', 'everything', value);
    const got = await get(b, 'global', 'everything');
    assert.deepStrictEqual(got, value);
    assert.ok(Buffer.isBuffer(got.buffer));
    assert.ok(Object.is(got.numbers[1], -0));
    assert.ok(Object.hasOwn(got, 'missing'));

    // What MongoDB and DocumentDB reject never reaches them.
    const doc = await server.client.db(database).collection('context').findOne({ key: 'everything' });
    assert.deepEqual(allKeys(doc.value).filter((k) => k.startsWith('$') || k.includes('.') || k.includes('\u0000')), []);
    for (const scalar of [0, 'text', null, false, Buffer.from('x')]) {
        await set(a, 'global', 'scalar', scalar);
        assert.deepStrictEqual(await get(b, 'global', 'scalar'), scalar);
    }
});

test('keys, nested paths and arrays of keys behave as in Node-RED\'s memory store', async (t) => {
    const [a, b] = await twoInstances(t, 'semantics');
    if (!a) return;
    const memory = memoryStore({});
    await memory.open();
    const scope = 'n1:f1';
    // Every operation on both stores; every read must agree. Writes go to one instance, reads to the other.
    const steps = [
        ['count', 1],
        ['a.b.c', 'deep'],
        ['a.b.d', [1, 2]],
        ['a.b.d[1]', 'two'],
        ['a["x.y"]', 'quoted'],
        ['arr', []],
        ['arr[2]', 'third'],
        ['list[0].name', 'created'],
        ['count.sub', 'cannot: count is a number'],
        [['k1', 'k2', 'k3'], ['v1', 'v2']],
        [['m1', 'm2'], 'only-first'],
        ['a.b.c', undefined],
        ['gone', 'soon'],
        ['gone', undefined],
        // Nested keys through objects (one update of the field), and where that cannot be (under an array,
        // a scalar, null, undefined, -0: read, change, write back): both as Node-RED's memory store.
        ['obj.x.y', 1],
        ['obj.x.z', { deep: true }],
        ['obj["x.y"]["$d"]["~t"]', 'escaped names'],
        ['obj.x.y.w', 'under a number: nothing'],
        ['obj.n', null],
        ['obj.n.k', 'under null: nothing'],
        ['obj.x.z.deep', undefined],
        ['obj.none.deeper', undefined],
        ['absent.p.q', undefined],
        ['tagged', { u: undefined, z: -0, list: [{ in: 1 }] }],
        ['tagged.u.k', 'under undefined: nothing'],
        ['tagged.z.k', 'under -0: nothing'],
        ['tagged.list[0].in', 2],
        ['tagged.list[1].made', 'an object in a new element'],
        ['tagged.list[0]', undefined],
        ['list[0].more.deep', 'under an array element'],
        ['arr[1]', 'a hole before it stays a hole'],
    ];
    const reads = ['count', 'a', 'a.b', 'a.b.c', 'a.b.d', 'a["x.y"]', 'arr', 'list', 'k1', 'k2', 'k3', 'm1', 'm2',
        'gone', 'nothing', 'nothing.deeper', 'a.b.missing.x', ['count', 'a.b.d', 'nothing'], 'obj', 'absent', 'tagged'];
    for (const [key, value] of steps) {
        memory.set(scope, key, value);
        await set(a, scope, key, value);
    }
    for (const key of reads) {
        const expected = memory.get(scope, key);
        assert.deepStrictEqual(await get(b, scope, key), expected, `get ${JSON.stringify(key)}`);
    }
    assert.deepEqual((await keys(b, scope)).sort(), memory.keys(scope).sort());
    assert.deepEqual(await keys(b, 'n2:f1'), []);
    await assert.rejects(get(b, scope, 'a[['), /invalid/i);
});

test('get and keys without a callback throw and say to pass one; set without one still writes', async (t) => {
    const [a, b] = await twoInstances(t, 'sync');
    if (!a) return;
    assert.throws(() => a.get('global', 'x'), (err) => err.message === SYNC_ERROR);
    assert.throws(() => a.keys('global'), (err) => err.message === SYNC_ERROR);
    a.set('global', 'fire-and-forget', 42);
    await waitFor(async () => (await get(b, 'global', 'fire-and-forget')) === 42, 5000, 'the background set');
});

test('nested sets from two instances on the same key both land (no lost update)', async (t) => {
    const [a, b] = await twoInstances(t, 'cas');
    if (!a) return;
    const n = 15;
    await Promise.all(Array.from({ length: n }, (_, i) => [
        set(a, 'global', `shared.a${i}`, i),
        set(b, 'global', `shared.b${i}`, i),
    ]).flat());
    const value = await get(a, 'global', 'shared');
    assert.equal(Object.keys(value).length, 2 * n);
});

test('delete removes one scope; clean on the editor removes the context of deleted nodes and flows only', async (t) => {
    const [editor, worker, database] = await twoInstances(t, 'clean', 'editor');
    if (!editor) return;
    // The second store plays a worker: its clean() must never remove anything.
    worker.opts.role = 'worker';
    const put = async (scope) => set(worker, scope, 'k', scope);
    for (const scope of ['global', 'flowKept', 'nodeKept:flowKept', 'sf1-inner:flowKept', 'flowGone', 'nodeGone:flowKept', 'other']) {
        await put(scope);
    }
    const active = ['flowKept', 'nodeKept', 'sf1-inner'];
    // clean() returns at once and works in the background, always through collection(): a worker that
    // cleans shows as a call, deterministically, and as documents missing after the editor's clean. It is
    // handed no active node at all, so whatever it removed would be missing below.
    let workerUses = 0;
    const ownCollection = worker.collection.bind(worker);
    worker.collection = () => {
        workerUses += 1;
        return ownCollection();
    };
    await worker.clean([]);
    assert.equal(workerUses, 0, 'a worker set out to remove context');
    const coll = server.client.db(database).collection('context');

    await editor.clean(active);
    await waitFor(async () => (await coll.countDocuments()) === 4, 5000, 'the editor to clean');
    assert.equal(workerUses, 0, 'a worker set out to remove context later');
    const left = (await coll.find().toArray()).map((d) => d.scope).sort();
    assert.deepEqual(left, ['flowKept', 'global', 'nodeKept:flowKept', 'sf1-inner:flowKept']);

    await editor.delete('flowKept');
    assert.equal(await get(worker, 'flowKept', 'k'), undefined);
    assert.equal(await get(worker, 'global', 'k'), 'global');
});

test('the editor\'s clean sends nothing while no node or flow was removed since its last clean, and removes what is gone once one is', async (t) => {
    const [editor, worker, database] = await twoInstances(t, 'clean_skip', 'editor');
    if (!editor) return;
    worker.opts.role = 'worker';
    const coll = server.client.db(database).collection('context');
    for (const scope of ['flowA', 'nodeA:flowA', 'nodeB:flowA', 'old:flowA']) await set(worker, scope, 'k', scope);
    await editor.clean(['flowA', 'nodeA', 'nodeB']);
    await waitFor(() => editor.cleanedFor !== null, 5000, 'the first clean');
    assert.equal(await coll.countDocuments({ node: 'old' }), 0);
    // What a worker still on an older revision writes for a node no revision has any more.
    await set(worker, 'ghost:flowA', 'k', 'late');
    await editor.clean(['flowA', 'nodeA', 'nodeB', 'nodeC']); // a node added: nothing gone
    await sleep(300); // three times what a clean takes here: it would have removed the ghost by now
    assert.equal(await coll.countDocuments({ node: 'ghost' }), 1, 'a clean ran although nothing was removed');
    await editor.clean(['flowA', 'nodeA', 'nodeC']); // nodeB deleted
    await waitFor(async () => (await coll.countDocuments()) === 2, 5000, 'the clean after a node was removed');
    assert.deepEqual((await coll.find().toArray()).map((d) => d.scope).sort(), ['flowA', 'nodeA:flowA']);
});

test('every write is sent for a majority of the replica set to acknowledge: set, nested set, delete, clean', async () => {
    // Guards the promise that a write is acknowledged by a majority before its callback runs; a
    // single-node test database acknowledges any write concern alike, so the commands sent are checked
    // (command monitoring, a connection string option).
    const database = uniqueDb('majority');
    const store = await server.open({ mongoUrl: `${server.mongo.url}&monitorCommands=true`, database, role: 'editor', instanceId: 'e' });
    await store.collection();
    const { client: own } = await store.ready;
    const writes = [];
    own.on('commandStarted', (ev) => {
        if (['insert', 'update', 'delete'].includes(ev.commandName)) writes.push(ev);
    });
    await set(store, 'global', 'a', 1);
    await set(store, 'global', 'n.x', 2); // a nested set: one update of that field
    await set(store, 'global', 'n.y', 3);
    await store.delete('flow1');
    await set(store, 'gone:flow1', 'k', 1);
    await store.clean(['flow1']);
    await waitFor(() => writes.filter((ev) => ev.commandName === 'delete').length === 2, 5000, 'the clean');
    assert.deepEqual([...new Set(writes.map((ev) => ev.commandName))].sort(), ['delete', 'update']);
    for (const ev of writes) assert.deepEqual(ev.command.writeConcern, { w: 'majority' }, `${ev.commandName}: ${JSON.stringify(ev.command.writeConcern)}`);
});

test('a worker whose flows never use the store holds no connection to the database; its first use connects', async () => {
    const database = uniqueDb('lazy');
    const store = await server.open({ database, role: 'worker', instanceId: 'w' });
    assert.equal(store.ready, null, 'the worker connected at open');
    await set(store, 'global', 'x', 1);
    assert.equal(await get(store, 'global', 'x'), 1);
    assert.notEqual(store.ready, null);
});

test('without a database, open() does not wait, callbacks get an error (never undefined), and it recovers', async () => {
    const port = await freePort(); // nothing listens there yet
    const store = sharedContextStore({
        mongoUrl: `mongodb://127.0.0.1:${port}/?directConnection=true`, database: 'late', role: 'worker', timeoutMS: 1500,
    });
    server.stores.push(store);
    const began = Date.now();
    await store.open();
    assert.ok(Date.now() - began < 500, 'open() waited for the database');
    await assert.rejects(get(store, 'global', 'x'), (err) => err instanceof Error && /ECONNREFUSED|Server selection/i.test(err.message));
    await assert.rejects(set(store, 'global', 'x', 1), Error);
    await assert.rejects(keys(store, 'global'), Error);

    // The database comes up: the same store works without a restart.
    const late = await startMongo(port);
    try {
        await set(store, 'global', 'x', 'after the outage');
        assert.equal(await get(store, 'global', 'x'), 'after the outage');
    } finally {
        await store.close();
        await late.stop();
    }
});

test('an exception thrown by a flow\'s callback is logged, not thrown into the process', async (t) => {
    const [a] = await twoInstances(t, 'throwing');
    if (!a) return;
    let uncaught = null;
    const onUncaught = (err) => {
        uncaught = err;
    };
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    try {
        let called = false;
        a.get('global', 'x', () => {
            called = true;
            throw new Error('flow bug');
        });
        await waitFor(() => called, 5000, 'the callback');
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(uncaught, null);
    } finally {
        process.off('uncaughtException', onUncaught);
        process.off('unhandledRejection', onUncaught);
    }
});

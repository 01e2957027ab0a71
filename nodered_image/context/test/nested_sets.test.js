'use strict';
// Nested keys ("orders.a.b") set concurrently from several instances, and values and keys that hold
// `__proto__`. Guards: concurrent nested sets of one top-level key that failed with "kept changing under
// 20 attempts", and `__proto__` that was acknowledged on set and then read back as missing.
const test = require('node:test');
const assert = require('node:assert/strict');
const { serverForTests, uniqueDb, get, set, keys } = require('./helpers');

const server = serverForTests();

async function instances(name, n) {
    const database = uniqueDb(name);
    const stores = [];
    for (let i = 0; i < n; i++) stores.push(await server.open({ database, role: 'worker', instanceId: `i${i}` }));
    return { stores, database };
}

test('concurrent nested sets of different paths of one key from several instances all land, none fails', async () => {
    const { stores } = await instances('contention', 4);
    const perStore = 40;
    const sets = [];
    for (const [s, store] of stores.entries()) {
        for (let i = 0; i < perStore; i++) sets.push(set(store, 'global', `orders.s${s}.o${i}`, { n: i, by: s }));
    }
    const results = await Promise.allSettled(sets);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
    assert.deepEqual(failed, [], `${failed.length} of ${sets.length} nested sets failed`);
    const orders = await get(stores[0], 'global', 'orders');
    for (let s = 0; s < stores.length; s++) {
        assert.equal(Object.keys(orders[`s${s}`]).length, perStore, `instance ${s}'s sets are not all there`);
        assert.deepEqual(orders[`s${s}`].o7, { n: 7, by: s });
    }
});

// A value as JSON.parse makes it from a request body: `__proto__` is an own key there.
const parsed = (json) => JSON.parse(json);

test('__proto__ in values and in keys is an ordinary key: stored and read back exactly, never a prototype', async () => {
    const { stores: [a, b], database } = await instances('proto', 2);
    const value = parsed('{"__proto__": {"polluted": "value"}, "b": 1, "list": [{"__proto__": {"x": 1}}]}');
    await set(a, 'global', 'whole', value);
    const got = await get(b, 'global', 'whole');
    assert.deepStrictEqual(got, value);
    assert.ok(Object.hasOwn(got, '__proto__') && Object.getPrototypeOf(got) === Object.prototype);
    assert.deepStrictEqual(Object.keys(got), ['__proto__', 'b', 'list']);

    // The same through nested keys: one update of the field, and read-modify-write under an array element.
    await set(a, 'global', 'orders.__proto__.polluted', 'key');
    await set(a, 'global', 'orders.o1', parsed('{"__proto__": {"inner": true}}'));
    await set(a, 'global', 'list', [{}]);
    await set(a, 'global', 'list[0].__proto__.x', 'through an index');
    assert.equal(await get(b, 'global', 'orders.__proto__.polluted'), 'key');
    assert.deepStrictEqual(await get(b, 'global', 'orders'), parsed('{"__proto__": {"polluted": "key"}, "o1": {"__proto__": {"inner": true}}}'));
    assert.equal(await get(b, 'global', 'list[0].__proto__.x'), 'through an index');
    assert.deepStrictEqual(await get(b, 'global', 'list'), [parsed('{"__proto__": {"x": "through an index"}}')]);

    // A top-level key of that name is a key like any other.
    await set(a, 'global', '__proto__', { top: 1 });
    await set(a, 'global', '__proto__.polluted', 'top');
    assert.deepStrictEqual(await get(b, 'global', '__proto__'), { top: 1, polluted: 'top' });
    assert.ok((await keys(b, 'global')).includes('__proto__'));

    const doc = await server.client.db(database).collection('context').findOne({ key: 'orders' });
    assert.deepStrictEqual(Object.keys(doc.value), ['__proto__', 'o1'], 'stored as a field');
    assert.equal(({}).polluted, undefined, 'Object.prototype was polluted');
    assert.equal(Object.prototype.polluted, undefined);
});

test('what cannot be stored exactly is refused at set with an error, and nothing is written', async () => {
    const { stores: [a], database } = await instances('refused', 1);
    const lone = 'half a pair: \ud800';
    const refused = [['global', 'text', lone], ['global', 'obj', { [lone]: 1 }], ['global', `key ${lone}`, 1],
        ['global', 'nested.deeper', { list: [lone] }], ['global', 'list[0]', lone]];
    for (const [scope, key, value] of refused) {
        await assert.rejects(set(a, scope, key, value), /lone UTF-16 surrogate/, `set ${JSON.stringify(key)}`);
    }
    assert.equal(await server.client.db(database).collection('context').countDocuments(), 0);
    // A surrogate pair is a character like any other.
    await set(a, 'global', 'emoji', { '😀': '😀' });
    assert.deepStrictEqual(await get(a, 'global', 'emoji'), { '😀': '😀' });
});

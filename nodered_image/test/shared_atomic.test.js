'use strict';
// The shared-atomic palette node (palette_nodes/) on a real editor and worker started as the image starts
// them, against the tests' database: each operation, both outputs, and errors reaching a catch node. The
// flow (shared_atomic_flow.json, deployed through the editor's admin API, also used by the end-to-end
// tests) answers POST /atomic-node/<endpoint> with the output the message left by ({output, payload,
// lockToken}), or 500 {error, source} from its catch node.
//
// Guards: flows without code having no atomic operation (a node type unknown to the workers), a node
// answering on the wrong output, and failures that no catch node sees (a request left unanswered).
const test = require('node:test');
const assert = require('node:assert/strict');
const { startMongo, Instance, Admin } = require('./instances');
const FLOW = require('./shared_atomic_flow.json');

let mongo;
let worker;
const instances = [];

test.before(async () => {
    mongo = await startMongo();
    const database = `launcher_shared_atomic_${process.pid}`;
    const editor = await new Instance('editor', { mongoUrl: mongo.url, database }).start();
    worker = await new Instance('worker', { mongoUrl: mongo.url, database }).start();
    instances.push(editor, worker);
    await editor.waitReady();
    const admin = new Admin(editor);
    await admin.login();
    await worker.waitReady(await admin.deploy(FLOW));
});

test.after(async () => {
    for (const i of instances) await i.stop();
    if (mongo && mongo.stop) await mongo.stop();
});

// POST /atomic-node/<endpoint> body to the worker: {status, ...answer}.
async function call(endpoint, body) {
    const r = await fetch(`${worker.url}/red-nodes/atomic-node/${endpoint}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: r.status, ...(await r.json()) };
}
const get = async (key) => (await call('get', { key })).value;

test('incr: one output, the new number, by 1 or by the message\'s amount, concurrent calls each counted', async () => {
    assert.deepEqual(await call('incr', { key: 'orders' }), { status: 200, output: 1, payload: 1, instance: `worker-${worker.port}` });
    assert.equal((await call('incr-by', { key: 'orders', n: 10 })).payload, 11);
    assert.equal((await call('incr-by', { key: 'orders', n: '-2.5' })).payload, 8.5, 'a number in a string, as a query string has it');
    const answers = await Promise.all(Array.from({ length: 30 }, () => call('incr', { key: 'hits' })));
    assert.deepEqual(answers.map((a) => a.payload).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.equal(await get('hits'), 30);
});

test('compareAndSet: output 1 with true when the key held the expected value, output 2 with false when not', async () => {
    // Expected "no value": create once.
    assert.deepEqual(pick(await call('create', { key: 'cfg', value: { a: 1, b: [2, 3] } })), [200, 1, true]);
    assert.deepEqual(pick(await call('create', { key: 'cfg', value: 'again' })), [200, 2, false]);
    assert.deepEqual(pick(await call('cas', { key: 'cfg', expected: { a: 2 }, value: 'x' })), [200, 2, false]);
    // Equal as JSON whatever the order of the object's keys.
    assert.deepEqual(pick(await call('cas', { key: 'cfg', expected: { b: [2, 3], a: 1 }, value: { step: 2 } })), [200, 1, true]);
    assert.deepEqual(await get('cfg'), { step: 2 });
    // New value "no value": delete.
    assert.deepEqual(pick(await call('cas-delete', { key: 'cfg', expected: { step: 2 } })), [200, 1, true]);
    assert.equal(await get('cfg'), null);
});

test('deleteIfEqual: output 1 when it held the configured JSON and is deleted, output 2 otherwise', async () => {
    assert.deepEqual(pick(await call('delete', { key: 'd' })), [200, 2, false], 'a missing key');
    await call('create', { key: 'd', value: { a: 1, b: [2] } });
    assert.deepEqual(pick(await call('delete', { key: 'd' })), [200, 2, false]);
    assert.deepEqual(await get('d'), { a: 1, b: [2] });
    await call('cas', { key: 'd', expected: { a: 1, b: [2] }, value: { b: [2, 3], a: 1 } });
    assert.deepEqual(pick(await call('delete', { key: 'd' })), [200, 1, true]);
    assert.equal(await get('d'), null);
});

test('lock and unlock: granted on output 1 with the token in payload and msg.lockToken, refused on output 2', async () => {
    const granted = await call('lock', { key: 'job', ttl: 30 });
    assert.equal(granted.output, 1);
    assert.equal(typeof granted.payload, 'number');
    assert.equal(granted.lockToken, granted.payload, 'the token where unlock looks by default');
    assert.deepEqual(pick(await call('lock', { key: 'job', ttl: 30 })), [200, 2, null], 'held by the first');
    assert.deepEqual(pick(await call('unlock', { key: 'job', token: granted.payload + 1 })), [200, 2, false], 'not its token');
    assert.deepEqual(pick(await call('unlock', { key: 'job', token: granted.payload })), [200, 1, true]);
    assert.deepEqual(pick(await call('unlock', { key: 'job', token: granted.payload })), [200, 2, false], 'already free');
    const next = await call('lock', { key: 'job', ttl: 30 });
    assert.equal(next.output, 1);
    assert.ok(next.payload > granted.payload, 'tokens grow with every grant');
    // lock -> work -> unlock with the token the lock left in msg.lockToken.
    const guarded = await Promise.all(Array.from({ length: 10 }, () => call('locked', {})));
    for (const a of guarded) assert.ok(a.output === 1 ? a.payload === true : a.payload === null, JSON.stringify(a));
    assert.equal(await get('guarded'), guarded.filter((a) => a.output === 1).length);
});

test('errors reach the catch node with the message: a key of another type, a missing key, a bad configuration', async () => {
    await call('create', { key: 'name', value: 'Ada' });
    assert.deepEqual(await call('incr', { key: 'name' }),
        { status: 500, error: 'shared.incr: "name" holds a string, not a number', source: 'shared-atomic' });
    assert.equal(await get('name'), 'Ada', 'left as it was');
    await call('incr', { key: 'counter' });
    assert.match((await call('lock', { key: 'counter', ttl: 5 })).error, /holds a number, not a lock/);
    assert.match((await call('incr', {})).error, /^shared-atomic: msg\.payload\.key must be a non-empty string, got undefined$/);
    assert.match((await call('incr', { key: 'a.b' })).error, /nested key/);
    assert.match((await call('lock', { key: 'l', ttl: 'soon' })).error, /ttl/i);
    assert.deepEqual(await call('bad-operation', {}), {
        status: 500, source: 'shared-atomic',
        error: 'shared-atomic: unknown operation "frobnicate": use one of incr, compareAndSet, deleteIfEqual, lock, unlock',
    });
    assert.deepEqual(await call('empty-key', {}), { status: 500, source: 'shared-atomic', error: 'shared-atomic: no key configured' });
    assert.match(worker.output, /shared-atomic: unknown operation "frobnicate"/, 'logged when the flows start, too');
});

test('a database that hangs: the request gets the catch node\'s 500, and the node recovers', async () => {
    mongo.pause();
    try {
        const answer = await call('incr', { key: 'during-outage' });
        assert.equal(answer.status, 500);
        assert.equal(answer.source, 'shared-atomic');
        assert.ok(answer.error, JSON.stringify(answer));
    } finally {
        mongo.resume();
    }
    assert.deepEqual(pick(await call('incr', { key: 'during-outage' })), [200, 1, 1]);
});

function pick(answer) {
    return [answer.status, answer.output, answer.payload];
}

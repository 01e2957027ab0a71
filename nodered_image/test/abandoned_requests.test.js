'use strict';
// Through a real editor and worker: clients that give up on requests the worker holds while it swaps
// flows must not slow the worker's later deploys down (each used to wait the whole drain timeout,
// until the worker restarted).
const test = require('node:test');
const assert = require('node:assert/strict');
const { readOptions } = require('../storage/lib/options');
const { startMongo, Instance, Admin, markerFlow, marker, waitFor, sleep } = require('./instances');

const DRAIN_TIMEOUT_MS = readOptions({ storageModuleOptions: { role: 'worker', mongoUrl: 'unused' } }).drainTimeoutMs;

let mongo;
const instances = [];

test.before(async () => {
    mongo = await startMongo();
});

test.after(async () => {
    for (const i of instances) await i.stop();
    if (mongo && mongo.stop) await mongo.stop();
});

// GETs to the worker, each given up (aborted) if it has no answer after abortAfterMs; returns how
// many were given up unanswered. Runs until until() is true.
async function abandonRequests(worker, until, abortAfterMs = 150) {
    let abandoned = 0;
    const pending = [];
    while (!(await until())) {
        const ctl = new AbortController();
        const timer = setTimeout(() => ctl.abort(), abortAfterMs);
        pending.push(fetch(`${worker.url}/red-nodes/marker`, { signal: ctl.signal })
            .then((r) => r.arrayBuffer(), (err) => {
                if (err.name === 'AbortError') abandoned += 1;
                else throw err;
            })
            .finally(() => clearTimeout(timer)));
        await sleep(30);
    }
    await Promise.all(pending);
    return abandoned;
}

test('requests abandoned while a worker swaps flows do not make its later deploys wait the drain timeout', async (t) => {
    const database = `launcher_abandoned_${process.pid}`;
    const editor = await new Instance('editor', { mongoUrl: mongo.url, database }).start();
    const worker = await new Instance('worker', { mongoUrl: mongo.url, database }).start();
    instances.push(editor, worker);
    await editor.waitReady();
    const admin = new Admin(editor);
    await admin.login();
    const first = await admin.deploy(markerFlow('small-0'));
    await worker.waitReady(first);

    // A large deploy while a slow request is inside the flows: the worker holds new requests while
    // it waits for that one to be answered, stops the old flows and starts 1,500 nodes.
    const slow = fetch(`${worker.url}/red-nodes/slow`).then((r) => r.status);
    const large = admin.deploy(markerFlow('large', { filler: 1500 }));
    await waitFor(async () => (await worker.healthz()).state === 'reloading', 30000, 'the worker to start swapping');
    let swapped = false;
    const abandoned = await abandonRequests(worker, async () => {
        if (!swapped) swapped = (await worker.healthz()).state === 'running';
        return swapped;
    });
    await worker.waitReady(await large);
    assert.equal(await slow, 200, 'the request inside the flows was answered, not cut off');
    assert.equal(await marker(worker), 'large');
    assert.ok(abandoned > 0, 'some requests were given up while held (the case under test happened)');

    // Small deploys reach the worker promptly, not after the drain timeout.
    for (let i = 1; i <= 3; i++) {
        const began = Date.now();
        await admin.deploy(markerFlow(`small-${i}`));
        await waitFor(async () => (await marker(worker)) === `small-${i}`, 30000, `deploy small-${i} on the worker`);
        const took = Date.now() - began;
        t.diagnostic(`small deploy ${i} served by the worker after ${took} ms (${abandoned} requests abandoned during the large swap)`);
        assert.ok(took < DRAIN_TIMEOUT_MS / 2, `small deploy ${i} took ${took} ms to reach the worker (drain timeout ${DRAIN_TIMEOUT_MS} ms)`);
    }
});

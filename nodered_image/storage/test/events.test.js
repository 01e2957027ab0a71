'use strict';
// storage.events: what the launcher's request gate relies on to hold requests while flows are swapped
// and to let the requests inside the old flows be answered before Node-RED stops them.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startMongo, uniqueDb, makeStorage, waitFor, sleep } = require('./helpers');

let mongo;
const opened = [];

test.before(async () => {
    mongo = await startMongo();
});

test.after(async () => {
    for (const s of opened) await s.close().catch(() => {});
    if (mongo && mongo.stop) await mongo.stop();
});

async function storageFor(t, db, role, extra) {
    const made = await makeStorage(mongo.url, db, role, extra);
    opened.push(made.storage);
    return made;
}

const flows = (marker, extra = []) => [{ id: 'tab1', type: 'tab', label: marker }, ...extra];

// Every event as [name, payload without waitFor, waitFor, {savedAt, swapMs} of flows-started], in order.
// Without a Node-RED runtime to diff with every swap restarts every flow (restarting: null); timing is
// checked by the system tests (tests/system/test_deploy_timing.py, test_partial_reload.py).
function record(storage) {
    const seen = [];
    for (const name of ['swap-starting', 'flows-started', 'start-failed']) {
        storage.events.on(name, (ev) => {
            const { waitFor, savedAt, swapMs, timing, restarting, ...rest } = ev;
            if (name === 'swap-starting') assert.equal(restarting, null, 'every flow restarts');
            if (name === 'flows-started') assert.equal(timing === null, ev.previousRev === null, 'timing for every swap, none at boot');
            seen.push([name, rest, waitFor, { savedAt, swapMs }]);
        });
    }
    return seen;
}

test('a deploy announces the swap before saveFlows returns, and saveFlows waits for what listeners ask', async (t) => {
    const ed = await storageFor(t, uniqueDb('ev_deploy'), 'editor', { drainTimeoutMs: 5000 });
    if (!ed) return;
    const seen = record(ed.storage);
    await ed.runtime.start();
    assert.deepEqual(seen.map(([n, p]) => [n, p]), [['flows-started', { rev: 0, previousRev: null }]]);

    let release;
    ed.storage.events.once('swap-starting', (ev) => ev.waitFor(new Promise((resolve) => {
        release = resolve;
    })));
    let saved = false;
    const save = ed.storage.saveFlows(flows('one'), null).then((rev) => {
        saved = true;
        return rev;
    });
    await waitFor(() => release, 5000, 'swap-starting');
    assert.deepEqual(seen[1].slice(0, 2), ['swap-starting', { rev: 1, cause: 'deploy', timeoutMs: 5000 }]);
    await sleep(200);
    assert.equal(saved, false, 'saveFlows (and so the stop of the old flows) waits for the listener');
    release();
    assert.equal(await save, 1);
    ed.runtime.started(flows('one'));
    assert.deepEqual(seen[2].slice(0, 2), ['flows-started', { rev: 1, previousRev: 0 }]);
    // How long the swap took (the launcher's reload metric) and when the revision was saved (sync lag).
    assert.deepEqual(seen[0][3], { savedAt: null, swapMs: null }, 'the first start swaps nothing; nothing was saved');
    const { savedAt, swapMs } = seen[2][3];
    assert.ok(swapMs >= 200 && swapMs < 5000, `swapMs ${swapMs}: from swap-starting to started, the listener's wait included`);
    const doc = await ed.storage.database().collection('flows').findOne({ _id: 1 });
    assert.equal(savedAt.getTime(), doc.savedAt.getTime());
});

test('a listener that never settles delays a deploy by the drain timeout at most', async (t) => {
    const ed = await storageFor(t, uniqueDb('ev_timeout'), 'editor', { drainTimeoutMs: 300 });
    if (!ed) return;
    await ed.runtime.start();
    ed.storage.events.on('swap-starting', (ev) => ev.waitFor(new Promise(() => {})));
    ed.storage.events.on('swap-starting', () => {
        throw new Error('a broken listener');
    });
    const began = Date.now();
    assert.equal(await ed.storage.saveFlows(flows('one'), null), 1);
    const took = Date.now() - began;
    assert.ok(took >= 250 && took < 5000, `saveFlows returned after ${took} ms`);
    assert.ok(ed.runtime.logs.some(([level, m]) => level === 'error' && /listener of swap-starting failed/.test(m)));
});

test('a worker announces each reload, waits for its listeners, and reports what started or failed', async (t) => {
    const db = uniqueDb('ev_reload');
    const ed = await storageFor(t, db, 'editor');
    if (!ed) return;
    await ed.storage.saveFlows(flows('v1'), null);
    const wk = await storageFor(t, db, 'worker', { syncCheckSeconds: 60 });
    const seen = record(wk.storage);
    await wk.runtime.start();

    let release;
    wk.storage.events.once('swap-starting', (ev) => ev.waitFor(new Promise((resolve) => {
        release = resolve;
    })));
    await ed.storage.saveFlows(flows('v2'), null);
    await waitFor(() => release, 10000, 'swap-starting on the worker');
    await sleep(200);
    assert.equal(wk.runtime.loads.length, 0, 'Node-RED gets the new flows (and stops the old) only once released');
    release();
    await waitFor(() => wk.storage.statusInfo().rev === 2, 10000, 'revision 2');

    // Flows that cannot start: the worker says so, and loads the newest revision that starts again.
    const broken = flows('v3', [{ id: 'x', type: 'no-such-type', z: 'tab1', wires: [] }]);
    await ed.storage.saveFlows(broken, null);
    await waitFor(() => seen.length >= 7, 10000, 'the fallback');
    assert.deepEqual(seen.map(([n, p]) => [n, p]), [
        ['flows-started', { rev: 1, previousRev: null }],
        ['swap-starting', { rev: 2, cause: 'reload', timeoutMs: 5000 }],
        ['flows-started', { rev: 2, previousRev: 1 }],
        ['swap-starting', { rev: 3, cause: 'reload', timeoutMs: 5000 }],
        ['start-failed', { rev: 3, reason: 'missing node types: no-such-type', fallbackRev: 2 }],
        ['swap-starting', { rev: 2, cause: 'fallback', timeoutMs: 5000 }],
        ['flows-started', { rev: 2, previousRev: 2 }],
    ]);
    // The reload's duration (held 200 ms by the listener) and its revision's savedAt, for the sync lag.
    const { savedAt, swapMs } = seen[2][3];
    assert.ok(swapMs >= 200 && swapMs < 10000, `swapMs ${swapMs}`);
    const doc = await wk.storage.database().collection('flows').findOne({ _id: 2 });
    assert.equal(savedAt.getTime(), doc.savedAt.getTime());
    const info = wk.storage.statusInfo();
    assert.deepEqual([info.rev, info.latestRev, info.state, info.ready], [2, 3, 'running', true]);
    assert.equal(info.message, 'serving revision 2, revision 3 failed: missing node types: no-such-type');
});

test('a swap Node-RED never reports started ends in start-failed after reloadTimeoutSeconds', async (t) => {
    const ed = await storageFor(t, uniqueDb('ev_stuck'), 'editor', { reloadTimeoutSeconds: 0.3 });
    if (!ed) return;
    const seen = record(ed.storage);
    await ed.runtime.start();
    await ed.storage.saveFlows(flows('never started'), null); // the fake runtime does not start them
    await waitFor(() => seen.some(([n]) => n === 'start-failed'), 5000, 'start-failed');
    assert.deepEqual(seen.map(([n, p]) => [n, p]).slice(1), [
        ['swap-starting', { rev: 1, cause: 'deploy', timeoutMs: 5000 }],
        ['start-failed', { rev: 1, reason: 'not reported started within 0.3 s', fallbackRev: null }],
    ]);
    assert.ok(ed.runtime.logs.some(([level, m]) => level === 'warn' && /no longer holding HTTP requests/.test(m)));
});

test('a revision seen while the one before it is still starting keeps its timing: every part known', async (t) => {
    // Guards: a worker that learnt of revision 2 while revision 1's flows were starting forgot when it
    // learnt of it once revision 1 started, and reported revision 2's way as {notifyMs: null, loadMs: null}
    // (tests/system/test_deploy_timing.py saw it on a quiet machine: two deploys in a row).
    const db = uniqueDb('ev_timing');
    const ed = await storageFor(t, db, 'editor');
    await ed.runtime.start();
    await ed.storage.saveFlows(flows('v1'), null);
    const wk = await storageFor(t, db, 'worker', { syncCheckSeconds: 60 });
    const started = [];
    wk.storage.events.on('flows-started', (ev) => started.push(ev));
    await wk.runtime.start();
    // Node-RED takes its time starting revision 2's flows: held until revision 3 is seen.
    const startFlows = wk.runtime.started;
    const held = [];
    wk.runtime.started = (f) => held.push(() => startFlows(f));
    // Saved as the editor's flows API saves a deploy (runDeploy: when the deploy call began).
    const deploy = (marker) => ed.storage.runDeploy({ type: 'full' }, () => ed.storage.saveFlows(flows(marker), null));
    await deploy('v2');
    await waitFor(() => held.length === 1, 10000, 'revision 2 handed to Node-RED');
    await deploy('v3');
    await waitFor(() => wk.storage.statusInfo().latestRev === 3, 10000, 'revision 3 seen while 2 starts');
    wk.runtime.started = startFlows;
    held.pop()();
    await waitFor(() => wk.storage.statusInfo().rev === 3, 10000, 'revision 3 running');
    const [two, three] = started.slice(1).map((ev) => ev.timing);
    for (const timing of [two, three]) {
        for (const part of ['editorMs', 'notifyMs', 'loadMs', 'swapMs', 'totalMs']) {
            assert.ok(Number.isInteger(timing[part]) && timing[part] >= 0, `revision ${timing.rev} ${part}: ${JSON.stringify(timing)}`);
        }
    }
    assert.deepEqual([two.rev, three.rev], [2, 3]);
    assert.ok(three.loadMs >= 0 && three.notifyMs + three.loadMs + three.swapMs <= three.totalMs + 1, JSON.stringify(three));
});

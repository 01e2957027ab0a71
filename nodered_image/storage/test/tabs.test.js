'use strict';
// Which tabs run here (lib/tabs.js) inside a real Node-RED runtime, started in this process with an
// in-memory storage and a leadership the test flips: the run-once tab runs exactly while this instance
// leads, however often leadership changes, around Node-RED's own deploys and reloads; the ordinary tab
// runs throughout. No database: the lease (lib/leader_lease.js) is tested in leader.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { TabFilter } = require('../lib/tabs');
const { waitFor } = require('./helpers');

const RED = require(path.dirname(require.resolve('node-red/package.json', { paths: [path.resolve(__dirname, '..', '..')] })));

// Each inject counts its runs in ticks[tab] (functionGlobalContext: the same object in every function node).
const ticks = { once: 0, all: 0 };
const counting = (tab, every = '0.02') => [
    { id: `${tab}-timer`, type: 'inject', z: tab, repeat: every, once: false, props: [{ p: 'payload' }], wires: [[`${tab}-count`]] },
    { id: `${tab}-count`, type: 'function', z: tab, func: `global.get('ticks')[${JSON.stringify(tab)}] += 1; return null;`, outputs: 1, wires: [[]] },
];
const FLOWS = [
    { id: 'once', type: 'tab', label: 'run-once', disabled: false, env: [{ name: 'CLUSTER_RUN_ON', value: 'leader', type: 'str' }] },
    ...counting('once'),
    { id: 'all', type: 'tab', label: 'everywhere', disabled: false, env: [] },
    ...counting('all'),
];

let leader = true;
let filter = null;
let runtime = null;
const logs = [];
const log = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(`error: ${m}`), debug: () => {} };
let saveDelay = null; // a promise a deploy's save waits for (a deploy in progress)

// The storage Node-RED is started with: the flows above, and the filter installed at init, as lib/storage.js does.
const storage = {
    init: async (settings, rt) => {
        runtime = rt;
        filter = new TabFilter({ mode: 'all', isLeader: () => leader, log });
        filter.install(rt);
    },
    getFlows: async () => FLOWS,
    saveFlows: async () => {
        if (saveDelay) await saveDelay;
    },
    getCredentials: async () => ({}),
    saveCredentials: async () => {},
    getSettings: async () => ({}),
    saveSettings: async () => {},
    getSessions: async () => ({}),
    saveSessions: async () => {},
    getLibraryEntry: async () => [],
    saveLibraryEntry: async () => {},
};

test.before(async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tabs-test-'));
    fs.writeFileSync(path.join(userDir, 'package.json'), '{"name": "tabs-test", "private": true}');
    RED.init(null, {
        userDir, httpAdminRoot: false, httpNodeRoot: false, storageModule: storage, credentialSecret: 'tabs-test',
        functionGlobalContext: { ticks }, logging: { console: { level: 'off' } },
    });
    await RED.start();
});

test.after(async () => {
    await RED.stop();
});

const settled = () => waitFor(() => !filter.switching && !filter.busy && filter.pending === 0 && filter.mismatched().length === 0, 5000, 'the tabs to settle');

// Which tabs tick now: each counter is read, then again once the other tab has ticked a few times more.
async function ticking() {
    const before = { ...ticks };
    await waitFor(() => ticks.all >= before.all + 5, 5000, 'the ordinary tab to tick');
    const beforeOnce = ticks.once;
    await waitFor(() => ticks.all >= before.all + 10, 5000, 'the ordinary tab to tick');
    return { once: ticks.once > beforeOnce, all: true };
}

async function lead(value) {
    leader = value;
    filter.reconcile();
    await settled();
}

test('the run-once tab follows every change of leadership, not only the first', async () => {
    await settled();
    assert.deepEqual(await ticking(), { once: true, all: true }, 'leading from the start');
    for (let i = 0; i < 6; i++) {
        await lead(!leader);
        assert.deepEqual(await ticking(), { once: leader, all: true }, `after change ${i + 1} (leader: ${leader})`);
        assert.equal(filter.busy, false, 'Node-RED looks idle once the switch is done');
    }
    const switches = logs.filter((m) => m.startsWith('run-once tabs'));
    assert.equal(switches.length, 6, switches.join('\n'));
});

test('leadership changed back and forth while a switch runs ends in the state of the last change', async () => {
    await lead(true);
    for (let i = 0; i < 5; i++) {
        leader = !leader;
        filter.reconcile();
        await new Promise((resolve) => setImmediate(resolve));
    }
    await settled();
    assert.deepEqual(await ticking(), { once: leader, all: true });
});

test('a change of leadership during a deploy is carried out once the deploy has started its flows', async () => {
    for (const type of ['full', 'flows']) {
        await lead(true);
        let release;
        saveDelay = new Promise((resolve) => {
            release = resolve;
        });
        const deploy = runtime.flows.setFlows(FLOWS, null, type);
        leader = false;
        filter.reconcile();
        release();
        saveDelay = null;
        await deploy;
        await settled();
        assert.deepEqual(await ticking(), { once: false, all: true }, `a ${type} deploy`);
        await lead(true);
        assert.deepEqual(await ticking(), { once: true, all: true }, `after a ${type} deploy`);
        await lead(false);
        assert.deepEqual(await ticking(), { once: false, all: true }, `after a ${type} deploy`);
    }
});

test('reloads of the flows (a worker following a new revision) keep following the leadership', async () => {
    for (let i = 0; i < 4; i++) {
        await runtime.nodes.loadFlows(true);
        await settled();
        assert.deepEqual(await ticking(), { once: leader, all: true }, `reload ${i + 1}`);
        await lead(!leader);
        assert.deepEqual(await ticking(), { once: leader, all: true }, `after reload ${i + 1}`);
    }
});

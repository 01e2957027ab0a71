'use strict';
// What the storage module takes from the Node-RED it runs in, read from that Node-RED's own sources: the
// storage API its runtime calls, and the runtime parts the reloader, partial reloads and run-once tabs
// wrap (flows/util, nodes/credentials). Runs on the image's Node-RED and, in make test-node-red-4.1, on 4.1:
// a Node-RED that changed one of them fails here, not in a stack.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { createStorage } = require('../lib/storage');
const { runtimeModule } = require('../lib/tabs');

const runtimeDir = path.dirname(require.resolve('@node-red/runtime/package.json', {
    paths: [path.dirname(require.resolve('node-red/package.json'))],
}));

test('every storage call of the runtime is one the storage module answers', () => {
    const source = fs.readFileSync(path.join(runtimeDir, 'lib', 'storage', 'index.js'), 'utf8');
    const called = new Set([...source.matchAll(/storageModule\.(\w+)\(/g)].map((m) => m[1]).filter((n) => n !== 'hasOwnProperty'));
    // Optional parts the runtime asks for first (hasOwnProperty / truthiness): projects and their keys.
    const optional = new Set([...source.matchAll(/storageModule\.hasOwnProperty\("(\w+)"\)/g)].map((m) => m[1]));
    const storage = createStorage();
    const required = [...called].filter((n) => !optional.has(n) || ['getSettings', 'saveSettings', 'getSessions', 'saveSessions'].includes(n));
    assert.ok(required.includes('getFlows') && required.includes('saveLibraryEntry'), `read the calls: ${required}`);
    for (const name of required) assert.equal(typeof storage[name], 'function', `storage.${name}`);
});

test('flows/util parses tabs with a disabled flag and diffs two flow sets as the tabs and partial reloads expect', () => {
    const util = runtimeModule('flows/util');
    const config = [
        { id: 't1', type: 'tab', label: 'one', disabled: false },
        { id: 'n1', type: 'function', z: 't1', func: 'return msg;', wires: [] },
        { id: 't2', type: 'tab', label: 'two' },
    ];
    const before = util.parseConfig(config);
    assert.deepEqual(Object.keys(before.flows).sort(), ['t1', 't2']);
    assert.equal(before.allNodes.n1.z, 't1');
    const after = util.parseConfig([config[0], { ...config[1], func: 'return null;' }, { ...config[2], disabled: true }]);
    assert.equal(after.flows.t2.disabled, true);
    const diff = util.diffConfigs(before, after);
    for (const part of ['added', 'changed', 'removed', 'rewired', 'linked']) assert.ok(Array.isArray(diff[part]), part);
    // A node changed: it restarts; a tab disabled: its flow stops (what switching a run-once tab off does).
    assert.ok(diff.changed.includes('n1') && diff.removed.includes('t2'), JSON.stringify(diff));
});

test('the runtime credentials store has the load and get partial reloads compare credentials with', () => {
    const credentials = runtimeModule('nodes/credentials');
    assert.equal(typeof credentials.load, 'function');
    assert.equal(typeof credentials.get, 'function');
});

'use strict';
// common/within.js: the bounded wait the stop, the swap's drain and the cluster API's reads use.
const test = require('node:test');
const assert = require('node:assert');
const { within, TIMED_OUT } = require('../common/within');

test('a promise that settles in time gives its value, or its rejection', async () => {
    assert.equal(await within(Promise.resolve(7), 1000), 7);
    await assert.rejects(within(Promise.reject(new Error('no')), 1000), /no/);
});

test('a promise that never settles gives TIMED_OUT after the bound, and leaves no timer behind', async () => {
    const t0 = Date.now();
    assert.equal(await within(new Promise(() => {}), 50), TIMED_OUT);
    assert.ok(Date.now() - t0 >= 45);
    // A settled wait clears its timer: a 10-minute bound would otherwise keep this process up.
    const resources = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = resources();
    await within(Promise.resolve(1), 600000);
    assert.equal(resources(), before);
});

'use strict';
// When a worker applies a revision as a partial deploy (lib/partial.js decide): only a "flows" or "nodes"
// deploy made by an editor that ran exactly the revision this worker runs. The system tests
// (tests/system/test_partial_*.py) see partial reloads happen; this pins down when they must not.
const test = require('node:test');
const assert = require('node:assert/strict');
const { PartialReloads } = require('../lib/partial');

// A worker running revision 1 (its flows started), ready to diff: what decide() reads, nothing more.
function workerOn(rev, key) {
    const partial = new PartialReloads({
        runtime: { flows: { started: true } },
        revisions: { loaded: { rev, key }, loadedRev: rev, loadedKey: key },
        health: { runningRevision: () => rev },
    });
    partial.installed = true;
    return partial;
}

const pick = (rev, deployType, baseKey) => ({ kind: 'revision', rev, key: `${rev}:d${rev}`, doc: { _id: rev, deployType, baseKey } });
const reload = { cause: 'reload' };

test('a "flows" or "nodes" deploy made on the revision the worker runs applies as a partial deploy', () => {
    const worker = workerOn(1, '1:d1');
    assert.equal(worker.decide(pick(2, 'flows', '1:d1'), reload), 'flows');
    assert.equal(worker.decide(pick(2, 'nodes', '1:d1'), reload), 'nodes');
});

test('a catch-up over several revisions loads in full: the deploy was made on a revision the worker never ran', () => {
    // Guards: the rule of docs/instances.md ("How a deploy reaches the workers"), unguarded by the system tests (with the baseKey check removed they all
    // passed): revision 3 is a diff against revision 2, which this worker (still on 1) did not run.
    const worker = workerOn(1, '1:d1');
    assert.equal(worker.decide(pick(3, 'flows', '2:d2'), reload), 'a catch-up from revision 1');
    assert.equal(worker.decide(pick(3, 'nodes', undefined), reload), 'a catch-up from revision 1', 'no base recorded');
    // The same number with another identity (a restore) is another revision.
    assert.equal(worker.decide(pick(2, 'flows', '1:restored'), reload), 'a catch-up from revision 1');
});

test('everything else loads in full: a full deploy, a rollback, a restart, a fallback, an edit in place', () => {
    const worker = workerOn(1, '1:d1');
    assert.equal(worker.decide(pick(2, 'full', '1:d1'), reload), 'a full deploy');
    assert.equal(worker.decide(pick(2, 'rollback', '1:d1'), reload), 'a rollback deploy');
    assert.equal(worker.decide(pick(2, 'flows', '1:d1'), { cause: 'restart' }), 'a restart');
    assert.equal(worker.decide(pick(2, 'flows', '1:d1'), { cause: 'fallback' }), 'a fallback');
    assert.equal(worker.decide(pick(1, 'flows', '0:d0'), { cause: 'reload', edited: true }), 'a revision edited in place');
});

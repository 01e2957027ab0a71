'use strict';
// The ping behind /healthz's dbReachable, on mocked timers with a ping the test answers (or not): a
// database that stops answering is reported once its ping is late, one ping at a time, and is answering
// again at its answer.
const test = require('node:test');
const assert = require('node:assert/strict');
const { DbProbe, EVERY_MS, LATE_MS } = require('../lib/db_probe');

const settle = () => new Promise((r) => setImmediate(r));

function probe(t) {
    t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
    const lines = [];
    const pings = []; // the resolve/reject of each ping sent, in order
    const p = new DbProbe({
        ping: () => new Promise((resolve, reject) => pings.push({ resolve, reject })),
        log: { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) },
    });
    p.start();
    t.after(() => p.stop());
    return { p, pings, lines };
}

test('a ping left unanswered says "not answering" once late, within 5 s; no second ping meanwhile; its answer ends it', async (t) => {
    const { p, pings, lines } = probe(t);
    assert.ok(EVERY_MS + LATE_MS <= 5000, 'docs/instances.md promises 5 s');
    t.mock.timers.tick(EVERY_MS);
    assert.equal(pings.length, 1);
    t.mock.timers.tick(LATE_MS - 1);
    assert.equal(p.answering, true, 'late before its time');
    t.mock.timers.tick(1);
    assert.equal(p.answering, false);
    assert.match(lines.join('\n'), /warn MongoDB does not answer: no answer to a ping for 3 s/);
    t.mock.timers.tick(5 * EVERY_MS);
    assert.equal(pings.length, 1, 'a hung ping was repeated');

    pings[0].resolve();
    await settle();
    assert.equal(p.answering, true);
    assert.match(lines.at(-1), /info MongoDB answers again/);
    t.mock.timers.tick(EVERY_MS);
    assert.equal(pings.length, 2, 'pinging resumed');
});

test('a failed ping says "not answering" at once, and the next answered one "answering" again', async (t) => {
    const { p, pings, lines } = probe(t);
    t.mock.timers.tick(EVERY_MS);
    pings[0].reject(new Error('connection refused'));
    await settle();
    assert.equal(p.answering, false);
    assert.equal(p.failure, 'connection refused');
    t.mock.timers.tick(EVERY_MS);
    pings[1].resolve();
    await settle();
    assert.equal(p.answering, true);
    assert.equal(lines.length, 2, 'one line per change');
    assert.match(lines[0], /^warn MongoDB does not answer: connection refused/);
    assert.match(lines[1], /^info MongoDB answers again/);
});

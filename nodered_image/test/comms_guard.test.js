'use strict';
// The editor's sessions under a debug flood (lib/comms_guard.js), against a stand-in of Node-RED's
// comms connection (editor-api lib/editor/comms.js: a queue sent 50 at a time every 50 ms into a
// socket that takes everything): a session that reads slowly holds a bounded backlog and is told what
// it missed, a session that keeps up misses nothing, other topics are never held back, and a session
// hopelessly behind is closed. tests/hostile/test_debug_flood.py runs the real thing.
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('events');
const { CommsGuard } = require('../lib/comms_guard');
const { waitFor } = require('./instances');

// Node-RED's CommsConnection as far as the guard sees it; the socket reads `readsPerTick` bytes every
// 10 ms (the browser's pace), its bufferedAmount is what it has not read yet.
class Connection {
    constructor(readsPerTick) {
        this.stack = [];
        this.received = [];
        const ws = new EventEmitter();
        ws.bufferedAmount = 0;
        ws.pending = [];
        ws.send = (text) => {
            ws.bufferedAmount += text.length;
            ws.pending.push(text);
        };
        ws.terminate = () => {
            this.terminated = true;
            ws.emit('close');
        };
        this.ws = ws;
        let credit = 0;
        this.reader = setInterval(() => {
            credit = ws.pending.length ? credit + readsPerTick : 0;
            while (ws.pending.length && credit >= ws.pending[0].length) {
                const text = ws.pending.shift();
                credit -= text.length;
                ws.bufferedAmount -= text.length;
                this.received.push(...JSON.parse(text));
            }
        }, 10);
    }

    send(topic, data) {
        if (topic && data) this.stack.push({ topic, data });
        if (!this.xmit) {
            this.xmit = setTimeout(() => {
                this.xmit = null;
                this.ws.send(JSON.stringify(this.stack.splice(0, 50)));
                if (this.stack.length) this.send();
            }, 50);
        }
    }

    close() {
        clearInterval(this.reader);
        clearTimeout(this.xmit);
    }
}

function setup(options = {}) {
    const sessions = [];
    const comms = { addConnection: async ({ client }) => sessions.push(client) };
    const lines = [];
    const guard = new CommsGuard({ comms, log: (level, m) => lines.push([level, m]), quietMs: 200, ...options });
    guard.start();
    const publish = (topic, data) => sessions.forEach((c) => c.send(topic, data));
    return { guard, comms, publish, lines };
}

const debugOf = (c) => c.received.filter((m) => m.topic === 'debug').map((m) => m.data);

test('a slow session holds a bounded backlog and is told how many it missed; a fast one misses nothing', async () => {
    const { guard, comms, publish } = setup({ maxBytes: 256 * 1024 });
    const slow = new Connection(2 * 1024); // 200 KiB/s
    const fast = new Connection(10 * 1024 * 1024);
    await comms.addConnection({ client: slow });
    await comms.addConnection({ client: fast });
    const text = 'x'.repeat(4 * 1024);
    let worst = 0;
    for (let i = 0; i < 400; i++) {
        publish('debug', { msg: `${i} ${text}` });
        const queued = slow.stack.reduce((n, m) => n + JSON.stringify(m).length, 0) + slow.ws.bufferedAmount;
        worst = Math.max(worst, queued);
        await new Promise((r) => setTimeout(r, 2)); // pacing: 500 messages a second, 2 MiB/s
    }
    assert.ok(worst < 256 * 1024 + 8 * 1024, `the slow session had ${worst} bytes waiting`);
    await waitFor(() => debugOf(slow).some((d) => d.dropped), 5000, 'the notice in the slow session');
    const notice = debugOf(slow).find((d) => d.dropped);
    const shown = debugOf(slow).filter((d) => !d.dropped).length;
    assert.equal(shown + notice.dropped, 400);
    assert.equal(guard.totals.dropped.slow, notice.dropped);
    assert.equal(notice.level, 30);
    assert.match(notice.msg, new RegExp(`^${notice.dropped} debug messages not shown in this editor in [\\d.]+ s: they came faster than it took them`));
    await waitFor(() => debugOf(fast).length === 400, 5000, 'every message in the fast session');
    assert.ok(!debugOf(fast).some((d) => d.dropped));
    slow.close();
    fast.close();
});

test('other topics are not held back from a session behind on debug messages', async () => {
    const { comms, publish } = setup({ maxBytes: 16 * 1024 });
    const slow = new Connection(0); // reads nothing for now
    await comms.addConnection({ client: slow });
    for (let i = 0; i < 50; i++) publish('debug', { msg: 'y'.repeat(1024) });
    publish('status/n1', { text: 'running' });
    publish('notification/runtime-deploy', { revision: 'abc' });
    const topics = slow.stack.map((m) => m.topic);
    assert.ok(topics.includes('status/n1') && topics.includes('notification/runtime-deploy'));
    slow.close();
});

test('a session hopelessly behind is closed, and nothing more is queued for it', async () => {
    const { guard, comms, publish, lines } = setup({ closeMessages: 100 });
    const stuck = new Connection(0);
    await comms.addConnection({ client: stuck });
    for (let i = 0; i < 500; i++) publish(`status/n${i}`, { text: `s${i}` }); // not debug: never held back
    assert.equal(stuck.terminated, true);
    assert.equal(guard.totals.cut, 1);
    assert.ok(stuck.stack.length <= 101);
    assert.ok(lines.some(([level, m]) => level === 'warn' && /closing an editor session/.test(m)));
    stuck.close();
});

test('the guard leaves the comms API as it was when stopped', async () => {
    const { guard, comms } = setup();
    await guard.stop();
    const c = new Connection(0);
    const send = c.send;
    await comms.addConnection({ client: c });
    assert.equal(c.send, send);
    c.close();
});

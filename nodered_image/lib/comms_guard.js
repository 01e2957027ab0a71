'use strict';
// The editor's websocket sessions (/comms) hold back debug messages instead of buffering them without
// bound. Node-RED's comms (@node-red/editor-api lib/editor/comms.js, the same in 4.1 and 5.0) queues
// every message for every session in an array it sends 50 at a time every 50 ms, and the socket (ws)
// takes each frame whatever already waits in it: a browser that reads slowly, during a flood of debug
// messages (the workers' through lib/debug_relay.js, or the editor's own flows'), grew the editor by
// hundreds of MiB and it kept them after the socket closed.
//
// The runtime's comms API hands every session to `addConnection` ({client}: its `send(topic, data)`,
// the `stack` array it queues on, its `ws`); this wraps that `send` per session, Node-RED unchanged:
// - a "debug" message is not queued for a session with `maxBytes` or more waiting for it (its queue,
//   as measured here, and the socket's bufferedAmount) or `maxMessages` in its queue (a second of
//   what Node-RED sends); one notice in that session's sidebar says how many it missed, once it had
//   none to miss for `quietMs` (or every `noticeEveryMs` while it goes on);
// - a session with more than `closeBytes` or `closeMessages` waiting whatever the topic (node status
//   in a flood) is closed: the editor reconnects by itself and gets the retained state again.
// Without Node-RED's `stack` (another version) only the socket's bufferedAmount is looked at.

const sizes = new WeakMap(); // a message's data -> its JSON length, measured once for every session

// The relay knows the length of what it publishes already (the text it parsed).
function knownSize(data, n) {
    if (data && typeof data === 'object') sizes.set(data, n);
}

function sizeOf(data) {
    if (!data || typeof data !== 'object') return 16;
    let n = sizes.get(data);
    if (n === undefined) {
        try {
            n = JSON.stringify(data).length;
        } catch {
            n = 0;
        }
        sizes.set(data, n);
    }
    return n;
}

class Session {
    constructor(client, guard) {
        this.client = client;
        this.guard = guard;
        this.queued = []; // sizes of what is in Node-RED's queue, oldest first (from `head`)
        this.head = 0;
        this.queuedBytes = 0;
        this.missed = 0;
        this.firstMissAt = null;
        this.lastMissAt = null;
        this.timer = null;
        this.closed = false;
        const send = client.send;
        this.sendNow = (topic, data) => {
            if (topic && data && Array.isArray(client.stack)) {
                const n = sizeOf(data);
                this.queued.push(n);
                this.queuedBytes += n;
            }
            send.call(client, topic, data);
        };
        client.send = (topic, data) => this.send(topic, data);
        if (client.ws && typeof client.ws.once === 'function') client.ws.once('close', () => this.end());
    }

    // {messages, bytes} waiting for this session: Node-RED sends from the front of its queue.
    backlog() {
        const stack = this.client.stack;
        let messages = 0;
        if (Array.isArray(stack)) {
            messages = stack.length;
            while (this.queued.length - this.head > messages) this.queuedBytes -= this.queued[this.head++];
            if (this.head > 1024) {
                this.queued.splice(0, this.head);
                this.head = 0;
            }
        }
        const ws = this.client.ws;
        return { messages, bytes: this.queuedBytes + ((ws && ws.bufferedAmount) || 0) };
    }

    send(topic, data) {
        if (this.closed) return;
        const g = this.guard;
        const { messages, bytes } = this.backlog();
        if (bytes > g.closeBytes || messages > g.closeMessages) return this.cut(messages, bytes);
        if (topic === 'debug' && (bytes >= g.maxBytes || messages >= g.maxMessages)) return this.miss();
        this.sendNow(topic, data);
    }

    miss() {
        const now = Date.now();
        if (this.firstMissAt === null) this.firstMissAt = now;
        this.lastMissAt = now;
        this.missed += 1;
        this.guard.totals.dropped.slow += 1;
        if (!this.timer) {
            this.timer = setInterval(() => this.tell(), Math.min(this.guard.quietMs, 1000));
            this.timer.unref();
        }
    }

    // The notice, once due: queued past the limits (a single small message).
    tell() {
        const g = this.guard;
        const now = Date.now();
        if (now - this.lastMissAt < g.quietMs && now - this.firstMissAt < g.noticeEveryMs) return;
        const seconds = ((now - this.firstMissAt) / 1000).toFixed(1);
        const text = `${this.missed} debug messages not shown in this editor in ${seconds} s: they came faster than it `
            + `took them (over ${Math.round(g.maxBytes / 1024)} KiB or ${g.maxMessages} messages were waiting to be sent to it)`;
        this.sendNow('debug', { name: 'editor: debug sidebar', msg: text, format: `string[${text.length}]`, level: 30, dropped: this.missed });
        this.missed = 0;
        this.firstMissAt = null;
        clearInterval(this.timer);
        this.timer = null;
    }

    cut(messages, bytes) {
        this.guard.totals.cut += 1;
        this.guard.log('warn', `closing an editor session ${Math.round(bytes / 1024)} KiB and ${messages} messages behind `
            + '(the browser reads slower than its messages come); it reconnects by itself');
        this.end();
        this.client.ws.terminate();
    }

    end() {
        this.closed = true;
        clearInterval(this.timer);
        this.timer = null;
    }
}

class CommsGuard {
    // comms: the runtime's comms API (RED.runtime.comms), whose addConnection the editor's websocket
    // server calls for every session it opens.
    constructor({ comms, log, maxBytes = 1024 * 1024, maxMessages = 1000, closeBytes = 16 * 1024 * 1024,
        closeMessages = 20000, quietMs = 1000, noticeEveryMs = 10000 }) {
        Object.assign(this, { comms, log, maxBytes, maxMessages, closeBytes, closeMessages, quietMs, noticeEveryMs });
        this.totals = { dropped: { slow: 0 }, cut: 0 }; // for /metrics
    }

    start() {
        const add = this.comms.addConnection;
        const guard = this;
        this.comms.addConnection = function (opts) {
            if (opts && opts.client && typeof opts.client.send === 'function') new Session(opts.client, guard);
            return add.apply(this, arguments);
        };
        this.add = add;
    }

    async stop() {
        if (this.add) this.comms.addConnection = this.add;
    }
}

module.exports = { CommsGuard, knownSize };

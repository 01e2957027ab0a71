'use strict';
// A worker's debug output, on its way to the editor's debug sidebar. What a Node-RED instance shows in
// its own sidebar it publishes on its comms under the topic "debug": debug nodes' messages, and every
// warning and error a node logs (node.warn, node.error not handled by a catch node; the debug node's
// log handler publishes them). A worker has no editor to show them in, so this takes them from the
// runtime's "comms" event and writes them to the stack's database, the `debug` collection, which the
// editor follows (lib/debug_relay.js) and publishes into its own comms.
//
// Bounded at every step, and never in the flows' way: taking a message is a few map lookups and an
// array push on the flows' turn; the writes happen on a timer, one document per flush (a batch of
// messages, in order), one write at a time. The timer runs only while there is something to write or
// report: an idle worker never wakes for it.
//
// A document: {at, instance, role, messages: [{kind: "debug"|"dropped", data: <JSON text>, dropped?}]}.
// - Budget: `rate` messages and `kib` KiB per second, with bursts of as many again (token buckets). The
//   bytes count all a document holds (messages serialized, their fields, the document's own, notices):
//   what a worker writes in t seconds stays under kib x (t + 1), so the collection holds at most
//   kib x (TTL + the TTL monitor's period + 1 s) per worker (docs/observability.md).
// - Shared fairly (lib/debug_budget.js): each flow (tab, or subflow instance) gets its share of the
//   budget, and within a flow each node; a flow that floods takes only what the others leave, so the
//   warnings of a quiet flow keep arriving. What waits for the budget is bounded per node (about a
//   second's worth: `rate` messages, and `kib` KiB); what comes while a node's queue is full is dropped.
// - Drops are never silent: once no drop happened for `quietMs` (or every `noticeEveryMs` while they
//   go on) one notice saying how many, why and from which nodes goes to the editor's sidebar the same way.
// - Size: a message over `maxBytes` once serialized is replaced by a note saying so.
// - Expiry: documents carry `at` and a TTL index removes them after database.json's expireAfterSeconds
//   for `debug` (they are for live display only; the editor shows them as they arrive).
// - Dropped before the work: a message on its way to a debug node that only shows in the sidebar, while
//   that node's queue is full, is dropped (and counted) before the debug node formats it (an onReceive
//   hook): under a flood most messages are dropped, and formatting them was most of what debug output
//   cost the worker.
// Debug nodes set to the system console only publish nothing: their output stays in the worker's log.
const { collection, indexes } = require('../common/database');
const { TokenBucket, FairQueues } = require('./debug_budget');

const debugCollection = (db) => collection(db, 'debug');
const DOC_CHARS = 4 * 1024 * 1024; // a batch larger than this is split over documents (BSON: 16 MiB)
const MESSAGE_OVERHEAD = 40; // bytes a message adds to its document besides its text (BSON fields)
const DOC_OVERHEAD = 128; // bytes of a document's own fields (_id, at, instance, role, messages)
const MAX_MESSAGE_BYTES = 64 * 1024;
const HOOK = 'onReceive.nodered-scale-debug-budget';

// Create the TTL index (both roles do at start; it is idempotent).
async function ensureDebugCollection(db, log) {
    try {
        for (const ix of indexes('debug')) await debugCollection(db).createIndex(ix.key, ix.options);
    } catch (err) {
        log('warn', `debug forwarding: could not create the TTL index on debug (${err.message})`);
    }
}

// How a node shows in a drop notice.
function source(data) {
    if (!data || !data.id) return 'the runtime';
    return data.name ? `"${data.name}"` : `${data.type || 'node'} ${data.id}`;
}

class DebugForwarder {
    // events: the runtime's event emitter (RED.events); database(): the Db or null while not connected.
    constructor({ events, database, instance, role, rate, kib = 64, log, flushMs = 250, quietMs = 1000,
        noticeEveryMs = 10000, maxBytes = null, perNode = null, maxWaitMs = 2000 }) {
        this.events = events;
        this.database = database;
        this.instance = instance;
        this.role = role;
        this.rate = rate;
        this.kib = kib;
        this.log = log;
        // Since start, for /metrics (read when scraped: counting costs the flows one increment).
        this.totals = { forwarded: 0, bytes: 0, dropped: { rate: 0, bytes: 0, full: 0, write: 0 } };
        this.flushMs = flushMs;
        this.quietMs = quietMs;
        this.noticeEveryMs = noticeEveryMs;
        this.maxWaitMs = maxWaitMs;
        this.count = new TokenBucket(rate, rate);
        this.bytes = new TokenBucket(kib * 1024, kib * 1024);
        // Every message must fit the byte burst, or its node would never be forwarded again.
        this.maxBytes = maxBytes || Math.min(MAX_MESSAGE_BYTES, kib * 1024 - MESSAGE_OVERHEAD);
        // About a second's worth per node, of messages and of bytes: a flood of large messages keeps a few
        // waiting (each formatted by its debug node first), not a second's worth of the message rate,
        // most of which would wait out maxWaitMs and be dropped after all that formatting.
        this.queues = new FairQueues(perNode || Math.max(rate, 1), kib * 1024);
        this.drops = { rate: 0, bytes: 0, full: 0, write: 0 }; // since the last notice
        this.sources = new Map(); // node -> [label, dropped] since the last notice
        this.firstDropAt = null;
        this.lastDropAt = null;
        this.writing = null;
        this.disconnected = false;
        this.writeFailing = false;
        this.indexed = false;
        this.timer = null;
        this.stopped = false;
        this.onComms = (ev) => this.take(ev);
        this.hooks = null;
    }

    // hooks: the runtime's (RED.hooks), for the drop before a debug node formats what it would send.
    start(hooks = null) {
        this.events.on('comms', this.onComms);
        if (hooks) {
            this.hooks = hooks;
            hooks.add(HOOK, (ev) => (this.dropBeforeFormatting(ev.destination && ev.destination.node, ev.msg) ? false : undefined));
        }
    }

    // On the flows' turn, before a node receives a message: true (and counted as dropped) when it is a
    // debug node whose only output is the sidebar and whose queue is full, so what it would publish
    // would be dropped on arrival. Its message completes as the debug node would complete it (a
    // complete node scoped to it still fires).
    dropBeforeFormatting(node, msg) {
        if (!node || node.type !== 'debug' || !node.active || node.tosidebar !== true) return false;
        if (node.console === 'true' || node.tostatus === true) return false; // it has other work to do
        const full = this.queues.full(node.z, node.id);
        if (full === null) return false;
        this.schedule();
        this.drop(this.fullReason(full), 1, { id: node.id, z: node.z, name: node.name });
        if (typeof node._complete === 'function') node._complete(msg);
        return true;
    }

    // A flush flushMs from now, unless one is due already.
    schedule() {
        if (this.timer || this.stopped) return;
        this.timer = setTimeout(() => {
            this.timer = null;
            this.flush();
        }, this.flushMs);
        this.timer.unref();
    }

    // On the flows' turn: queue or count, nothing else. A full queue means over the budget, or a
    // database that does not keep up.
    take(ev) {
        if (!ev || ev.topic !== 'debug') return;
        this.schedule();
        const full = this.queues.push(ev.data);
        if (full !== null) this.drop(this.fullReason(full), 1, ev.data);
    }

    // Why a node's queue is full, for the drop counts: the budget it waited for at the last flush, else
    // the database (being written to, or not connected), else the bytes (it holds a second's worth of
    // them) or the rate.
    fullReason(full) {
        if (full === 'rate' || full === 'bytes') return full;
        if (this.writing || this.disconnected) return 'full';
        return full === 'size' ? 'bytes' : 'rate';
    }

    drop(reason, n, data) {
        const now = Date.now();
        if (this.firstDropAt === null) this.firstDropAt = now;
        this.lastDropAt = now;
        this.drops[reason] += n;
        this.totals.dropped[reason] += n;
        if (data === undefined) return;
        const key = (data && data.id) || '';
        const s = this.sources.get(key);
        if (s) s[1] += n;
        else this.sources.set(key, [source(data), n]);
    }

    get dropped() {
        return this.drops.rate + this.drops.bytes + this.drops.full + this.drops.write;
    }

    noticeDue(now) {
        return this.dropped > 0 && (now - this.lastDropAt >= this.quietMs || now - this.firstDropAt >= this.noticeEveryMs);
    }

    notice(now) {
        const d = this.drops;
        const reasons = [
            d.rate ? `${d.rate} over the limit of ${this.rate} per second (NODE_RED_DEBUG_FORWARD_RATE)` : null,
            d.bytes ? `${d.bytes} over the limit of ${this.kib} KiB per second (NODE_RED_DEBUG_FORWARD_KIB)` : null,
            d.full ? `${d.full} while the database was slow` : null,
            d.write ? `${d.write} not written: database unreachable` : null,
        ].filter(Boolean).join(', ');
        const top = [...this.sources.values()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([label, n]) => `${label} (${n})`);
        const from = top.length ? `; most from ${top.join(', ')}` : '';
        const seconds = ((now - this.firstDropAt) / 1000).toFixed(1);
        const text = `${this.dropped} debug messages of ${this.instance} dropped in ${seconds} s: ${reasons}${from}`;
        return {
            kind: 'dropped', dropped: this.dropped,
            data: JSON.stringify({ name: `${this.instance}: debug forwarding`, msg: text, format: `string[${text.length}]`, level: 30, dropped: this.dropped }),
        };
    }

    // [the message as written, its bytes]
    message(entry) {
        let data;
        try {
            data = JSON.stringify(entry.data);
        } catch {
            data = null;
        }
        let bytes = typeof data === 'string' ? Buffer.byteLength(data) : 0;
        if (data === null || data === undefined || bytes > this.maxBytes) {
            const d = entry.data || {};
            const text = data ? `[debug message of ${Math.round(bytes / 1024)} KiB: over the ${Math.round(this.maxBytes / 1024)} KiB a worker forwards]`
                : '[debug message that cannot be serialized]';
            data = JSON.stringify({ id: d.id, z: d.z, _alias: d._alias, path: d.path, name: d.name, topic: d.topic, msg: text, format: `string[${text.length}]` });
            bytes = Buffer.byteLength(data);
        }
        return [{ kind: 'debug', data }, bytes + MESSAGE_OVERHEAD];
    }

    // The budget spent in the fair order. What it does not cover waits for the next flush (bounded
    // per node, for at most maxWaitMs: the sidebar is for live display; when stopping, it is dropped
    // and counted). A node whose message does not fit the bytes left sends nothing more this flush:
    // its later messages are neither serialized nor sent before it.
    spend(order, stopping) {
        const kept = [];
        const waiting = [];
        const blocked = new Map();
        const old = Date.now() - this.maxWaitMs;
        let i = 0;
        for (; i < order.length && this.count.available() >= 1; i++) {
            const e = order[i];
            if (e.at < old) { // not yet offered to the budget: it waited for the database
                this.drop(e.blocked || 'full', 1, e.data);
                continue;
            }
            if (blocked.has(e.node)) {
                waiting.push(e);
                continue;
            }
            const [m, bytes] = this.message(e);
            if (!this.bytes.take(bytes)) {
                blocked.set(e.node, 'bytes');
                waiting.push(e);
                continue;
            }
            this.count.take();
            kept.push({ seq: e.seq, m, bytes });
        }
        for (; i < order.length; i++) {
            if (order[i].at < old) this.drop(order[i].blocked || 'full', 1, order[i].data);
            else waiting.push(order[i]);
        }
        if (stopping) for (const e of waiting) this.drop(blocked.get(e.node) || e.blocked || 'rate', 1, e.data);
        else this.queues.restore(waiting, blocked);
        kept.sort((a, b) => a.seq - b.seq);
        return kept;
    }

    // The batch as documents: one, unless it is larger than DOC_CHARS.
    documents(messages, now) {
        const docs = [];
        let chars = 0;
        for (const m of messages) {
            if (docs.length === 0 || chars + m.data.length > DOC_CHARS) {
                docs.push({ at: new Date(now), instance: this.instance, role: this.role, messages: [] });
                chars = 0;
            }
            docs[docs.length - 1].messages.push(m);
            chars += m.data.length;
        }
        return docs;
    }

    // On a timer: write what the budget covers, and the drop notice when due (stopping: now). One
    // write at a time.
    flush(stopping = false) {
        if (this.writing) return this.writing;
        const db = this.database();
        this.disconnected = !db;
        if (!db) {
            this.schedule(); // not connected yet: the queues wait, bounded
            return null;
        }
        const now = Date.now();
        const kept = this.spend(this.queues.take(), stopping);
        const messages = kept.map((k) => k.m);
        const bytes = kept.reduce((n, k) => n + k.bytes, 0);
        const notice = this.dropped > 0 && (stopping || this.noticeDue(now)) ? this.notice(now) : null;
        if (notice) messages.push(notice);
        if (messages.length === 0) {
            if (this.dropped > 0 || this.queues.size > 0) this.schedule(); // the notice is not due yet, or the budget
            return null;
        }
        // Everything written counts against the bytes per second: the documents' own fields and the
        // notice too (the bucket may go below zero), so what the collection holds has a hard bound.
        const docs = this.documents(messages, now);
        this.bytes.charge(docs.length * DOC_OVERHEAD + (notice ? Buffer.byteLength(notice.data) + MESSAGE_OVERHEAD : 0));
        this.writing = this.write(db, docs, kept.length, bytes, notice).finally(() => {
            this.writing = null;
            if (this.queues.size > 0 || this.dropped > 0) this.schedule();
        });
        return this.writing;
    }

    async write(db, docs, messages, bytes, notice) {
        if (!this.indexed) {
            this.indexed = true;
            await ensureDebugCollection(db, this.log);
        }
        try {
            await debugCollection(db).insertMany(docs, { ordered: true });
            this.totals.forwarded += messages;
            this.totals.bytes += bytes;
            if (notice) {
                this.log('info', `debug forwarding: ${notice.dropped} messages dropped, the editor was told`);
                this.drops = { rate: 0, bytes: 0, full: 0, write: 0 };
                this.sources = new Map();
                this.firstDropAt = null;
                this.lastDropAt = null;
            }
            if (this.writeFailing) this.log('info', 'debug forwarding: writing to the database again');
            this.writeFailing = false;
        } catch (err) {
            // The messages are lost, the count is not: the notice goes with a later write.
            if (messages > 0) this.drop('write', messages);
            if (!this.writeFailing) this.log('info', `debug forwarding: cannot write to the database (${err.message}); counting what is dropped`);
            this.writeFailing = true;
        }
    }

    // Stop taking; write what was taken (and a due notice) once more.
    async stop() {
        this.events.removeListener('comms', this.onComms);
        if (this.hooks) this.hooks.remove(HOOK);
        this.stopped = true;
        clearTimeout(this.timer);
        this.timer = null;
        await this.writing;
        await this.flush(true);
    }
}

module.exports = { DebugForwarder, ensureDebugCollection, debugCollection };

'use strict';
// A worker's debug output, on its way to the editor's debug sidebar. What a Node-RED instance shows in
// its own sidebar it publishes on its comms under the topic "debug": debug nodes' messages, and every
// warning and error a node logs (node.warn, node.error not handled by a catch node; the debug node's
// log handler publishes them). A worker has no editor to show them in, so this takes them from the
// runtime's "comms" event and writes them to the stack's database, the `debug` collection, which the
// editor follows (lib/debug_relay.js) and publishes into its own comms.
//
// Bounded at every step, and never in the flows' way: taking a message is a counter check and an array
// push on the flows' turn; the writes happen on a timer, one document per flush (a batch of messages,
// in order), one write at a time. The timer runs only while there is something to write or report: an
// idle worker never wakes for it.
//
// A document: {at, instance, role, messages: [{kind: "debug"|"dropped", data: <JSON text>, dropped?}]}.
// - Rate: `rate` messages per second with bursts of as many again (token bucket); a message over it,
//   or one the queue has no room for while the database is slow, is dropped and counted.
// - Drops are never silent: once no drop happened for `quietMs` (or every `noticeEveryMs` while they
//   go on) one notice saying how many goes to the editor's sidebar the same way.
// - Size: a message over `maxChars` once serialized is replaced by a note saying so.
// - Expiry: documents carry `at` and a TTL index removes them after TTL_SECONDS (they are for live
//   display only; the editor shows them as they arrive).
// Debug nodes set to the system console only publish nothing: their output stays in the worker's log.

const COLLECTION = 'debug';
const TTL_SECONDS = 60;
const DOC_CHARS = 4 * 1024 * 1024; // a batch larger than this is split over documents (BSON: 16 MiB)

// Create the TTL index (both roles do at start; it is idempotent).
async function ensureDebugCollection(db, log) {
    try {
        await db.collection(COLLECTION).createIndex({ at: 1 }, { expireAfterSeconds: TTL_SECONDS, name: 'at_ttl' });
    } catch (err) {
        log('warn', `debug forwarding: could not create the TTL index on ${COLLECTION} (${err.message})`);
    }
}

class TokenBucket {
    constructor(rate, burst, now = Date.now) {
        this.rate = rate;
        this.burst = burst;
        this.now = now;
        this.tokens = burst;
        this.at = now();
    }

    take() {
        const t = this.now();
        this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.rate) / 1000);
        this.at = t;
        if (this.tokens < 1) return false;
        this.tokens -= 1;
        return true;
    }
}

class DebugForwarder {
    // events: the runtime's event emitter (RED.events); database(): the Db or null while not connected.
    constructor({ events, database, instance, role, rate, log,
        flushMs = 250, quietMs = 1000, noticeEveryMs = 10000, maxChars = 64 * 1024, queueLimit = null }) {
        this.events = events;
        this.database = database;
        this.instance = instance;
        this.role = role;
        this.rate = rate;
        this.log = log;
        // Since start, for /metrics (read when scraped: counting costs the flows one increment).
        this.totals = { forwarded: 0, dropped: { rate: 0, full: 0, write: 0 } };
        this.flushMs = flushMs;
        this.quietMs = quietMs;
        this.noticeEveryMs = noticeEveryMs;
        this.maxChars = maxChars;
        this.bucket = new TokenBucket(rate, rate);
        this.queueLimit = queueLimit || Math.max(rate, 1) * 2; // about two seconds of writes behind
        this.queue = [];
        this.drops = { rate: 0, full: 0, write: 0 }; // since the last notice
        this.firstDropAt = null;
        this.lastDropAt = null;
        this.writing = null;
        this.writeFailing = false;
        this.indexed = false;
        this.timer = null;
        this.stopped = false;
        this.onComms = (ev) => this.take(ev);
    }

    start() {
        this.events.on('comms', this.onComms);
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

    // On the flows' turn: admit or count, nothing else.
    take(ev) {
        if (!ev || ev.topic !== 'debug') return;
        this.schedule();
        if (!this.bucket.take()) return this.drop('rate', 1);
        if (this.queue.length >= this.queueLimit) return this.drop('full', 1);
        this.queue.push({ at: new Date(), data: ev.data });
    }

    drop(reason, n) {
        const now = Date.now();
        if (this.firstDropAt === null) this.firstDropAt = now;
        this.lastDropAt = now;
        this.drops[reason] += n;
        this.totals.dropped[reason] += n;
    }

    get dropped() {
        return this.drops.rate + this.drops.full + this.drops.write;
    }

    noticeDue(now) {
        return this.dropped > 0 && (now - this.lastDropAt >= this.quietMs || now - this.firstDropAt >= this.noticeEveryMs);
    }

    notice(now) {
        const d = this.drops;
        const reasons = [
            d.rate ? `${d.rate} over the limit of ${this.rate} per second (NODE_RED_DEBUG_FORWARD_RATE)` : null,
            d.full ? `${d.full} while the database was slow` : null,
            d.write ? `${d.write} not written: database unreachable` : null,
        ].filter(Boolean).join(', ');
        const seconds = ((now - this.firstDropAt) / 1000).toFixed(1);
        const text = `${this.dropped} debug messages of ${this.instance} dropped in ${seconds} s: ${reasons}`;
        return {
            kind: 'dropped', dropped: this.dropped,
            data: JSON.stringify({ name: `${this.instance}: debug forwarding`, msg: text, format: `string[${text.length}]`, level: 30, dropped: this.dropped }),
        };
    }

    message(entry) {
        let data;
        try {
            data = JSON.stringify(entry.data);
        } catch {
            data = null;
        }
        if (data === null || data === undefined || data.length > this.maxChars) {
            const d = entry.data || {};
            const text = data ? `[debug message of ${Math.round(data.length / 1024)} KiB: over the ${Math.round(this.maxChars / 1024)} KiB a worker forwards]`
                : '[debug message that cannot be serialized]';
            data = JSON.stringify({ id: d.id, z: d.z, _alias: d._alias, path: d.path, name: d.name, topic: d.topic, msg: text, format: `string[${text.length}]` });
        }
        return { kind: 'debug', data };
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

    // On a timer: write what was taken, and the drop notice when due. One write at a time.
    flush() {
        if (this.writing) return this.writing;
        const db = this.database();
        if (!db) {
            this.schedule(); // not connected yet: the queue waits, bounded
            return null;
        }
        const now = Date.now();
        const batch = this.queue.splice(0);
        const messages = batch.map((e) => this.message(e));
        const notice = this.noticeDue(now) ? this.notice(now) : null;
        if (notice) messages.push(notice);
        if (messages.length === 0) {
            if (this.dropped > 0) this.schedule(); // the notice is not due yet
            return null;
        }
        this.writing = this.write(db, this.documents(messages, now), batch.length, notice).finally(() => {
            this.writing = null;
            if (this.queue.length > 0 || this.dropped > 0) this.schedule();
        });
        return this.writing;
    }

    async write(db, docs, messages, notice) {
        if (!this.indexed) {
            this.indexed = true;
            await ensureDebugCollection(db, this.log);
        }
        try {
            await db.collection(COLLECTION).insertMany(docs, { ordered: true });
            this.totals.forwarded += messages;
            if (notice) {
                this.log('info', `debug forwarding: ${notice.dropped} messages dropped, the editor was told`);
                this.drops = { rate: 0, full: 0, write: 0 };
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
        this.stopped = true;
        clearTimeout(this.timer);
        this.timer = null;
        await this.writing;
        this.lastDropAt = this.lastDropAt === null ? null : Date.now() - this.quietMs;
        await this.flush();
    }
}

module.exports = { DebugForwarder, TokenBucket, ensureDebugCollection, COLLECTION, TTL_SECONDS };

'use strict';
// The editor's side of debug forwarding (lib/debug_forwarder.js is the workers'): follows the `debug`
// collection with a change stream and publishes each message into the editor's own comms under the
// topic "debug", where the debug sidebar of every open editor shows it. Each message carries
// `instance` and `role`: the editor plugin (editor_plugin/) shows the instance on it and lets the
// sidebar filter by instance.
//
// The stream starts at "now" (older messages are not replayed when the editor starts) and resumes from
// its token after an error, so an interruption loses nothing the database still has. A message from a
// debug node the user switched off in the editor (its button; workers keep running it) is not shown.
const { debugCollection, ensureDebugCollection } = require('./debug_forwarder');
const { knownSize } = require('./comms_guard');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class DebugRelay {
    // events: the runtime's event emitter (RED.events); database(): the Db or null while not connected;
    // node(id): the editor's running node of that id, or null.
    constructor({ events, database, node, log, metrics = null }) {
        this.events = events;
        this.database = database;
        this.node = node;
        this.log = log;
        this.metrics = metrics;
        this.closed = false;
        this.stream = null;
        this.token = null;
    }

    start() {
        this.done = this.loop();
    }

    async loop() {
        let delay = 250;
        let opened = 0;
        while (!this.closed) {
            const db = this.database();
            if (!db) {
                await sleep(250);
                continue;
            }
            if (opened === 0) await ensureDebugCollection(db, this.log);
            let stream = null;
            try {
                // A message arrives at once whatever the wait is: it only sets how often an idle editor asks.
                const options = { maxAwaitTimeMS: 10000, ...(this.token ? { resumeAfter: this.token } : {}) };
                stream = debugCollection(db).watch([], options);
                this.stream = stream;
                let change = await stream.tryNext(); // opens the cursor: nothing is missed from here on
                this.token = stream.resumeToken || this.token;
                opened += 1;
                if (opened === 1) this.log('info', 'debug forwarding: showing the workers\' debug messages in this editor');
                delay = 250;
                while (!this.closed) {
                    if (change) this.publish(change);
                    change = await stream.tryNext();
                    this.token = stream.resumeToken || this.token;
                }
            } catch (err) {
                if (this.closed) break;
                if (/resume|token|history/i.test(err.message || '')) this.token = null;
                this.log('warn', `debug forwarding: change stream on debug failed (${err.message}); reopening in ${delay} ms`);
                await sleep(delay);
                delay = Math.min(delay * 2, 5000);
            } finally {
                if (stream) await stream.close().catch(() => {});
                this.stream = null;
            }
        }
    }

    // One document: a worker's batch of messages, in the order they were taken.
    publish(change) {
        const doc = change.operationType === 'insert' ? change.fullDocument : null;
        if (!doc || !Array.isArray(doc.messages)) return;
        for (const m of doc.messages) this.publishOne(m, doc);
    }

    publishOne(m, doc) {
        if (!m || typeof m.data !== 'string') return;
        let data;
        try {
            data = JSON.parse(m.data);
        } catch {
            return;
        }
        if (!data || typeof data !== 'object') return;
        if (m.kind === 'debug' && data.id) {
            const n = this.node(data.id);
            if (n && n.type === 'debug' && n.active === false) return;
        }
        data.instance = doc.instance;
        data.role = doc.role;
        knownSize(data, m.data.length + 64); // the editor's sessions need not measure it again
        this.events.emit('comms', { topic: 'debug', data, retain: false });
        if (this.metrics) this.metrics.debugRelayed(m.kind);
    }

    async stop() {
        this.closed = true;
        if (this.stream) await this.stream.close().catch(() => {});
        await this.done;
    }
}

module.exports = { DebugRelay };

'use strict';
// The editor's live view of the cluster for its Cluster sidebar: the status report (report.js) pushed
// into the editor's comms under TOPIC (retained: a browser that connects gets the last one at once), as
// it changes. Browsers never poll, and workers do nothing new: only the editor follows the status
// records, through a change stream on `instances`, and only while at least one editor session is
// connected (it stops STOP_AFTER_MS after the last one left).
//
// A record's periodic rewrite (every 10 s, only lastSeen new) is applied in memory; any other change
// (a state, a revision, an instance coming or going) makes one read of the records, the newest revision
// and the lease (changes close together coalesce). A tick re-applies the rules each second, so a worker
// that stops writing turns stale on time; a report is published when it differs in more than its
// timestamps, and every REPUBLISH_MS besides (the sidebar's "last seen").
const { performance } = require('perf_hooks');
const { collection, DEFAULTS } = require('../../common/database');
const { report } = require('./report');
const { same } = require('./diff');

const TOPIC = 'nodered-scale/cluster';
const STOP_AFTER_MS = 15000;
const REPUBLISH_MS = 10000;
const TICK_MS = 1000;
const COALESCE_MS = 50;
const HEARTBEAT_FIELDS = new Set(['lastSeen', 'lastSync']);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

// The report without what changes on every read (the time, ages, lastSeen): equal keys, nothing to tell.
function keyOf(body) {
    const { now, ...rest } = body; // eslint-disable-line no-unused-vars
    rest.instances = rest.instances.map(({ lastSeen, lastSeenAgeSeconds, ...i }) => i); // eslint-disable-line no-unused-vars
    return JSON.stringify(rest);
}

class ClusterFeed {
    // reads: ClusterReads; events: the runtime's event emitter (RED.events): comms sessions come and go
    // there, and what is emitted as 'comms' reaches every editor session.
    constructor({ reads, events, log, staleAfter = DEFAULTS.staleAfterSeconds, stopAfterMs = STOP_AFTER_MS }) {
        this.reads = reads;
        this.events = events;
        this.log = log;
        this.staleAfter = staleAfter;
        this.stopAfterMs = stopAfterMs;
        this.sessions = new Set();
        this.running = false;
        this.loopDone = null;
        this.stream = null;
        this.token = null;
        this.records = new Map();
        this.snap = null; // {newest, lease, now, at}: the last full read (at: performance.now() when read)
        this.lastKey = null;
        this.lastPublishAt = 0;
        this.refreshing = null;
        this.again = false;
        this.soon = null;
        this.stopTimer = null;
        this.published = 0;
        this.gen = 0; // a run's number: a loop of an earlier run ends even if a new run started meanwhile
        this.onAdded = (ev) => this.sessionAdded(ev && ev.session);
        this.onRemoved = (ev) => this.sessionRemoved(ev && ev.session);
    }

    start() {
        this.events.on('comms:connection-added', this.onAdded);
        this.events.on('comms:connection-removed', this.onRemoved);
    }

    sessionAdded(session) {
        this.sessions.add(session);
        clearTimeout(this.stopTimer);
        this.stopTimer = null;
        if (!this.running) this.run();
    }

    sessionRemoved(session) {
        this.sessions.delete(session);
        if (this.sessions.size > 0 || !this.running || this.stopTimer) return;
        this.stopTimer = setTimeout(() => {
            this.stopTimer = null;
            if (this.sessions.size === 0) this.halt();
        }, this.stopAfterMs);
        this.stopTimer.unref();
    }

    run() {
        this.running = true;
        const gen = ++this.gen;
        this.tick = setInterval(() => this.publishIfChanged(), TICK_MS);
        this.tick.unref();
        this.loopDone = this.loop(() => this.running && this.gen === gen);
    }

    async halt() {
        if (!this.running) return;
        this.running = false;
        clearInterval(this.tick);
        clearTimeout(this.soon);
        if (this.stream) await this.stream.close().catch(() => {});
        await this.loopDone;
        if (this.running) return; // a session came back meanwhile: the new run has it
        this.records.clear();
        this.snap = null;
        this.lastKey = null;
        // No stale report for the next session: the retained one goes.
        this.events.emit('comms', { topic: TOPIC, data: null, retain: false });
    }

    async loop(live) {
        let delay = 250;
        while (live()) {
            const db = this.reads.database();
            if (!db) {
                await sleep(250);
                continue;
            }
            let stream = null;
            try {
                const options = { maxAwaitTimeMS: 10000, ...(this.token ? { resumeAfter: this.token } : {}) };
                stream = collection(db, 'instances').watch([], options);
                this.stream = stream;
                let change = await stream.tryNext(); // opens the cursor: nothing is missed from here on
                this.token = stream.resumeToken || this.token;
                await this.refresh();
                delay = 250;
                while (live()) {
                    if (change) this.apply(change);
                    change = await stream.tryNext();
                    this.token = stream.resumeToken || this.token;
                }
            } catch (err) {
                if (!live()) break;
                if (/resume|token|history/i.test(err.message || '')) this.token = null;
                this.log('warn', `cluster view: change stream on instances failed (${err.message}); reopening in ${delay} ms`);
                await sleep(delay);
                delay = Math.min(delay * 2, 5000);
            } finally {
                if (stream) await stream.close().catch(() => {});
                if (this.stream === stream) this.stream = null;
            }
        }
    }

    apply(change) {
        const op = change.operationType;
        const id = change.documentKey ? change.documentKey._id : undefined;
        const rec = id === undefined ? undefined : this.records.get(String(id));
        if (op === 'update' && rec && change.updateDescription) {
            const set = change.updateDescription.updatedFields || {};
            const removed = change.updateDescription.removedFields || [];
            const names = Object.keys(set);
            const heartbeat = removed.length === 0 && names.every((k) => !k.includes('.') && (HEARTBEAT_FIELDS.has(k) || same(rec[k], set[k])));
            if (heartbeat) {
                Object.assign(rec, set);
                return;
            }
        }
        this.refreshSoon();
    }

    // One read of everything soon; calls meanwhile coalesce into it (or into one more after it).
    refreshSoon() {
        if (this.refreshing) {
            this.again = true;
            return;
        }
        if (this.soon) return;
        this.soon = setTimeout(() => {
            this.soon = null;
            this.refresh().catch((err) => this.log('warn', `cluster view: cannot read the status records (${err.message})`));
        }, COALESCE_MS);
        this.soon.unref();
    }

    async refresh() {
        this.refreshing = (async () => {
            const at = performance.now();
            const { records, newest, lease, now } = await this.reads.snapshot();
            this.records = new Map(records.map((r) => [String(r._id), r]));
            this.snap = { newest, lease, now, at };
        })();
        try {
            await this.refreshing;
        } finally {
            this.refreshing = null;
        }
        this.publishIfChanged();
        if (this.again) {
            this.again = false;
            this.refreshSoon();
        }
    }

    // The report as of now (the database's clock at the last read, plus the time since).
    current() {
        if (!this.snap) return null;
        const now = new Date(this.snap.now.getTime() + (performance.now() - this.snap.at));
        const { newest, lease } = this.snap;
        return report({ records: [...this.records.values()], newest, lease, now, staleAfter: this.staleAfter });
    }

    publishIfChanged() {
        const body = this.current();
        if (!body || !this.running) return;
        const key = keyOf(body);
        if (key === this.lastKey && Date.now() - this.lastPublishAt < REPUBLISH_MS) return;
        this.lastKey = key;
        this.lastPublishAt = Date.now();
        this.published += 1;
        this.events.emit('comms', { topic: TOPIC, data: body, retain: true });
    }

    async stop() {
        this.events.removeListener('comms:connection-added', this.onAdded);
        this.events.removeListener('comms:connection-removed', this.onRemoved);
        clearTimeout(this.stopTimer);
        await this.halt();
    }
}

module.exports = { ClusterFeed, TOPIC };

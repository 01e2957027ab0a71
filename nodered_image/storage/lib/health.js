'use strict';
// Health of this instance: its state, the revision whose flows it serves, the newest revision it
// knows, the last revision that failed here and why, and whether MongoDB answers. /healthz reports
// it (info) and the status record in `instances` (status.js) carries it to the status command.
//
// Ready (/healthz 200) = serving the newest revision that can start: flows are running, their
// credentials decrypt, and no newer revision is waiting to be loaded. A newer revision that failed
// (malformed, or its flows could not start here) does not make an instance unready: it keeps serving
// the newest one that started, and says so ("serving revision 5, revision 6 failed: ...").
const { StatusRecorder } = require('./status');
const { DbProbe } = require('./db_probe');

const STATES = ['starting', 'waiting-for-db', 'loading', 'running', 'reloading', 'error'];

class Health {
    // events: the storage's events (events.js: 'serving' when that changes); seenRev(): the highest
    // revision number this instance has seen; pending(): whether a reload is due (the reloader's).
    constructor({ log, events, seenRev, pending }) {
        this.log = log;
        this.events = events;
        this.seenRev = seenRev;
        this.pending = pending;
        this.state = 'starting';
        this.runningRev = null; // revision whose flows are started (null: none)
        this.runningKey = null;
        this.lastStartedRev = null; // the last revision whose flows started (also when none run now)
        this.serving = null; // those flows run and may take requests (null: not said yet)
        this.latestRev = null; // newest numbered revision known to exist (it may have failed)
        this.headKey = null;
        this.failure = null; // {rev, key, reason, servedKey}: the last revision that failed, until a newer one runs
        this.restart = null; // {rev, count, at}: the last "restart flows" this instance carried out
        this.startedOnce = false; // Node-RED has started flows since the process started
        this.credentialsFailed = false; // Node-RED could not decrypt the credentials just loaded
        this.serverUp = null; // MongoDB address -> reachable, per replica set member
        this.probe = null; // pings MongoDB: a hung server (db_probe.js)
        this.recorder = null;
        this.leader = false; // holds the leader lease (leader_lease.js)
        this.lastSync = null; // a worker's last reload, in parts (timing.js)
        this.refused = null; // why this instance refuses to serve (its credential key: credential_key.js), or null
        this.credentialKey = null; // its credential key's fingerprint as status records show it (credential_key.js)
    }

    // Refuses to serve for `reason` (null: no longer): state error, not ready, the reason in the message.
    refuse(reason) {
        this.refused = reason;
        if (reason) {
            this.set('error');
            this.setServing(false, reason);
        } else {
            this.set('starting');
        }
        this.changed();
    }

    // What /healthz reports before the storage's init: nothing started, nothing known.
    static beforeInit() {
        return new Health({ log: null, events: null, seenRev: () => null, pending: () => false }).info(null);
    }

    // Node-RED has started flows since the process started.
    hasStarted() {
        return this.startedOnce;
    }

    // Node-RED has tried to start flows: they started, or could not.
    startAttempted() {
        return this.startedOnce || this.state === 'error';
    }

    // The revision whose flows are started (null: none).
    runningRevision() {
        return this.runningRev;
    }

    // Whether the credentials just handed to Node-RED could not be decrypted (its runtime event says so).
    setCredentialsFailed(failed) {
        this.credentialsFailed = failed;
    }

    // "Restart flows" carried out here, on revision `rev` (its restarts count).
    restarted(rev, count) {
        this.restart = { rev, count, at: new Date() };
    }

    // How the last reload of a worker went, in parts (timing.js): in the status record.
    noteSync(timing) {
        this.lastSync = timing;
    }

    setLeader(leader) {
        this.leader = leader;
        this.changed(50);
    }

    set(state) {
        if (!STATES.includes(state)) throw new Error(`unknown state ${state}`);
        if (this.state === state) return;
        this.state = state;
        this.changed();
    }

    // Writes the status record soon (changes close together make one write).
    changed(delayMs) {
        if (this.recorder) this.recorder.changed(delayMs);
    }

    // The newest numbered revision in the database ({rev, key}), as last seen. It may go down: a
    // restore or a deleted document. Failures of numbers above it are gone with their documents.
    noteHead(head) {
        if (!head) return;
        if (this.latestRev !== head.rev || this.headKey !== head.key) this.changed();
        this.latestRev = head.rev;
        this.headKey = head.key;
        if (this.failure && typeof this.failure.rev === 'number' && this.failure.rev > head.rev) this.failure = null;
    }

    noteFailure({ key, rev, reason }) {
        this.failure = { rev, key, reason, servedKey: this.runningKey };
        this.changed();
    }

    setServing(serving, reason) {
        if (this.serving === serving) return;
        this.serving = serving;
        this.events.serving(serving, reason);
    }

    // Node-RED started the flows of `rev`; returns the revision whose flows started last before.
    flowsStarted(rev, key, role) {
        const previous = this.lastStartedRev;
        this.lastStartedRev = rev;
        this.runningRev = rev;
        this.runningKey = key;
        this.startedOnce = true;
        // The newest revision runs: an older failure is history.
        if (this.failure && key === this.headKey && key !== this.failure.servedKey) this.failure = null;
        if (this.credentialsFailed && role === 'worker') {
            // Running, but every node with credentials is broken: a worker does not serve like that.
            this.log.error(`credentials of revision ${rev} could not be decrypted: NODE_RED_CREDENTIAL_SECRET ` +
                "must be the editor's; not serving until a revision whose credentials decrypt");
            this.set('error');
            this.setServing(false, 'credentials do not decrypt');
        } else {
            this.set('running');
            this.setServing(true, null);
        }
        // The settled state is recorded promptly (status readers compare revisions across instances),
        // just after the other workers' reloads rather than in the middle of them.
        this.changed(50);
        return previous;
    }

    // Node-RED stopped the running flows and could not start the new ones.
    startFailed(fallbackComing) {
        this.runningRev = null;
        this.runningKey = null;
        this.set(fallbackComing ? 'reloading' : 'error');
        if (!fallbackComing) this.setServing(false, this.failure ? this.failure.reason : 'flows could not start');
    }

    // One log line when the connection to MongoDB is lost and one when it is back (driver monitoring),
    // and a ping that notices a server that stops answering on open connections (db_probe.js).
    watch(client, database) {
        this.probe = new DbProbe({ ping: () => client.db(database).command({ ping: 1 }), log: this.log });
        this.probe.start();
        this.serverUp = new Map();
        client.on('serverDescriptionChanged', (ev) => {
            const up = ev.newDescription.type !== 'Unknown';
            const was = this.serverUp.has(ev.address) ? this.serverUp.get(ev.address) : true;
            this.serverUp.set(ev.address, up);
            if (up === was) return;
            if (up) this.log.info(`MongoDB reachable again at ${ev.address}`);
            else this.log.warn(`lost connection to MongoDB at ${ev.address} (${ev.newDescription.error ? ev.newDescription.error.message : 'no answer'}); flows keep running`);
        });
    }

    unwatch() {
        if (this.probe) this.probe.stop();
    }

    // Informational (/healthz, metrics): readiness does not depend on it, flows keep running without it.
    get dbReachable() {
        const monitored = Boolean(this.serverUp) && (this.serverUp.size === 0 || [...this.serverUp.values()].some(Boolean));
        return monitored && this.probe.answering;
    }

    get ready() {
        return this.state === 'running' && this.serving === true && this.runningRev !== null && !this.pending();
    }

    // One line for people: what this instance serves, and what failed.
    message() {
        if (this.refused) return `refusing to serve: ${this.refused}`;
        const f = this.failure ? `revision ${this.failure.rev} failed: ${this.failure.reason}` : null;
        if (this.credentialsFailed && this.state === 'error' && this.runningRev !== null) {
            return `not serving: the credentials of revision ${this.runningRev} do not decrypt with this instance's ` +
                "NODE_RED_CREDENTIAL_SECRET (it must be the editor's)";
        }
        if (this.serving && this.runningRev !== null) {
            const serving = `serving revision ${this.runningRev}`;
            return f ? `${serving}, ${f}` : serving;
        }
        if (f) return `not serving: ${f}`;
        if (this.state === 'waiting-for-db') return 'not serving yet: waiting for MongoDB';
        return `not serving yet: ${this.state}`;
    }

    snapshot() {
        const f = this.failure;
        return {
            state: this.state, rev: this.runningRev, latestRev: this.latestRev, ready: this.ready,
            failedRev: f ? f.rev : null, failure: f ? f.reason : null, message: this.message(), restart: this.restart,
            seenRev: this.seenRev(), leader: this.leader, lastSync: this.lastSync, credentialKey: this.credentialKey,
        };
    }

    startRecording(coll, opts) {
        if (this.recorder) return; // already (a refusal to serve starts it early)
        this.recorder = new StatusRecorder({ coll, opts, log: this.log, snapshot: () => this.snapshot() });
        this.recorder.start();
    }

    // Graceful stop: the status record goes now instead of expiring later.
    async stopRecording() {
        if (this.recorder) await this.recorder.remove();
    }

    // What /healthz reports.
    info(opts) {
        const o = opts || {};
        const s = this.snapshot();
        return {
            role: o.role || null, instance: o.instanceId || null, rev: s.rev, latestRev: s.latestRev,
            state: s.state, ready: s.ready, dbReachable: this.dbReachable, leader: this.leader,
            failed: s.failedRev === null ? null : { rev: s.failedRev, reason: s.failure }, message: s.message,
        };
    }
}

module.exports = { Health, STATES };

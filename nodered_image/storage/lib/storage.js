'use strict';
// Node-RED storage module on MongoDB / DocumentDB.
//
// Collections in the configured database:
//   flows     {_id: rev, rev, flows, credentials, savedAt, savedBy} one document per deploy (an
//             atomic insert of flows and credentials together); newest = highest _id; last K kept
//   instances {_id: instanceId, role, host, port, pid, rev, latestRev, state, startedAt, lastSeen}
//   settings  {_id: "settings", settings, savedAt}   sessions {_id: "sessions", sessions, savedAt}
//   library   {_id: "<type>:<path>", type, path, meta, body, savedAt}
//
// Roles: the editor writes. A worker writes only its status record: saving flows, credentials or
// library entries is refused (logged, nothing written); settings and sessions it is handed stay in
// its memory (Node-RED saves settings itself at startup). Workers follow new revisions and reload
// through the runtime (runtime.nodes.loadFlows), one reload at a time, always to the newest.
const crypto = require('crypto');
const { readOptions } = require('./options');
const { connectWithBackoff, redact, sleep } = require('./connect');
const { encodeKeys, decodeKeys, encodeCredentials, decodeCredentials } = require('./codec');
const { Library } = require('./library');
const { StatusRecorder } = require('./status');
const { RevisionFollower } = require('./follower');

const STATES = ['starting', 'waiting-for-db', 'loading', 'running', 'reloading', 'error'];

// Node-RED's own revision of a flow set (runtime/lib/storage): lets us map what it started to our rev.
const flowsHash = (flows) => crypto.createHash('sha256').update(JSON.stringify(flows)).digest('hex');

function consoleLog(prefix) {
    const line = (level, msg) => console.log(`${new Date().toISOString()} - [${level}] ${prefix}${msg}`);
    return { info: (m) => line('info', m), warn: (m) => line('warn', m), error: (m) => line('error', m), debug: () => {} };
}

function runtimeLog(runtime, prefix) {
    const l = runtime && runtime.log;
    if (!l || typeof l.info !== 'function') return consoleLog(prefix);
    return {
        info: (m) => l.info(prefix + m), warn: (m) => l.warn(prefix + m),
        error: (m) => l.error(prefix + m), debug: (m) => l.debug(prefix + m),
    };
}

class RefusedError extends Error {
    constructor(what) {
        super(`refused to save ${what}: this instance is a worker; only the editor saves (nothing was written)`);
        this.code = 'forbidden';
    }
}

class MongoStorage {
    constructor() {
        this.opts = null;
        this.state = 'starting';
        this.runningRev = null; // revision whose flows are started
        this.latestRev = null; // newest revision known to exist
        this.loaded = null; // {rev, flows, credentials} handed to Node-RED by the last getFlows/saveFlows
        this.stagedCredentials = undefined;
        this.hashToRev = new Map();
        this.seenAt = new Map(); // rev -> when a worker first learnt of it (for the reload log line)
        this.localSettings = null;
        this.prefetched = null; // newest revision document from the change stream, not yet loaded
        this.localSessions = null;
        this.closed = false;
        this.flowsStartedOnce = false;
        this.credentialsFailed = false;
        this.reloading = null;
        this.failedRev = null;
        this.startWaiters = [];
        this.swapping = null; // promise while flows are being swapped (from getFlows to flows:started)
        this.log = consoleLog('[storage] ');
    }

    // ---- lifecycle -------------------------------------------------------------------------------

    async init(settings, runtime) {
        this.runtime = runtime;
        this.log = runtimeLog(runtime, '[storage] ');
        this.opts = readOptions(settings);
        const o = this.opts;
        this.log.info(`role ${o.role}, instance ${o.instanceId}, MongoDB ${redact(o.mongoUrl)} database ${o.database}, ` +
      `keeping ${o.revisionsKept} revisions${o.role === 'worker' ? `, revision check every ${o.syncCheckSeconds} s` : ''}`);
        this.setState('waiting-for-db');
        this.client = await connectWithBackoff(o, this.log, () => this.closed);
        this.watchConnection();
        const db = this.client.db(o.database);
        this.db = db;
        this.flows = db.collection('flows');
        this.instances = db.collection('instances');
        this.settingsColl = db.collection('settings');
        this.sessionsColl = db.collection('sessions');
        this.library = new Library(db.collection('library'));
        await this.ensureIndexes();
        if (o.role === 'editor' && o.enableChangeStreams) await this.enableChangeStreams();

        if (runtime && runtime.events) {
            runtime.events.on('flows:started', (ev) => this.onFlowsStarted(ev));
            runtime.events.on('runtime-event', (ev) => {
                if (ev && ev.id === 'runtime-state' && ev.payload && ev.payload.error === 'missing-types') this.onStartFailed('missing node types');
                if (ev && ev.id === 'runtime-state' && ev.payload && ev.payload.error === 'credentials_load_failed') this.credentialsFailed = true;
            });
        }
        this.status = new StatusRecorder({ coll: this.instances, opts: o, log: this.log, snapshot: () => this.snapshot() });
        this.setState('loading');
        this.status.start();
        if (o.role === 'worker') {
            this.follower = new RevisionFollower({
                coll: this.flows, log: this.log, checkSeconds: o.syncCheckSeconds,
                onRevision: (rev, reason, doc) => this.onRevision(rev, reason, doc),
            });
            this.follower.start();
        }
    }

    // One log line when the connection to MongoDB is lost and one when it is back (driver monitoring).
    watchConnection() {
        this.serverUp = new Map(); // address -> reachable, per replica set member
        this.client.on('serverDescriptionChanged', (ev) => {
            const up = ev.newDescription.type !== 'Unknown';
            const was = this.serverUp.has(ev.address) ? this.serverUp.get(ev.address) : true;
            this.serverUp.set(ev.address, up);
            if (up === was) return;
            if (up) this.log.info(`MongoDB reachable again at ${ev.address}`);
            else this.log.warn(`lost connection to MongoDB at ${ev.address} (${ev.newDescription.error ? ev.newDescription.error.message : 'no answer'}); flows keep running`);
        });
    }

    get dbReachable() {
        return Boolean(this.serverUp) && (this.serverUp.size === 0 || [...this.serverUp.values()].some(Boolean));
    }

    async ensureIndexes() {
        try {
            await this.instances.createIndex({ lastSeen: 1 }, { expireAfterSeconds: this.opts.statusTtlSeconds, name: 'lastSeen_ttl' });
            if (this.opts.role === 'editor') await this.db.collection('library').createIndex({ type: 1, path: 1 }, { name: 'type_path' });
        } catch (err) {
            this.log.warn(`could not create indexes (${err.message}); continuing`);
        }
    }

    // DocumentDB needs change streams enabled per collection before workers can watch it.
    async enableChangeStreams() {
        try {
            await this.client.db('admin').command({ modifyChangeStreams: 1, database: this.opts.database, collection: 'flows', enable: true });
            this.log.info(`change streams enabled on ${this.opts.database}.flows`);
        } catch (err) {
            this.log.warn(`modifyChangeStreams on ${this.opts.database}.flows failed (${err.message})`);
        }
    }

    async close() {
        if (this.closed) return;
        this.closed = true;
        if (this.follower) await this.follower.close();
        if (this.status) await this.status.remove();
        if (this.client) await this.client.close().catch(() => {});
    }

    setState(state) {
        if (!STATES.includes(state)) throw new Error(`unknown state ${state}`);
        if (this.state === state) return;
        this.state = state;
        if (this.status) this.status.changed();
    }

    snapshot() {
        return { state: this.state, rev: this.runningRev, latestRev: this.latestRev };
    }

    // What /healthz reports: ready when the flows of the newest known revision are started.
    statusInfo() {
        const o = this.opts || {};
        const ready = this.state === 'running' && this.runningRev !== null && this.runningRev >= (this.latestRev || 0);
        return {
            role: o.role || null, instance: o.instanceId || null, rev: this.runningRev, latestRev: this.latestRev,
            state: this.state, ready, dbReachable: this.dbReachable,
        };
    }

    revisionForHash(hash) {
        return this.hashToRev.has(hash) ? this.hashToRev.get(hash) : null;
    }

    // Resolves once a flow swap (reload or deploy) in progress has started the new flows (or timeout).
    whenSwapped(timeoutMs) {
        if (!this.swapping) return Promise.resolve();
        let timer;
        const timeout = new Promise((resolve) => { timer = setTimeout(resolve, timeoutMs); });
        return Promise.race([this.swapping, timeout]).finally(() => clearTimeout(timer));
    }

    // A flow swap is about to stop the running flows: hold new HTTP requests (the launcher's gate
    // awaits whenSwapped) and let requests already inside the flows finish (the launcher's drain), so
    // no request is cut off by a deploy or a reload.
    async beginSwap() {
    // Requests released by the previous swap get in first (they are then drained, not cut off).
        if (!this.swapping) await new Promise((resolve) => setImmediate(resolve));
        if (!this.swapping) {
            this.swapping = new Promise((resolve) => { this.endSwap = resolve; });
            // Should Node-RED never report the new flows started, stop holding requests all the same.
            this.swapTimer = setTimeout(() => {
                this.log.warn('new flows not reported started in time: no longer holding HTTP requests');
                this.finishSwap();
            }, this.opts.reloadTimeoutSeconds * 1000);
            this.swapTimer.unref();
        }
        if (this.drain) await this.drain(this.opts.drainTimeoutMs);
    }

    setDrain(fn) {
        this.drain = fn;
    }

    finishSwap() {
        if (!this.swapping) return;
        clearTimeout(this.swapTimer);
        this.swapping = null;
        this.endSwap();
    }

    noteLatest(rev) {
        if (this.latestRev === null || rev > this.latestRev) this.latestRev = rev;
    }

    remember(doc) {
        this.loaded = doc;
        this.hashToRev.set(flowsHash(doc.flows), doc.rev);
        if (this.hashToRev.size > 100) this.hashToRev.delete(this.hashToRev.keys().next().value);
        this.noteLatest(doc.rev);
    }

    onFlowsStarted(ev) {
        const hash = ev && ev.config && ev.config.rev;
        const rev = this.revisionForHash(hash) ?? (this.loaded ? this.loaded.rev : null);
        const previous = this.runningRev;
        this.runningRev = rev;
        this.flowsStartedOnce = true;
        if (this.credentialsFailed && this.opts.role === 'worker') {
            // Running, but every node with credentials is broken: a worker is not ready like that.
            this.log.error(`credentials of revision ${rev} could not be decrypted: NODE_RED_CREDENTIAL_SECRET ` +
        "must be the editor's; not ready until a revision whose credentials decrypt");
            this.setState('error');
        } else {
            this.setState('running');
        }
        // The settled state is recorded promptly (status readers compare revisions across instances),
        // just after the other workers' reloads rather than in the middle of them.
        if (this.status) this.status.changed(50);
        this.finishSwap();
        const seen = this.seenAt.get(rev);
        const took = seen ? `, ${Date.now() - seen} ms after it was seen` : '';
        this.seenAt.clear();
        this.log.info(previous === rev ? `flows of revision ${rev} started` : `running flows revision ${rev}${previous !== null ? ` (was ${previous}${took})` : ''}`);
        const waiters = this.startWaiters;
        this.startWaiters = [];
        waiters.forEach((w) => w.resolve(rev));
        this.scheduleReload();
    }

    onStartFailed(reason) {
        this.log.error(`flows of revision ${this.loaded ? this.loaded.rev : '?'} could not start: ${reason}`);
        this.setState('error');
        if (!this.reloading && this.loaded) this.failedRev = this.loaded.rev;
        this.finishSwap();
        const waiters = this.startWaiters;
        this.startWaiters = [];
        waiters.forEach((w) => w.reject(new Error(reason)));
    }

    // ---- sync (workers) --------------------------------------------------------------------------

    onRevision(rev, reason, doc) {
        const behind = this.runningRev === null || rev > this.runningRev;
        if (doc && rev >= (this.latestRev ?? -1)) this.prefetched = doc;
        if (rev > (this.latestRev ?? -1) && behind) {
            this.seenAt.set(rev, Date.now());
            this.log.info(`new flows revision ${rev} (seen by ${reason})`);
        }
        this.noteLatest(rev);
        if (behind && this.status) this.status.changed();
        this.scheduleReload();
    }

    scheduleReload() {
    // Before the first start Node-RED itself is loading the flows; if that start failed (state
    // error), a newer revision is loaded all the same.
        const startAttempted = this.flowsStartedOnce || this.state === 'error';
        if (this.closed || this.opts.role !== 'worker' || !startAttempted || this.reloading) return;
        if (!this.needsReload()) return;
        this.reloading = this.reloadLoop().finally(() => {
            this.reloading = null;
            this.scheduleReload(); // a revision that arrived while a failed reload ended
        });
    }

    needsReload() {
        return this.latestRev !== null && this.latestRev > (this.runningRev ?? -1) && this.latestRev !== this.failedRev;
    }

    async reloadLoop() {
        while (!this.closed && this.needsReload()) {
            const target = this.latestRev;
            this.setState('reloading');
            this.log.debug(`reloading flows: running revision ${this.runningRev}, newest ${target}`);
            const started = new Promise((resolve, reject) => this.startWaiters.push({ resolve, reject }));
            started.catch(() => {});
            try {
                await this.runtime.nodes.loadFlows(true);
                let timer;
                const timeout = new Promise((resolve, reject) => {
                    timer = setTimeout(() => reject(new Error('flows did not start in time')), this.opts.reloadTimeoutSeconds * 1000);
                });
                try {
                    await Promise.race([started, timeout]);
                } finally {
                    clearTimeout(timer);
                }
                this.failedRev = null;
            } catch (err) {
                this.startWaiters = [];
                this.finishSwap();
                this.failedRev = this.loaded ? this.loaded.rev : target;
                this.log.error(`reload to revision ${this.failedRev} failed: ${err.message}; waiting for a newer revision`);
                this.setState('error');
                return;
            }
        }
    }

    // ---- flows and credentials -------------------------------------------------------------------

    async readNewest(projection) {
        return this.flows.findOne({}, { sort: { _id: -1 }, ...(projection ? { projection } : {}) });
    }

    // The newest revision, retrying while MongoDB is unreachable: never an empty flow set by accident.
    async readNewestWithRetry() {
        let delay = 250;
        for (let attempt = 1; ; attempt++) {
            try {
                return await this.readNewest();
            } catch (err) {
                if (this.closed) throw err;
                this.log.warn(`reading flows failed (attempt ${attempt}: ${err.message}); retrying in ${delay} ms`);
                await sleep(delay);
                delay = Math.min(delay * 2, 5000);
            }
        }
    }

    async getFlows() {
    // The newest known revision as delivered by the change stream, else read from the database.
        const pre = this.prefetched;
        this.prefetched = null;
        const doc = pre && pre._id === this.latestRev ? pre : await this.readNewestWithRetry();
        this.credentialsFailed = false; // set again by Node-RED's event if these fail to decrypt
        const loaded = doc
            ? { rev: doc._id, flows: decodeKeys(doc.flows || []), credentials: doc.credentials || null }
            : { rev: 0, flows: [], credentials: null };
        this.remember(loaded);
        if (this.flowsStartedOnce) await this.beginSwap();
        this.log.info(doc ? `loaded flows revision ${loaded.rev} (${loaded.flows.length} nodes)` : 'no flows saved yet: starting with an empty flow set');
        return loaded.flows;
    }

    // Always the credentials of the revision the last getFlows returned.
    async getCredentials() {
        if (!this.loaded) await this.getFlows();
        return decodeCredentials(this.loaded.credentials);
    }

    async saveCredentials(credentials) {
        if (this.opts.role !== 'editor') {
            const err = new RefusedError('credentials');
            this.log.warn(err.message);
            throw err;
        }
        // Written together with the flows by the saveFlows call that follows (one insert per deploy).
        this.stagedCredentials = credentials;
    }

    async saveFlows(flows, user) {
        if (this.opts.role !== 'editor') {
            this.stagedCredentials = undefined;
            const err = new RefusedError('flows');
            this.log.warn(err.message);
            throw err;
        }
        const savedBy = user && user.username ? user.username : null;
        for (let attempt = 1; ; attempt++) {
            const prev = await this.readNewest({ _id: 1, credentials: 1 });
            const rev = (prev ? prev._id : 0) + 1;
            const credentials = this.stagedCredentials !== undefined ? encodeCredentials(this.stagedCredentials)
                : (prev ? prev.credentials || null : null);
            try {
                await this.flows.insertOne({ _id: rev, rev, flows: encodeKeys(flows), credentials, savedAt: new Date(), savedBy });
            } catch (err) {
                if (err.code === 11000 && attempt < 5) continue; // another writer took this revision number
                throw err;
            }
            const credNote = this.stagedCredentials !== undefined ? ', credentials updated' : '';
            this.stagedCredentials = undefined;
            this.remember({ rev, flows, credentials });
            await this.beginSwap();
            this.log.info(`saved flows as revision ${rev} (${flows.length} nodes${credNote}${savedBy ? `, by ${savedBy}` : ''})`);
            this.prune(rev);
            return rev;
        }
    }

    async prune(rev) {
        try {
            await this.flows.deleteMany({ _id: { $lte: rev - this.opts.revisionsKept } });
        } catch (err) {
            this.log.warn(`could not prune old revisions (${err.message})`);
        }
    }

    // ---- settings, sessions, library -------------------------------------------------------------

    async getSettings() {
        if (this.opts.role === 'worker' && this.localSettings) return this.localSettings;
        const doc = await this.settingsColl.findOne({ _id: 'settings' });
        return doc && doc.settings ? decodeKeys(doc.settings) : {};
    }

    async saveSettings(settings) {
        if (this.opts.role === 'worker') {
            this.localSettings = settings;
            return;
        }
        await this.settingsColl.replaceOne({ _id: 'settings' }, { settings: encodeKeys(settings), savedAt: new Date() }, { upsert: true });
    }

    async getSessions() {
        if (this.opts.role === 'worker') return this.localSessions || {};
        const doc = await this.sessionsColl.findOne({ _id: 'sessions' });
        return doc && doc.sessions ? decodeKeys(doc.sessions) : {};
    }

    async saveSessions(sessions) {
        if (this.opts.role === 'worker') {
            this.localSessions = sessions;
            return;
        }
        await this.sessionsColl.replaceOne({ _id: 'sessions' }, { sessions: encodeKeys(sessions), savedAt: new Date() }, { upsert: true });
    }

    async getLibraryEntry(type, path) {
        return this.library.get(type, path);
    }

    async saveLibraryEntry(type, path, meta, body) {
        if (this.opts.role !== 'editor') {
            const err = new RefusedError('library entries');
            this.log.warn(err.message);
            throw err;
        }
        await this.library.save(type, path, meta, body);
    }
}

module.exports = { MongoStorage, RefusedError, flowsHash, STATES };

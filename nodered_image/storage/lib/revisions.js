'use strict';
// Revisions of the flows and their credentials in the `flows` collection: one document per deploy,
// {_id: rev, rev, flows, credentials, savedAt, savedBy}, written by one insert so a reader never sees
// flows without their credentials; the newest is the highest _id; the last revisionsKept are kept.
const crypto = require('crypto');
const { sleep } = require('./connect');
const { encodeKeys, decodeKeys, encodeCredentials, decodeCredentials } = require('./codec');

// Node-RED's own revision of a flow set (runtime/lib/storage): maps what it started to our revision.
const flowsHash = (flows) => crypto.createHash('sha256').update(JSON.stringify(flows)).digest('hex');

class Revisions {
    constructor({ coll, opts, log, isClosed }) {
        this.coll = coll;
        this.opts = opts;
        this.log = log;
        this.isClosed = isClosed;
        this.loaded = null; // {rev, flows, credentials} last handed to Node-RED (getFlows or saveFlows)
        this.prefetched = null; // newest revision document from the change stream, not yet loaded
        this.staged = undefined; // credentials Node-RED saves just before the flows they belong to
        this.hashToRev = new Map();
    }

    get loadedRev() {
        return this.loaded ? this.loaded.rev : null;
    }

    // When the revision last handed to Node-RED was saved (a Date, or null).
    get loadedSavedAt() {
        return this.loaded ? this.loaded.savedAt || null : null;
    }

    revisionForHash(hash) {
        return this.hashToRev.has(hash) ? this.hashToRev.get(hash) : null;
    }

    // A revision document the change stream delivered: the next load need not read it again.
    offer(doc) {
        this.prefetched = doc;
    }

    // The revision `latestRev` as prefetched, else the newest in the database; {rev: 0, flows: []}
    // when nothing was ever saved. Returns [revision, whether one was saved].
    async load(latestRev) {
        const pre = this.prefetched;
        this.prefetched = null;
        const doc = pre && pre._id === latestRev ? pre : await this.newestWithRetry();
        const loaded = doc
            ? { rev: doc._id, flows: decodeKeys(doc.flows || []), credentials: doc.credentials || null, savedAt: doc.savedAt || null }
            : { rev: 0, flows: [], credentials: null, savedAt: null };
        this.remember(loaded);
        return [loaded, Boolean(doc)];
    }

    // Always the credentials of the revision last handed to Node-RED.
    credentials() {
        return decodeCredentials(this.loaded.credentials);
    }

    stageCredentials(credentials) {
        this.staged = credentials;
    }

    dropStaged() {
        this.staged = undefined;
    }

    // One insert of the flows with the staged credentials (else the previous revision's); the next
    // revision number, taken again if another writer got it first. Returns {rev, credentialsUpdated}.
    async insert(flows, savedBy) {
        for (let attempt = 1; ; attempt++) {
            const prev = await this.newest({ _id: 1, credentials: 1 });
            const rev = (prev ? prev._id : 0) + 1;
            const credentials = this.staged !== undefined ? encodeCredentials(this.staged) : (prev ? prev.credentials || null : null);
            const savedAt = new Date();
            try {
                await this.coll.insertOne({ _id: rev, rev, flows: encodeKeys(flows), credentials, savedAt, savedBy });
            } catch (err) {
                if (err.code === 11000 && attempt < 5) continue; // another writer took this revision number
                throw err;
            }
            const credentialsUpdated = this.staged !== undefined;
            this.staged = undefined;
            this.remember({ rev, flows, credentials, savedAt });
            return { rev, credentialsUpdated };
        }
    }

    async prune(rev) {
        try {
            await this.coll.deleteMany({ _id: { $lte: rev - this.opts.revisionsKept } });
        } catch (err) {
            this.log.warn(`could not prune old revisions (${err.message})`);
        }
    }

    remember(doc) {
        this.loaded = doc;
        this.hashToRev.set(flowsHash(doc.flows), doc.rev);
        if (this.hashToRev.size > 100) this.hashToRev.delete(this.hashToRev.keys().next().value);
    }

    async newest(projection) {
        return this.coll.findOne({}, { sort: { _id: -1 }, ...(projection ? { projection } : {}) });
    }

    // Retries while MongoDB is unreachable: Node-RED never gets an empty flow set by accident.
    async newestWithRetry() {
        let delay = 250;
        for (let attempt = 1; ; attempt++) {
            try {
                return await this.newest();
            } catch (err) {
                if (this.isClosed()) throw err;
                this.log.warn(`reading flows failed (attempt ${attempt}: ${err.message}); retrying in ${delay} ms`);
                await sleep(delay);
                delay = Math.min(delay * 2, 5000);
            }
        }
    }
}

module.exports = { Revisions, flowsHash };

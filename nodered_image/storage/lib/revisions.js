'use strict';
// Revisions of the flows and their credentials in the `flows` collection: one document per deploy
// (revision_doc.js says what it holds), written by one insert so a reader never sees flows without
// their credentials, numbered by numbering.js so a number is never given twice.
//
// What an instance loads is "the newest revision that can start": the highest numbered document
// that is well formed and has not failed to start here. A malformed document (no flows, flows not
// an array, credentials in no stored form, an _id that is no revision number) fails on read: it is
// reported and skipped, never loaded as an empty or partial flow set. The newest K numbered
// revisions are kept for history and rollback.
const crypto = require('crypto');
const { sleep } = require('./connect');
const { encodeCredentials, decodeCredentials } = require('./codec');
const { revisionKey, documentProblem, readFlows, newestRevisions, HEAD_FIELDS } = require('./revision_doc');
const { nextRevision, Numbering } = require('./numbering');

// Node-RED's own revision of a flow set (runtime/lib/storage): maps what it started to our revision.
const hashJson = (json) => crypto.createHash('sha256').update(json).digest('hex');
const flowsHash = (flows) => hashJson(JSON.stringify(flows));

// What Node-RED is handed when no revision was ever saved.
const NOTHING_SAVED = Object.freeze({ rev: 0, key: 'none', flows: [], credentials: null, restarts: 0, savedAt: null });
// Old revisions are pruned once deploys pause for this long: the delete (and the change events it makes
// on every instance) stays out of the way of a deploy reaching the workers.
const PRUNE_DELAY_MS = 1000;

class Revisions {
    // onFailure({key, rev, reason, kind}): every new failure (fail()); following(): an id of the change
    // stream's current open period, or null while it is not open (the reloader's: numbering.js reads ahead).
    constructor({ collections, opts, log, isClosed, onFailure, following }) {
        this.c = collections;
        this.coll = collections.flows;
        this.opts = opts;
        this.log = log;
        this.isClosed = isClosed;
        this.handed = null; // {rev, key, flows, credentials, restarts} last handed to Node-RED (getFlows or saveFlows)
        this.picked = null; // what the reloader chose for the next getFlows (choose())
        this.prefetched = null; // newest revision document from the change stream, not yet loaded
        this.staged = undefined; // credentials Node-RED saves just before the flows they belong to
        this.failed = new Map(); // revision key -> {rev, reason}: malformed, or its flows could not start here
        this.hashToRev = new Map(); // Node-RED's hash of a flow set -> {rev, key}
        this.highestSeen = 0;
        this.saving = 0; // saves in progress (the editor): its own insert is no revision to reload to
        this.saves = 0; // saves done: a pick made before one is out of date
        this.onFailure = onFailure;
        this.pruneTimer = null;
        // What the next number must be above, read ahead (the editor): its follower says whether its change stream stayed open.
        this.numbering = new Numbering(collections, { following, isClosed });
    }

    // Resolves once the revision counter is raised to the numbers saved without a step of it (numbering.js).
    close() {
        return this.numbering.close();
    }

    // The highest revision number this instance has seen (in its status record: numbering.js).
    highestSeenRev() {
        return this.highestSeen;
    }

    // Whether a save is in progress (the editor's own insert is no revision to reload to).
    isSaving() {
        return this.saving > 0;
    }

    // What the next getFlows hands Node-RED (take()): the reloader's pick while it reloads, else null.
    choose(pick) {
        this.picked = pick;
    }

    // Revision `rev` was changed in place: its failures here are forgotten, it gets another chance.
    forgetFailures(rev) {
        for (const [key, f] of this.failed) if (f.rev === rev) this.failed.delete(key);
    }

    // The malformed revisions numbered above `rev` that were skipped: [{rev, reason}].
    skippedAbove(rev) {
        return [...this.failed.values()].filter((f) => f.kind === 'malformed' && typeof f.rev === 'number' && f.rev > rev);
    }

    // The revision last handed to Node-RED (hand(), insert()), or null: {rev, key, flows, credentials,
    // restarts, deployType, savedAt, deployStartedAt}.
    get loaded() {
        return this.handed;
    }

    get loadedRev() {
        return this.handed ? this.handed.rev : null;
    }

    // When the revision last handed to Node-RED was saved (a Date, or null).
    get loadedSavedAt() {
        return this.handed ? this.handed.savedAt || null : null;
    }

    get loadedKey() {
        return this.handed ? this.handed.key : null;
    }

    revisionForHash(hash) {
        return this.hashToRev.has(hash) ? this.hashToRev.get(hash) : null;
    }

    noteSeen(rev) {
        if (Number.isSafeInteger(rev) && rev > this.highestSeen) this.highestSeen = rev;
    }

    // A revision document the change stream delivered: the next pick need not read it again.
    offer(doc) {
        this.prefetched = doc;
    }

    // Records that a revision (or a document that is none) cannot be loaded. kind: 'malformed' (never
    // loaded anywhere), 'start' (its flows could not start here), 'stray' (no revision number). True if news.
    fail(key, rev, reason, kind = 'malformed') {
        if (this.failed.has(key)) return false;
        this.failed.set(key, { rev, reason, kind });
        if (this.failed.size > 200) this.failed.delete(this.failed.keys().next().value);
        this.onFailure({ key, rev, reason, kind });
        return true;
    }

    // Whether pick() passes over this revision. The editor loads a revision whose flows failed to
    // start all the same: it shows them (unknown nodes marked) so they can be fixed.
    isFailed(key) {
        const f = this.failed.get(key);
        return Boolean(f) && (f.kind !== 'start' || this.opts.role === 'worker');
    }

    // Numbered revisions, newest first: {_id, deployId, savedAt, restarts} only.
    heads(limit) {
        return newestRevisions(this.coll, { limit, projection: HEAD_FIELDS });
    }

    // The newest revision that can be loaded: {kind: 'revision', rev, key, doc}; {kind: 'none'} when no
    // revision was ever saved; {kind: 'unusable'} when every kept one is malformed or failed here.
    // `head` is the newest numbered revision {rev, key}, loadable or not.
    async pick() {
        const heads = await this.heads(this.opts.revisionsKept + 10);
        if (heads.length === 0) return { kind: 'none', head: null };
        this.noteSeen(heads[0]._id);
        const newest = { rev: heads[0]._id, key: revisionKey(heads[0]) };
        for (const head of heads) {
            const key = revisionKey(head);
            if (this.isFailed(key)) continue;
            const pre = this.prefetched;
            const doc = pre && pre._id === head._id && revisionKey(pre) === key ? pre : await this.coll.findOne({ _id: head._id });
            if (!doc || revisionKey(doc) !== key) continue; // replaced or deleted meanwhile: the next head
            const problem = documentProblem(doc);
            if (problem) {
                this.fail(key, doc._id, problem);
                continue;
            }
            this.prefetched = null;
            return { kind: 'revision', rev: doc._id, key, doc, head: newest, saves: this.saves };
        }
        return { kind: 'unusable', head: newest };
    }

    // The revision document the change stream just delivered, when it is the newest revision this instance
    // knows (`head`, by identity) and can be loaded: picked without reading the newest revisions again.
    // That read is what a reload spends most on once revisions are large (the server sorts them all).
    fastPick(head) {
        const doc = this.prefetched;
        if (!doc || !head || doc._id !== head.rev) return null;
        const key = revisionKey(doc);
        if (key !== head.key || this.isFailed(key) || documentProblem(doc)) return null;
        this.prefetched = null;
        return { kind: 'revision', rev: doc._id, key, doc, head: { rev: head.rev, key }, saves: this.saves };
    }

    // Retries while MongoDB is unreachable: Node-RED never gets an empty flow set by accident.
    async pickWithRetry() {
        let delay = 250;
        for (let attempt = 1; ; attempt++) {
            try {
                return await this.pick();
            } catch (err) {
                if (this.isClosed()) throw err;
                this.log.warn(`reading flows failed (attempt ${attempt}: ${err.message}); retrying in ${delay} ms`);
                await sleep(delay);
                delay = Math.min(delay * 2, 5000);
            }
        }
    }

    // What the next getFlows hands Node-RED: what a reload picked, else the newest that can be loaded.
    async take() {
        const picked = this.picked;
        this.picked = null;
        // A reload waiting for Node-RED's API lock while the editor saved a deploy picks again.
        return picked && picked.saves === this.saves ? picked : this.pickWithRetry();
    }

    // Hands a pick to Node-RED: it becomes the loaded revision. Returns it.
    hand(pick) {
        const loaded = pick.kind === 'revision'
            ? { rev: pick.rev, key: pick.key, flows: readFlows(pick.doc).flows, credentials: pick.doc.credentials || null,
                restarts: pick.doc.restarts || 0, deployType: pick.doc.deployType || null, savedAt: pick.doc.savedAt || null,
                deployStartedAt: pick.doc.deployStartedAt instanceof Date ? pick.doc.deployStartedAt : null }
            : { ...NOTHING_SAVED, key: pick.kind }; // 'none', or 'unusable': the editor starts empty, manageable
        this.remember(loaded);
        return loaded;
    }

    // Always the credentials of the revision last handed to Node-RED.
    credentials() {
        return decodeCredentials(this.handed ? this.handed.credentials : null);
    }

    stageCredentials(credentials) {
        this.staged = credentials;
    }

    dropStaged() {
        this.staged = undefined;
    }

    // One insert of the flows with the staged credentials (else those of the revision Node-RED runs,
    // which are the ones it holds), under a number never given before. Returns the loaded revision.
    // fields: more fields of the document (deploy_context.js), never in place of the ones written here.
    async insert(flows, { savedBy, deployType, deployStartedAt = null, baseKey = null, fields = {} }) {
        this.saving += 1;
        try {
            return await this.insertOnce(flows, { savedBy, deployType, deployStartedAt, baseKey, fields });
        } finally {
            this.saving -= 1;
            this.saves += 1;
        }
    }

    async insertOnce(flows, { savedBy, deployType, deployStartedAt, baseKey, fields }) {
        const credentials = this.staged !== undefined ? encodeCredentials(this.staged) : (this.handed ? this.handed.credentials : null);
        const flowsJson = JSON.stringify(flows); // also Node-RED's hash of them (remember)
        for (let attempt = 1; ; attempt++) {
            const { rev, counted } = attempt === 1 ? await this.numbering.next(this.highestSeen)
                : { rev: await nextRevision(this.c, this.highestSeen), counted: true };
            const doc = { ...fields, _id: rev, rev, deployId: crypto.randomUUID(), flowsJson, credentials, savedAt: new Date(),
                savedBy, deployType };
            // When the editor's flows API call began: with savedAt, the editor's part of the way to the workers.
            if (deployStartedAt) doc.deployStartedAt = new Date(deployStartedAt);
            // The revision the editor ran when it deployed this one (its key): a worker running exactly
            // that one may apply a "flows"/"nodes" deploy as a diff (partial.js).
            if (baseKey && baseKey !== 'none' && baseKey !== 'unusable') doc.baseKey = baseKey;
            // The Node-RED that saved it (docs/image.md, "Upgrading Node-RED": what an older one may not run).
            if (this.opts.nodeRedVersion) doc.nodeRedVersion = this.opts.nodeRedVersion;
            try {
                await this.coll.insertOne(doc);
            } catch (err) {
                // The number is taken after all (a document inserted by hand since): take the next one.
                if (err.code === 11000 && attempt < 5) {
                    this.noteSeen(rev);
                    continue;
                }
                throw err;
            }
            this.noteSeen(rev);
            this.numbering.saved(rev, counted);
            const credentialsUpdated = this.staged !== undefined;
            this.staged = undefined;
            const loaded = { rev, key: revisionKey(doc), flows, credentials, restarts: 0, deployType, credentialsUpdated, savedAt: doc.savedAt,
                deployStartedAt: doc.deployStartedAt || null };
            this.remember(loaded, flowsJson);
            return loaded;
        }
    }

    // "Restart flows" in the editor: recorded on the revision it runs, which every instance follows.
    async requestRestart(rev, by) {
        if (!rev) return null;
        const doc = await this.coll.findOneAndUpdate({ _id: rev }, { $inc: { restarts: 1 }, $set: { restartedAt: new Date(), restartedBy: by } },
            { returnDocument: 'after', projection: { _id: 1, restarts: 1 } });
        if (doc && this.handed && this.handed.rev === rev) this.handed.restarts = doc.restarts;
        return doc ? doc.restarts : null;
    }

    // Prunes after the next pause in deploys (PRUNE_DELAY_MS).
    schedulePrune() {
        clearTimeout(this.pruneTimer);
        this.pruneTimer = setTimeout(() => {
            this.pruneTimer = null;
            if (!this.isClosed()) this.prune();
        }, PRUNE_DELAY_MS);
        this.pruneTimer.unref();
    }

    // Keeps the newest revisionsKept numbered revisions.
    async prune() {
        try {
            const [edge] = await newestRevisions(this.coll, { skip: this.opts.revisionsKept - 1, limit: 1, projection: { _id: 1 } });
            if (edge) await this.coll.deleteMany({ _id: { $lt: edge._id } });
        } catch (err) {
            this.log.warn(`could not prune old revisions (${err.message})`);
        }
    }

    // json: JSON.stringify(loaded.flows) when already made.
    remember(loaded, json = null) {
        this.handed = loaded;
        this.noteSeen(loaded.rev);
        const hash = json === null ? flowsHash(loaded.flows) : hashJson(json);
        this.hashToRev.delete(hash); // the newest revision with these flows wins
        this.hashToRev.set(hash, { rev: loaded.rev, key: loaded.key });
        if (this.hashToRev.size > 100) this.hashToRev.delete(this.hashToRev.keys().next().value);
    }
}

module.exports = { Revisions, flowsHash, NOTHING_SAVED };

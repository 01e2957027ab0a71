'use strict';
// Every instance follows the `flows` collection: a change stream resumed from its last token, reopened
// with backoff after any error or outage, plus a read of the newest revision after every (re)open and
// on a timer. What it sees goes to the reloader (reloader.js), which decides what to load:
//   head(head, reason, doc, replaced, readAt)
//                            the newest numbered revision {rev, key, restarts} (null: there is none);
//                            doc when the change stream delivered the whole document; readAt when a
//                            read found it (performance.now() as the read began)
//   stray(id, reason)        a document whose _id is no revision number (it is never loaded)
//   restart(rev, count)      "restart flows" was recorded on revision `rev` (its restarts count)
//   edited(rev)              revision `rev` was changed in place (its flows or credentials; not a key rotation's
//                            re-encryption of the same credentials)
const { performance } = require('perf_hooks');
const { sleep } = require('./connect');
const { REVISION } = require('../../common/database');
const { revisionKey, newestRevision, HEAD_FIELDS } = require('./revision_doc');

// Server errors meaning the resume token can no longer be used (history gone or token invalid).
const UNUSABLE_TOKEN_CODES = new Set([280, 286, 136, 260]);
// Events after which the stream is over and the collection may hold anything: reopen and re-read.
const ENDING_EVENTS = new Set(['drop', 'rename', 'dropDatabase', 'invalidate']);
// How long the server holds an idle getMore open. A change is delivered at once whatever this is; it
// only sets how often an idle instance asks again (the idle cost: one round trip per wait).
const CHANGE_WAIT_MS = 10000;

const toHead = (doc) => ({ rev: doc._id, key: revisionKey(doc), restarts: doc.restarts || 0 });

class StreamEnded extends Error {}

class RevisionFollower {
    constructor({ coll, log, on, checkSeconds }) {
        this.coll = coll;
        this.log = log;
        this.on = on;
        this.checkSeconds = checkSeconds;
        this.token = null;
        this.stream = null;
        this.closed = false;
        this.checkFailing = false;
        this.newest = null; // the newest revision number: as the last check read it, or inserted since
        this.opens = 0; // times the change stream was opened
        this.open = false; // whether it is open now (nothing it would deliver can be missed)
    }

    // An id of the change stream's current open period (null while it is not open): equal ids mean the
    // stream stayed open between the two calls, so every change in between was delivered.
    period() {
        return this.open ? this.opens : null;
    }

    start() {
        this.loopDone = this.loop();
        this.timer = setInterval(() => this.check('periodic check'), this.checkSeconds * 1000);
        this.timer.unref();
    }

    async check(reason) {
        const readAt = performance.now();
        try {
            const head = await newestRevision(this.coll, HEAD_FIELDS);
            const strays = await this.coll.find(REVISION.unnumbered, { projection: { _id: 1 }, limit: 5 }).toArray();
            this.checkFailing = false;
            this.newest = head && typeof head._id === 'number' ? head._id : null; // as it is now (a restore may lower it)
            this.on.head(head ? toHead(head) : null, reason, null, false, readAt);
            for (const s of strays) this.on.stray(s._id, reason);
        } catch (err) {
            if (!this.checkFailing) this.log.warn(`revision check failed (${err.message})`);
            this.checkFailing = true;
        }
    }

    async loop() {
        let delay = 250;
        while (!this.closed) {
            let stream = null;
            try {
                const resuming = this.token !== null;
                const wait = { maxAwaitTimeMS: CHANGE_WAIT_MS };
                stream = this.coll.watch([], this.token ? { resumeAfter: this.token, ...wait } : wait);
                this.stream = stream;
                // The first getMore opens the server-side cursor: from here on nothing can be missed.
                let change = await stream.tryNext();
                this.token = stream.resumeToken || this.token;
                this.opens += 1;
                this.open = true;
                this.log.info(this.opens === 1 ? 'following flow revisions through a change stream'
                    : `change stream reopened${resuming ? ' from its resume token' : ''}`);
                await this.check(this.opens === 1 ? 'start' : 'reconnect');
                delay = 250;
                while (!this.closed) {
                    if (change) await this.handle(change);
                    change = await stream.tryNext();
                    this.token = stream.resumeToken || this.token;
                }
            } catch (err) {
                this.open = false;
                if (this.closed) break;
                if (err instanceof StreamEnded) {
                    // The collection was dropped or renamed (a restore does that): start afresh.
                    this.log.warn(`flows collection ${err.message}: reopening the change stream and re-reading the newest revision`);
                    this.token = null;
                    continue;
                }
                if (UNUSABLE_TOKEN_CODES.has(err.code) || /resume/i.test(err.message || '') && /token|history/i.test(err.message || '')) {
                    this.log.warn(`change stream resume token unusable (${err.message}); reopening without it and re-reading the newest revision`);
                    this.token = null;
                }
                this.log.warn(`change stream on flows failed (${err.message}); reopening in ${delay} ms`);
                // Without a change stream (an outage, or DocumentDB before they are enabled) read the newest
                // revision on every reopen attempt, not only at the periodic check.
                await this.check('change stream down');
                await sleep(delay);
                delay = Math.min(delay * 2, 5000);
            } finally {
                this.open = false;
                if (stream) await stream.close().catch(() => {});
                this.stream = null;
            }
        }
    }

    async handle(change) {
        const op = change.operationType;
        if (ENDING_EVENTS.has(op)) throw new StreamEnded(op === 'invalidate' ? 'change stream invalidated' : `${op} seen`);
        const id = change.documentKey ? change.documentKey._id : undefined;
        if (op === 'delete') {
            // Pruning deletes revisions below the newest after every deploy: nothing changes for this
            // instance. Only a delete of the newest (or of a stray) needs the newest read again.
            if (typeof id === 'number' && this.newest !== null && id < this.newest) return;
            await this.check('deleted revision');
            return;
        }
        if (op === 'insert' || op === 'replace') {
            if (typeof id !== 'number') {
                this.on.stray(id, 'change stream');
                return;
            }
            // An insert event carries the whole revision document: the reload need not read it again.
            const doc = change.fullDocument && change.fullDocument._id === id ? change.fullDocument : null;
            this.noteNewest(id);
            if (doc) this.on.head(toHead(doc), 'change stream', doc, op === 'replace');
            else await this.check('change stream');
            return;
        }
        if (op === 'update' && typeof id === 'number' && change.updateDescription) {
            const set = change.updateDescription.updatedFields || {};
            const names = [...Object.keys(set), ...(change.updateDescription.removedFields || [])];
            // A key rotation re-encrypting the same credentials (credential_key.js): nothing to load again.
            if ('credentialsKey' in set && names.every((n) => /^credentials(Key)?(\.|$)/.test(n))) return;
            if (names.some((n) => /^(flows|flowsJson|credentials|deployId|savedAt)(\.|$)/.test(n))) this.on.edited(id);
            else if (typeof set.restarts === 'number') this.on.restart(id, set.restarts);
        }
    }

    noteNewest(id) {
        if (typeof id === 'number' && (this.newest === null || id > this.newest)) this.newest = id;
    }

    async close() {
        this.closed = true;
        this.open = false;
        clearInterval(this.timer);
        if (this.stream) await this.stream.close().catch(() => {});
        await this.loopDone;
    }
}

module.exports = { RevisionFollower, toHead };

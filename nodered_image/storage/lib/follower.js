'use strict';
// Workers follow the `flows` collection: a change stream resumed from its last token, reopened with
// backoff after any error or outage, plus a read of the newest revision after every (re)open and on
// a timer. Every revision number seen goes to onRevision; the storage decides whether to reload.
const { sleep } = require('./connect');

// Server errors meaning the resume token can no longer be used (history gone or token invalid).
const UNUSABLE_TOKEN_CODES = new Set([280, 286, 136, 260]);

class RevisionFollower {
    constructor({ coll, log, onRevision, checkSeconds }) {
        this.coll = coll;
        this.log = log;
        this.onRevision = onRevision;
        this.checkSeconds = checkSeconds;
        this.token = null;
        this.stream = null;
        this.closed = false;
        this.checkFailing = false;
    }

    start() {
        this.loopDone = this.loop();
        this.timer = setInterval(() => this.check('periodic check'), this.checkSeconds * 1000);
        this.timer.unref();
    }

    async check(reason) {
        try {
            const doc = await this.coll.findOne({}, { sort: { _id: -1 }, projection: { _id: 1 } });
            this.checkFailing = false;
            if (doc) this.onRevision(doc._id, reason);
        } catch (err) {
            if (!this.checkFailing) this.log.warn(`revision check failed (${err.message})`);
            this.checkFailing = true;
        }
    }

    async loop() {
        let delay = 250;
        let opened = 0;
        while (!this.closed) {
            let stream = null;
            try {
                const resuming = this.token !== null;
                stream = this.coll.watch([], this.token ? { resumeAfter: this.token, maxAwaitTimeMS: 1000 } : { maxAwaitTimeMS: 1000 });
                this.stream = stream;
                // The first getMore opens the server-side cursor: from here on nothing can be missed.
                let change = await stream.tryNext();
                this.token = stream.resumeToken || this.token;
                opened += 1;
                this.log.info(opened === 1 ? 'following flow revisions through a change stream'
                    : `change stream reopened${resuming ? ' from its resume token' : ''}`);
                await this.check(opened === 1 ? 'start' : 'reconnect');
                delay = 250;
                while (!this.closed) {
                    if (change) this.handle(change);
                    change = await stream.tryNext();
                    this.token = stream.resumeToken || this.token;
                }
            } catch (err) {
                if (this.closed) break;
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
                if (stream) await stream.close().catch(() => {});
                this.stream = null;
            }
        }
    }

    handle(change) {
        if ((change.operationType === 'insert' || change.operationType === 'replace') && change.documentKey) {
            const rev = change.documentKey._id;
            // An insert event carries the whole revision document: the reload need not read it again.
            const doc = change.fullDocument && change.fullDocument._id === rev ? change.fullDocument : null;
            if (typeof rev === 'number') this.onRevision(rev, 'change stream', doc);
        }
    }

    async close() {
        this.closed = true;
        clearInterval(this.timer);
        if (this.stream) await this.stream.close().catch(() => {});
        await this.loopDone;
    }
}

module.exports = { RevisionFollower };

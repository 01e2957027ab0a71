'use strict';
// A worker's reloads: every revision the follower sees (follower.js) that is newer than the running
// one makes Node-RED load the flows again through its runtime (runtime.nodes.loadFlows: getFlows,
// stop, start; no admin API). One reload at a time, always to the newest revision, so a burst of
// deploys coalesces into few reloads; a revision that failed is not retried, a newer one is loaded.
const { RevisionFollower } = require('./follower');

class Reloader {
    constructor({ runtime, coll, health, revisions, events, opts, log, isClosed }) {
        this.runtime = runtime;
        this.health = health;
        this.revisions = revisions;
        this.events = events;
        this.opts = opts;
        this.log = log;
        this.isClosed = isClosed;
        this.reloading = null; // the reload loop while it runs
        this.failedRev = null; // revision whose flows could not start: wait for a newer one
        this.waiter = null; // the running reload, waiting for Node-RED to report its flows started
        this.seenAt = new Map(); // rev -> when this worker first learnt of it (for the reload log line)
        this.follower = new RevisionFollower({
            coll, log, checkSeconds: opts.syncCheckSeconds,
            onRevision: (rev, reason, doc) => this.onRevision(rev, reason, doc),
        });
    }

    start() {
        this.follower.start();
    }

    async close() {
        await this.follower.close();
    }

    onRevision(rev, reason, doc) {
        const h = this.health;
        const behind = h.runningRev === null || rev > h.runningRev;
        if (doc && rev >= (h.latestRev ?? -1)) this.revisions.offer(doc);
        if (rev > (h.latestRev ?? -1) && behind) {
            this.seenAt.set(rev, Date.now());
            this.log.info(`new flows revision ${rev} (seen by ${reason})`);
        }
        h.noteLatest(rev);
        if (behind) h.changed();
        this.schedule();
    }

    // How long ago this worker learnt of `rev` (null if it did not wait for it); forgets older ones.
    takeSeen(rev) {
        const seen = this.seenAt.get(rev);
        this.seenAt.clear();
        return seen ? Date.now() - seen : null;
    }

    flowsStarted(rev) {
        if (this.waiter) this.waiter.resolve(rev);
        this.waiter = null;
        this.schedule();
    }

    // Node-RED reported the flows unable to start (already announced as 'start-failed').
    startFailed(rev, reason) {
        if (!this.reloading && rev !== null) this.failedRev = rev;
        if (this.waiter) this.waiter.reject(Object.assign(new Error(reason), { announced: true }));
        this.waiter = null;
    }

    schedule() {
        // Before the first start Node-RED itself is loading the flows; if that start failed (state
        // error), a newer revision is loaded all the same.
        const startAttempted = this.health.startedOnce || this.health.state === 'error';
        if (this.isClosed() || !startAttempted || this.reloading) return;
        if (!this.needsReload()) return;
        this.reloading = this.loop().finally(() => {
            this.reloading = null;
            this.schedule(); // a revision that arrived while a failed reload ended
        });
    }

    needsReload() {
        const h = this.health;
        return h.latestRev !== null && h.latestRev > (h.runningRev ?? -1) && h.latestRev !== this.failedRev;
    }

    async loop() {
        while (!this.isClosed() && this.needsReload()) {
            const target = this.health.latestRev;
            this.health.set('reloading');
            this.log.debug(`reloading flows: running revision ${this.health.runningRev}, newest ${target}`);
            const started = new Promise((resolve, reject) => {
                this.waiter = { resolve, reject };
            });
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
                this.waiter = null;
                this.failedRev = this.revisions.loadedRev ?? target;
                this.log.error(`reload to revision ${this.failedRev} failed: ${err.message}; waiting for a newer revision`);
                this.health.set('error');
                if (!err.announced) this.events.startFailed(this.failedRev, err.message);
                return;
            }
        }
    }
}

module.exports = { Reloader };

'use strict';
// The instance's status record in the `instances` collection, refreshed every few seconds.
// A TTL index on lastSeen lets records of instances that died expire on their own.

class StatusRecorder {
    constructor({ coll, opts, snapshot, log }) {
        this.coll = coll;
        this.opts = opts;
        this.snapshot = snapshot; // () => {state, rev, latestRev, ready, failedRev, failure, message, restart, seenRev, leader, credentialKey}
        this.log = log;
        this.startedAt = new Date();
        this.timer = null;
        this.failing = false;
        this.inflight = null;
        this.again = false;
        this.soon = null;
    }

    start() {
        this.refresh();
        this.timer = setInterval(() => this.refresh(), this.opts.statusSeconds * 1000);
        this.timer.unref();
    }

    // A state change: write soon, off the reload's critical path; changes close together coalesce.
    changed(delayMs = 200) {
        const due = Date.now() + delayMs;
        if (this.soon && this.soonDue <= due) return;
        clearTimeout(this.soon);
        this.soonDue = due;
        this.soon = setTimeout(() => {
            this.soon = null;
            this.refresh();
        }, delayMs);
        this.soon.unref();
    }

    // Writes the record now; calls made while a write is in flight coalesce into one more write.
    refresh() {
        clearTimeout(this.soon);
        this.soon = null;
        if (this.inflight) {
            this.again = true;
            return this.inflight;
        }
        this.inflight = this.write().finally(() => {
            this.inflight = null;
            if (this.again) {
                this.again = false;
                this.refresh();
            }
        });
        return this.inflight;
    }

    async write() {
        const s = this.snapshot();
        const o = this.opts;
        try {
            await this.coll.updateOne(
                { _id: o.instanceId },
                {
                    $set: { role: o.role, host: o.host, port: o.port, pid: process.pid, nodeRedVersion: o.nodeRedVersion ?? null,
                        rev: s.rev, latestRev: s.latestRev,
                        state: s.state, ready: s.ready, failedRev: s.failedRev, failure: s.failure, message: s.message,
                        restart: s.restart, seenRev: s.seenRev, leader: s.leader === true, lastSync: s.lastSync ?? null,
                        credentialKey: s.credentialKey ?? null,
                        lastSeen: new Date() },
                    $setOnInsert: { startedAt: this.startedAt },
                },
                { upsert: true },
            );
            if (this.failing) this.log.info('status record written again (MongoDB reachable)');
            this.failing = false;
        } catch (err) {
            if (!this.failing) this.log.warn(`cannot write status record (${err.message}); flows keep running`);
            this.failing = true;
        }
    }

    // Graceful stop: the record goes now instead of expiring later.
    async remove() {
        clearInterval(this.timer);
        clearTimeout(this.soon);
        await this.inflight;
        await this.coll.deleteOne({ _id: this.opts.instanceId }).catch(() => {});
    }
}

module.exports = { StatusRecorder };

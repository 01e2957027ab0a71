'use strict';
// The audit trail: one record per login (succeeded or failed), logout, deploy, restart of flows, rollback,
// API token use and sessions ended by a change of the logins, in the `audit` collection (database.json),
// kept NODE_RED_AUDIT_RETENTION_DAYS by a TTL index. Read by GET /cluster/audit and by
// `python -m nodered_status audit` (docs/editor-access.md). Each record is also one log line.
//
// Records are written WRITE_DELAY_MS after the first of them, together (one insert for a burst of logins):
// a deploy's record is not written while the workers load that deploy, where each write costs every
// instance's change stream a round trip on the local database server. Reading the trail (list) and
// stopping the editor (flush) write what is pending first.
// Records written while MongoDB is not reachable wait in memory (at most MAX_PENDING, the oldest dropped
// first, counted in the log) and are written once it answers: the editor never waits for the trail.
const { collection, indexes } = require('../../common/database');

const MAX_PENDING = 1000;
const WRITE_DELAY_MS = 250;
const FIELDS = ['user', 'via', 'client', 'rev', 'deployType', 'detail'];

class AuditTrail {
    // database(): the connected Db, or null; log(level, message).
    constructor({ database, log, retentionDays }) {
        this.database = database;
        this.log = log || (() => {});
        this.retentionSeconds = retentionDays * 86400;
        this.pending = [];
        this.dropped = 0;
        this.indexed = false;
        this.writing = null;
        this.timer = null; // the write WRITE_DELAY_MS after the first pending record
    }

    // {event, user, via, client, rev, deployType, detail}: written in the background.
    record(entry) {
        const doc = { at: new Date(), event: entry.event };
        for (const k of FIELDS) if (entry[k] !== undefined && entry[k] !== null) doc[k] = entry[k];
        this.log('info', `audit: ${describe(doc)}`);
        this.pending.push(doc);
        if (this.pending.length > MAX_PENDING) {
            this.pending.shift();
            this.dropped += 1;
        }
        if (!this.timer) {
            this.timer = setTimeout(() => this.flush(), WRITE_DELAY_MS);
            this.timer.unref();
        }
        return doc;
    }

    // Writes what is pending, one batch at a time; the promise settles when this batch is done.
    flush() {
        clearTimeout(this.timer);
        this.timer = null;
        if (this.writing) return this.writing.then(() => (this.pending.length ? this.flush() : undefined));
        const db = this.database();
        if (!db || !this.pending.length) return Promise.resolve();
        const batch = this.pending.splice(0);
        this.writing = this.write(db, batch).catch((err) => {
            this.pending.unshift(...batch.slice(0, MAX_PENDING - this.pending.length));
            this.log('warn', `audit: ${batch.length} record(s) not written yet (${err.message}): kept for the next write`);
        }).finally(() => {
            this.writing = null;
        });
        return this.writing;
    }

    async write(db, batch) {
        await this.ensureIndex(db);
        await collection(db, 'audit').insertMany(batch, { ordered: true });
        if (this.dropped) {
            this.log('warn', `audit: ${this.dropped} record(s) were dropped while MongoDB could not be written`);
            this.dropped = 0;
        }
    }

    // The TTL index with this editor's retention (a changed NODE_RED_AUDIT_RETENTION_DAYS changes it). A
    // failure is logged and the records written all the same: they only expire later.
    async ensureIndex(db) {
        if (this.indexed) return;
        this.indexed = true;
        const coll = collection(db, 'audit');
        for (const ix of indexes('audit', { auditRetentionSeconds: this.retentionSeconds })) {
            try {
                await coll.createIndex(ix.key, ix.options);
            } catch (err) {
                if (![85, 86].includes(err.code)) {
                    this.log('warn', `audit: could not create the index ${ix.options.name} (${err.message})`);
                    continue;
                }
                // Another retention than the index's: changed in place.
                await db.command({ collMod: 'audit', index: { name: ix.options.name, expireAfterSeconds: ix.options.expireAfterSeconds } })
                    .catch((e) => this.log('warn', `audit: could not change the retention of ${ix.options.name} (${e.message})`));
            }
        }
    }

    // The newest `limit` records at or after `since` (a Date), oldest first; truncated when there were more.
    async list({ since, limit }) {
        const db = this.database();
        if (!db) {
            const err = new Error('not connected to MongoDB yet');
            err.name = 'NotConnected';
            throw err;
        }
        await this.flush();
        const docs = await collection(db, 'audit').find({ at: { $gte: since } }, { projection: { _id: 0 } })
            .sort({ at: -1 }).limit(limit + 1).toArray();
        const truncated = docs.length > limit;
        return { records: docs.slice(0, limit).reverse().map(asJson), truncated };
    }
}

function asJson(doc) {
    const out = { at: doc.at instanceof Date ? doc.at.toISOString() : null, event: doc.event };
    for (const k of FIELDS) out[k] = doc[k] === undefined ? null : doc[k];
    return out;
}

// "deploy by alice (password) from 10.0.0.7: revision 12, full".
function describe(doc) {
    const parts = [doc.event];
    if (doc.user) parts.push(`by ${doc.user}${doc.via ? ` (${doc.via})` : ''}`);
    if (doc.client) parts.push(`from ${doc.client}`);
    let text = parts.join(' ');
    const more = [];
    if (doc.rev !== undefined) more.push(`revision ${doc.rev}`);
    if (doc.deployType) more.push(doc.deployType);
    if (doc.detail) more.push(doc.detail);
    if (more.length) text += `: ${more.join(', ')}`;
    return text;
}

module.exports = { AuditTrail, describe };

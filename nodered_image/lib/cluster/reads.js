'use strict';
// What the cluster API reads and writes, through the storage's own connection (storage.database(): no
// second MongoDB client) and the collections of database.json. The status command's MongoDB mode reads
// the same documents (nodered_status/source.py MongoSource).
const crypto = require('crypto');
const { collection, singleton, REVISION } = require('../../common/database');
const { documentProblem } = require('../../storage/lib/revision_doc');
const { nextRevision } = require('../../storage/lib/numbering');

const LEASE = singleton('leaderLease');

class NotConnected extends Error {}

class ClusterReads {
    // database(): the storage's Db, or null while it is not connected.
    constructor({ database }) {
        this.database = database;
    }

    db() {
        const db = this.database();
        if (!db) throw new NotConnected('the editor is not connected to MongoDB yet');
        return db;
    }

    // The database server's clock: instances' lastSeen are compared with it, as the status command does.
    async now(db = this.db()) {
        const hello = await db.admin().command({ hello: 1 });
        return hello.localTime instanceof Date ? hello.localTime : new Date();
    }

    // What the status report needs: {records, newest, lease, now}.
    async snapshot() {
        const db = this.db();
        const [records, [newest], lease, now] = await Promise.all([
            collection(db, 'instances').find({}).toArray(),
            collection(db, 'flows').find(REVISION.numbered, { sort: REVISION.newestFirst, limit: 1, projection: REVISION.summary }).toArray(),
            collection(db, LEASE.collection).findOne({ _id: LEASE.id }),
            this.now(db),
        ]);
        return { records, newest: newest || null, lease, now };
    }

    // What `history` lists: the newest limit + 1 revisions, documents that are no revisions, the records.
    async revisions(limit) {
        const db = this.db();
        const flows = collection(db, 'flows');
        const [docs, strays, instances, now] = await Promise.all([
            flows.find(REVISION.numbered, { sort: REVISION.newestFirst, limit: limit + 1 }).toArray(),
            flows.find({ _id: { $not: REVISION.numbered._id } }, { projection: REVISION.summary, limit: 20 }).toArray(),
            collection(db, 'instances').find({}).toArray(),
            this.now(db),
        ]);
        return { docs, strays, instances, now };
    }

    // One revision document (null: none has that number).
    async revision(rev) {
        return collection(this.db(), 'flows').findOne({ _id: rev });
    }

    // Why there is no revision `rev` to use, in the words of the status command's rollback.
    async missing(rev) {
        const kept = await collection(this.db(), 'flows')
            .find(REVISION.numbered, { projection: { _id: 1 }, sort: { _id: 1 } }).toArray();
        const span = kept.length ? `kept: ${kept[0]._id}..${kept[kept.length - 1]._id}` : 'no revision is kept';
        return `no revision ${rev} in the flows collection (${span})`;
    }

    // A new revision with revision `rev`'s flows and credentials, numbered as a deploy is, saved by `by`
    // (what `python -m nodered_status rollback` writes): {rev} or {missing: why} or {problem: why}.
    async rollback(rev, by) {
        const db = this.db();
        const c = { flows: collection(db, 'flows'), instances: collection(db, 'instances'), counters: collection(db, 'counters') };
        const source = await c.flows.findOne({ _id: rev });
        if (!source) return { missing: await this.missing(rev) };
        const problem = documentProblem(source);
        if (problem) return { problem: `revision ${rev} cannot be loaded: ${problem}` };
        for (let attempt = 0; attempt < 5; attempt++) {
            const number = await nextRevision(c);
            const doc = {
                _id: number, rev: number, deployId: crypto.randomUUID(),
                ...Object.fromEntries(['flowsJson', 'flows', 'nodeRedVersion'].filter((k) => k in source).map((k) => [k, source[k]])),
                credentials: source.credentials === undefined ? null : source.credentials,
                savedAt: new Date(), savedBy: by, deployType: 'rollback', rollbackOf: rev,
            };
            try {
                await c.flows.insertOne(doc);
                return { rev: number, savedAt: doc.savedAt };
            } catch (err) {
                if (err.code !== 11000) throw err; // a document inserted by hand holds that number: take the next
            }
        }
        throw new Error('could not find a free revision number in 5 attempts');
    }
}

module.exports = { ClusterReads, NotConnected };

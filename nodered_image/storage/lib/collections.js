'use strict';
// The collections of the configured database, their indexes, and DocumentDB's change-stream switch.
// Names, write concerns and indexes are database.json's (common/database.js).
const { collection, indexes } = require('../../common/database');

async function openCollections(client, opts, log, isClosed = () => false) {
    const db = client.db(opts.database);
    const c = {
        flows: collection(db, 'flows'),
        instances: collection(db, 'instances'),
        settings: collection(db, 'settings'),
        sessions: collection(db, 'sessions'),
        library: collection(db, 'library'),
        counters: collection(db, 'counters'), // the revision counter (numbering.js)
    };
    try {
        // Status records of instances that died expire on their own (expireAfterSeconds: opts.statusTtlSeconds);
        // the library's index is the editor's.
        for (const name of ['instances', 'library']) {
            for (const ix of indexes(name, opts)) {
                if (ix.createdBy === null || ix.createdBy === opts.role) await c[name].createIndex(ix.key, ix.options);
            }
        }
    } catch (err) {
        log.warn(`could not create indexes (${err.message}); continuing`);
    }
    if (opts.role === 'editor' && opts.enableChangeStreams) {
        // In the background: the editor serves meanwhile, and workers poll while they cannot watch (follower.js).
        enableChangeStreams(client, opts.database, log, { isClosed })
            .catch((err) => log.warn(`enabling change streams stopped (${err.message})`));
    }
    return c;
}

// DocumentDB has change streams off until enabled, per collection or per database. Enable them for the whole
// database (so a collection that does not exist yet is covered too), then check that a change stream really
// opens on `flows`, which is what workers need; retry with backoff until it does or the storage closes.
// Resolves true once verified, false when closed first. A server without modifyChangeStreams (MongoDB)
// passes the check at once. Also run with the cluster's admin login by db_setup.js.
async function enableChangeStreams(client, database, log, { isClosed = () => false, initialDelayMs = 1000, maxDelayMs = 30000 } = {}) {
    let delay = initialDelayMs;
    for (let attempt = 1; !isClosed(); attempt++) {
        let refused = null;
        try {
            await client.db('admin').command({ modifyChangeStreams: 1, database, collection: '', enable: true });
        } catch (err) {
            refused = err;
        }
        try {
            await openChangeStream(collection(client.db(database), 'flows'));
            log.info(`change streams on ${database} verified (a change stream opens on flows` +
                `${refused ? `; modifyChangeStreams: ${refused.message}` : ', enabled for the whole database'})`);
            return true;
        } catch (err) {
            if (isClosed()) break;
            log.warn(`change streams on ${database} not available yet (attempt ${attempt}: ${err.message}` +
                `${refused ? `; modifyChangeStreams failed: ${refused.message}` : ''}); retrying in ${delay} ms`);
        }
        await pause(delay);
        delay = Math.min(delay * 2, maxDelayMs);
    }
    return false;
}

async function openChangeStream(coll) {
    const stream = coll.watch([], { maxAwaitTimeMS: 1 });
    try {
        await stream.tryNext();
    } finally {
        await stream.close().catch(() => {});
    }
}

// A wait that never keeps the process alive on its own (shutdown does not wait for the next attempt).
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

module.exports = { openCollections, enableChangeStreams };

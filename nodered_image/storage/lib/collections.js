'use strict';
// The collections of the configured database, their indexes, and DocumentDB's change-stream switch.

async function openCollections(client, opts, log) {
    const db = client.db(opts.database);
    const c = {
        flows: db.collection('flows'),
        instances: db.collection('instances'),
        settings: db.collection('settings'),
        sessions: db.collection('sessions'),
        library: db.collection('library'),
        counters: db.collection('counters'), // the revision counter (numbering.js)
    };
    try {
        // Status records of instances that died expire on their own.
        await c.instances.createIndex({ lastSeen: 1 }, { expireAfterSeconds: opts.statusTtlSeconds, name: 'lastSeen_ttl' });
        if (opts.role === 'editor') await c.library.createIndex({ type: 1, path: 1 }, { name: 'type_path' });
    } catch (err) {
        log.warn(`could not create indexes (${err.message}); continuing`);
    }
    if (opts.role === 'editor' && opts.enableChangeStreams) await enableChangeStreams(client, opts, log);
    return c;
}

// DocumentDB needs change streams enabled per collection before workers can watch it.
async function enableChangeStreams(client, opts, log) {
    try {
        await client.db('admin').command({ modifyChangeStreams: 1, database: opts.database, collection: 'flows', enable: true });
        log.info(`change streams enabled on ${opts.database}.flows`);
    } catch (err) {
        log.warn(`modifyChangeStreams on ${opts.database}.flows failed (${err.message})`);
    }
}

module.exports = { openCollections };

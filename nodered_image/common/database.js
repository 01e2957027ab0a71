'use strict';
// The database contract (nodered_image/database.json) for JavaScript: collections are opened through
// collection() only, which refuses a name the contract lacks and applies the contract's write concern;
// singleton ids, the defaults and the revision query come from the same file the Python side reads.
const LAYOUT = require('../database.json');

const DEFAULTS = Object.freeze({ ...LAYOUT.defaults });

function collectionOptions(name) {
    const spec = LAYOUT.collections[name];
    if (!spec || !Object.hasOwn(LAYOUT.collections, name)) throw new Error(`database.json declares no collection ${JSON.stringify(name)}`);
    return spec.writeConcern ? { writeConcern: { w: spec.writeConcern } } : {};
}

// The collection `name` of database `db` (a driver Db), with the write concern database.json gives it.
function collection(db, name) {
    return db.collection(name, collectionOptions(name));
}

// The _id of a singleton document (database.json singletons), and its collection.
function singleton(name) {
    const s = Object.hasOwn(LAYOUT.singletons, name) ? LAYOUT.singletons[name] : null;
    if (!s) throw new Error(`database.json declares no singleton ${JSON.stringify(name)}`);
    return { collection: s.collection, id: s._id };
}

// The indexes database.json declares on `name`, as createIndex arguments [key, options]; `values`
// resolves an expireAfterSeconds given by name (a default, or the option of that name).
function indexes(name, values = DEFAULTS) {
    collectionOptions(name);
    return LAYOUT.collections[name].indexes.map((ix) => {
        const options = { name: ix.name };
        if (ix.expireAfterSeconds !== undefined) {
            options.expireAfterSeconds = typeof ix.expireAfterSeconds === 'string' ? values[ix.expireAfterSeconds] : ix.expireAfterSeconds;
        }
        return { key: ix.key, options, createdBy: ix.createdBy || null };
    });
}

const REVISION = Object.freeze({
    collection: LAYOUT.revision.collection,
    numbered: LAYOUT.revision.numbered, // the filter of documents that are revisions
    unnumbered: { _id: { $not: LAYOUT.revision.numbered._id } }, // documents in flows that are none
    newestFirst: LAYOUT.revision.newestFirst, // their sort, newest first
    // A projection without the flows and credentials (what a summary of a revision needs not read).
    summary: Object.fromEntries(LAYOUT.revision.content.map((f) => [f, 0])),
});

module.exports = { LAYOUT, DEFAULTS, REVISION, collection, singleton, indexes };

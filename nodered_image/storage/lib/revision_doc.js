'use strict';
// One revision document of the `flows` collection: what it must hold to be loaded, and its identity.
//
//   {_id: rev, rev, deployId, flows, credentials, savedAt, savedBy, deployType, rollbackOf?,
//    restarts?, restartedAt?, restartedBy?}
//
// Identity: a revision is its number *and* its deployId (a random id given at save time), so a
// document that reuses a number (an operator's insert, a restore) is never taken for another one.
// Documents written before deployIds existed are told apart by their number and savedAt.
const { credentialsProblem, isPlainObject, kindOf } = require('./codec');

function revisionKey(doc) {
    if (typeof doc.deployId === 'string' && doc.deployId) return `${doc._id}:${doc.deployId}`;
    const at = doc.savedAt instanceof Date ? doc.savedAt.getTime() : 'unsaved';
    return `${doc._id}@${at}`;
}

// How an _id reads in messages: 12, "zzz", ObjectId("...").
function describeId(id) {
    if (typeof id === 'number') return String(id);
    if (typeof id === 'string') return JSON.stringify(id);
    if (id && typeof id === 'object' && typeof id.toHexString === 'function') return `ObjectId("${id.toHexString()}")`;
    return kindOf(id);
}

const isRevisionNumber = (id) => Number.isSafeInteger(id) && id >= 1;

// Why this document cannot be loaded as a revision, or null. Never throws.
function documentProblem(doc) {
    if (!isPlainObject(doc)) return `it is ${kindOf(doc)}, not a document`;
    if (typeof doc._id !== 'number') return `its _id ${describeId(doc._id)} is not a revision number`;
    if (!isRevisionNumber(doc._id)) return `its _id ${doc._id} is not a whole number from 1`;
    if (!('flows' in doc)) return 'it has no flows field';
    if (!Array.isArray(doc.flows)) return `its flows field is ${kindOf(doc.flows)}, not an array`;
    for (let i = 0; i < doc.flows.length; i++) {
        const n = doc.flows[i];
        if (!isPlainObject(n)) return `flows[${i}] is ${kindOf(n)}, not a node`;
        if (typeof n.id !== 'string' || n.id === '') return `flows[${i}] has no id`;
        if (typeof n.type !== 'string' || n.type === '') return `flows[${i}] (id ${JSON.stringify(n.id)}) has no type`;
    }
    return credentialsProblem(doc.credentials);
}

module.exports = { revisionKey, describeId, documentProblem, isRevisionNumber };

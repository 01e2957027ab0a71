'use strict';
// One revision document of the `flows` collection: what it must hold to be loaded, and its identity.
//
//   {_id: rev, rev, deployId, flowsJson, credentials, savedAt, savedBy, deployType, nodeRedVersion?,
//    rollbackOf?, restarts?, restartedAt?, restartedBy?}
//
// The flows are one JSON string (`flowsJson`): the database stores, copies and sends it to every
// instance's change stream as one value instead of thousands of nested documents (about ten times less
// work for the server on a large flow set, and for each instance's decoding), and every key comes back
// exactly. Revisions written before hold `flows`, an array of nodes with escaped keys (codec.js); they
// are read as ever.
//
// Identity: a revision is its number *and* its deployId (a random id given at save time), so a
// document that reuses a number (an operator's insert, a restore) is never taken for another one.
// Documents written before deployIds existed are told apart by their number and savedAt.
//
// The rules here (documentProblem, newestRevision) and the status command's (nodered_status/revisions.py)
// run the same vectors, test/revision_rules.json.
const { credentialsProblem, decodeKeys, isPlainObject, kindOf } = require('./codec');
const { REVISION } = require('../../common/database');

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

// The nodes a revision document holds: {flows} (keys as deployed), or {problem}. Read once per document.
const readCache = new WeakMap();
function readFlows(doc) {
    if (!isPlainObject(doc)) return { problem: `it is ${kindOf(doc)}, not a document` };
    let read = readCache.get(doc);
    if (!read) {
        read = parseFlows(doc);
        readCache.set(doc, read);
    }
    return read;
}

function parseFlows(doc) {
    let flows;
    if ('flowsJson' in doc) {
        if (typeof doc.flowsJson !== 'string') return { problem: `its flowsJson field is ${kindOf(doc.flowsJson)}, not a string` };
        try {
            flows = JSON.parse(doc.flowsJson);
        } catch {
            return { problem: 'its flowsJson field is not valid JSON' };
        }
        if (!Array.isArray(flows)) return { problem: `its flowsJson field holds ${kindOf(flows)}, not an array` };
    } else {
        if (!('flows' in doc)) return { problem: 'it has no flows field' };
        if (!Array.isArray(doc.flows)) return { problem: `its flows field is ${kindOf(doc.flows)}, not an array` };
        flows = doc.flows;
    }
    for (let i = 0; i < flows.length; i++) {
        const n = flows[i];
        if (!isPlainObject(n)) return { problem: `flows[${i}] is ${kindOf(n)}, not a node` };
        if (typeof n.id !== 'string' || n.id === '') return { problem: `flows[${i}] has no id` };
        if (typeof n.type !== 'string' || n.type === '') return { problem: `flows[${i}] (id ${JSON.stringify(n.id)}) has no type` };
    }
    return { flows: 'flowsJson' in doc ? flows : decodeKeys(flows) };
}

// Why this document cannot be loaded as a revision, or null. Never throws.
function documentProblem(doc) {
    if (!isPlainObject(doc)) return `it is ${kindOf(doc)}, not a document`;
    if (typeof doc._id !== 'number') return `its _id ${describeId(doc._id)} is not a revision number`;
    if (!isRevisionNumber(doc._id)) return `its _id ${doc._id} is not a whole number from 1`;
    const { problem } = readFlows(doc);
    return problem || credentialsProblem(doc.credentials);
}

// What a revision's head needs of its document (its identity, and how often it was restarted).
const HEAD_FIELDS = Object.freeze({ _id: 1, deployId: 1, savedAt: 1, restarts: 1 });

// Numbered revisions of `coll` (flows), newest first (database.json: revision.numbered, newestFirst),
// whether or not they can be loaded: `limit` of them after the newest `skip`.
function newestRevisions(coll, { limit, skip = 0, projection = null }) {
    const options = { sort: REVISION.newestFirst, limit, ...(skip ? { skip } : {}), ...(projection ? { projection } : {}) };
    return coll.find(REVISION.numbered, options).toArray();
}

// The newest revision of `coll`: the numbered document with the highest _id; null when there is none.
async function newestRevision(coll, projection = null) {
    const [doc] = await newestRevisions(coll, { limit: 1, projection });
    return doc || null;
}

module.exports = { revisionKey, describeId, documentProblem, readFlows, isRevisionNumber, newestRevision, newestRevisions, HEAD_FIELDS };

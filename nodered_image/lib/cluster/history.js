'use strict';
// The kept revisions as the status command's `history` lists them, as data: newest first, each with its
// problem if it cannot be loaded, what changed from the loadable revision before it, and which live
// instances serve it or could not start it. The MongoDB mode's rules are nodered_status/listing.py; both
// run the vectors of test/cluster_rules.json.
const { documentProblem, readFlows, describeId } = require('../../storage/lib/revision_doc');
const { diff, summary } = require('./diff');

const iso = (d) => (d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString() : null);
const orNull = (v) => (v === undefined ? null : v);

// Whether an instance record was written within staleAfter seconds (the report's rule for live ones).
function isLive(record, now, staleAfter) {
    return record.lastSeen instanceof Date && (now - record.lastSeen) / 1000 <= staleAfter;
}

// Ids only: the list stays small; GET /cluster/diff has the details.
function changesOf(d) {
    const ids = (list) => list.map((n) => n.id);
    const out = { credentialsChanged: d.credentialsChanged, summary: summary(d) };
    for (const kind of ['tabs', 'subflows', 'nodes']) {
        out[kind] = { added: ids(d[kind].added), removed: ids(d[kind].removed), changed: ids(d[kind].changed) };
    }
    return out;
}

// docs: revision documents newest first (limit + 1 of them: the oldest listed is compared with the one
// before it); instances: the status records; strays: documents of flows whose _id is no number.
function historyRows({ docs, instances, strays = [], now, limit, staleAfter }) {
    const rows = docs.map((doc) => ({ doc, problem: documentProblem(doc) }));
    const live = instances.filter((i) => isLive(i, now, staleAfter));
    const out = rows.slice(0, limit).map((row, i) => {
        const older = row.problem === null ? rows.slice(i + 1).find((r) => r.problem === null) : undefined;
        const d = row.doc;
        const flows = readFlows(d).flows;
        const servedBy = [];
        const failedOn = [];
        for (const inst of live) {
            const role = String(inst.role || '?');
            if (inst.rev === d._id && inst.state === 'running') servedBy.push(role);
            if (inst.failedRev === d._id) failedOn.push({ role, reason: String(inst.failure || '?') });
        }
        return {
            rev: d._id, savedAt: iso(d.savedAt), savedBy: orNull(d.savedBy), deployType: orNull(d.deployType),
            nodeRedVersion: orNull(d.nodeRedVersion), rollbackOf: orNull(d.rollbackOf),
            nodes: Array.isArray(flows) ? flows.length : null, problem: row.problem,
            previousRev: older ? older.doc._id : null, changes: older ? changesOf(diff(older.doc, d)) : null,
            restarts: d.restarts || 0, restartedAt: iso(d.restartedAt), restartedBy: orNull(d.restartedBy),
            // A deploy from files: its message, and the nodes whose credentials the stack lacked (files.js).
            message: orNull(d.message), credentialsMissing: Array.isArray(d.credentialsMissing) ? d.credentialsMissing : [],
            servedBy, failedOn,
        };
    });
    return {
        now: iso(now),
        revisions: out,
        notRevisions: strays.map((s) => ({ id: describeId(s._id), savedBy: orNull(s.savedBy) })),
    };
}

module.exports = { historyRows, isLive };

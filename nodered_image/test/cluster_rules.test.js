'use strict';
// The cluster's rules in the editor (lib/cluster: report.js, diff.js, history.js) against the vectors
// test/cluster_rules.json, which pytest runs against the status command's MongoDB mode too
// (tests/status/test_cluster_rules.py): the two implementations answer the same.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { BSON } = require('mongodb');
const { report } = require('../lib/cluster/report');
const { diff } = require('../lib/cluster/diff');
const { historyRows } = require('../lib/cluster/history');

const VECTORS = BSON.EJSON.parse(fs.readFileSync(path.join(__dirname, 'cluster_rules.json'), 'utf8'), { relaxed: true });

test('status: whether every worker serves the newest revision, and each instance\'s note, as every vector says', () => {
    for (const v of VECTORS.status) {
        const r = report({ records: v.records, newest: v.newest, now: v.now, staleAfter: v.staleAfter });
        const got = {
            inSync: r.inSync,
            instances: r.instances.map((i) => ({ id: i.id, stale: i.stale, problem: i.problem, note: i.note, restarted: i.restarted })),
        };
        assert.deepEqual(got, v.expected, v.name);
    }
});

test('diff: what changed between two revision documents, as every vector says', () => {
    for (const v of VECTORS.diff) assert.deepEqual(diff(v.older, v.newer), v.expected, v.name);
});

test('history: the rows `history` lists, as every vector says', () => {
    for (const v of VECTORS.history) {
        const got = historyRows({ docs: v.docs, strays: v.strays, instances: v.instances, now: v.now, limit: v.limit, staleAfter: v.staleAfter });
        assert.deepEqual(got, v.expected, v.name);
    }
});

'use strict';
// The rules on revision documents against the shared vectors (revision_rules.json), which pytest runs
// against the status command's implementation too (tests/status/test_revision_rules.py): which document
// can be loaded and why not, which is the newest revision, which number a deploy takes next.
const test = require('node:test');
const assert = require('node:assert/strict');
const { BSON } = require('mongodb');
const { startMongo, uniqueDb, MongoClient } = require('./helpers');
const { documentProblem, newestRevision } = require('../lib/revision_doc');
const { nextRevision } = require('../lib/numbering');
const { collection } = require('../../common/database');

const TEXT = require('fs').readFileSync(require('path').join(__dirname, 'revision_rules.json'), 'utf8');
// As the storage reads documents (numbers as numbers), and as they are inserted (a double stays a double).
const VECTORS = BSON.EJSON.parse(TEXT, { relaxed: true });
const STORED = BSON.EJSON.parse(TEXT, { relaxed: false });

let mongo;
let client;

test.before(async () => {
    mongo = await startMongo();
    client = new MongoClient(mongo.url);
});

test.after(async () => {
    if (client) await client.close();
    if (mongo && mongo.stop) await mongo.stop();
});

test('which revision document can be loaded, and why not, as every vector says', () => {
    const wrong = VECTORS.loadable
        .map((v) => ({ name: v.name, expected: v.problem, got: documentProblem(v.doc) }))
        .filter((r) => r.got !== r.expected);
    assert.deepEqual(wrong, []);
});

test('the newest revision is the one every vector names (numbered documents only)', async () => {
    const db = client.db(uniqueDb('newest'));
    for (const [i, v] of VECTORS.newest.entries()) {
        const flows = collection(db, 'flows');
        await flows.deleteMany({});
        if (v.ids.length) await flows.insertMany(STORED.newest[i].ids.map((_id) => ({ _id })));
        const newest = await newestRevision(flows, { _id: 1 });
        assert.deepEqual(newest ? newest._id : null, v.newest, v.name);
    }
});

test('the next revision number is the one every vector gives', async () => {
    const db = client.db(uniqueDb('next'));
    const c = { flows: collection(db, 'flows'), instances: collection(db, 'instances'), counters: collection(db, 'counters') };
    for (const [i, v] of VECTORS.nextNumber.entries()) {
        const stored = STORED.nextNumber[i];
        await Promise.all(Object.values(c).map((coll) => coll.deleteMany({})));
        if (v.counter !== null) await c.counters.insertOne({ _id: 'flows', seq: v.counter });
        if (v.revisions.length) await c.flows.insertMany(stored.revisions.map((_id) => ({ _id, flowsJson: '[]' })));
        if (v.instances.length) await c.instances.insertMany(stored.instances.map((r, n) => ({ _id: `i${n}`, ...r })));
        assert.equal(await nextRevision(c), v.next, v.name);
    }
});

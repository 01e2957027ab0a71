'use strict';
// The audit trail's writes (lib/access/audit.js): records close together are one insert, written a
// moment after the first of them, and whatever is pending is written at once when the trail is read or
// the editor stops (flush).
//
// Guards: every record written on its own the moment it was made (a burst of logins one insert each,
// a deploy's record written while the workers load that deploy); a record made just before the editor
// stopped never written.
const test = require('node:test');
const assert = require('node:assert');
const { AuditTrail } = require('../lib/access/audit');

// A database whose audit collection keeps each insertMany's documents.
function fakeDatabase() {
    const inserts = [];
    const coll = {
        insertMany: async (docs) => {
            inserts.push(docs.map((d) => d.event));
        },
        createIndex: async () => {},
    };
    return { inserts, db: { collection: () => coll } };
}

const waitFor = async (cond, ms) => {
    const end = Date.now() + ms;
    while (!cond()) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
};

test('records made close together are written together, a moment after the first', async () => {
    const { inserts, db } = fakeDatabase();
    const trail = new AuditTrail({ database: () => db, retentionDays: 1 });
    trail.record({ event: 'deploy', user: 'ann' });
    trail.record({ event: 'login.failed', user: 'x' });
    trail.record({ event: 'login.failed', user: 'y' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepStrictEqual(inserts, [], 'nothing written while the deploy that made the record goes on');
    await waitFor(() => inserts.length > 0, 5000);
    assert.deepStrictEqual(inserts, [['deploy', 'login.failed', 'login.failed']]);
});

test('flush writes what is pending at once (the editor stopping, the trail being read)', async () => {
    const { inserts, db } = fakeDatabase();
    const trail = new AuditTrail({ database: () => db, retentionDays: 1 });
    trail.record({ event: 'logout', user: 'ann' });
    await trail.flush();
    assert.deepStrictEqual(inserts, [['logout']]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepStrictEqual(inserts, [['logout']], 'written once');
});

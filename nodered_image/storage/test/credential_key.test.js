'use strict';
// The credential key as the database knows it (lib/credential_key.js): its fingerprint recorded once, an instance
// with another key refusing to serve with the reason, and a rotation that re-encrypts every kept revision without
// any instance reloading for it.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('crypto');
const { startMongo, uniqueDb, fakeRuntime, waitFor, sleep, MongoClient } = require('./helpers');
const { createStorage } = require('../lib/storage');
const { encryptText, decryptText } = require('../lib/credential_cipher');
const { fingerprint } = require('../lib/credential_key');
const { singleton } = require('../../common/database');

const OLD = 'the-old-credential-key-0123456789';
const NEW = 'the-new-credential-key-9876543210';
const KEY_DOC = singleton('credentialKey');

let mongo;
let client;
const opened = [];

test.before(async () => {
    mongo = await startMongo();
    client = new MongoClient(mongo.url);
});

test.after(async () => {
    for (const s of opened) await s.close().catch(() => {});
    if (client) await client.close();
    if (mongo && mongo.stop) await mongo.stop();
});

let counter = 0;
// A storage as settings.js makes it: Node-RED's credentialSecret, and the previous key during a rotation.
// {storage, runtime, ready}: ready resolves when init does (it waits while the instance refuses to serve).
function instance(db, role, key, previous = null) {
    const storage = createStorage();
    const runtime = fakeRuntime();
    runtime.storage = storage;
    opened.push(storage);
    const options = { role, mongoUrl: mongo.url, database: db, instanceId: `${role}-${counter++}`, syncCheckSeconds: 1 };
    if (previous) options.previousCredentialSecret = previous;
    const ready = storage.init({ credentialSecret: key, storageModuleOptions: options }, runtime);
    ready.catch(() => {});
    return { storage, runtime, ready };
}

// A started instance: init done, flows loaded and started as Node-RED does at start.
async function started(db, role, key, previous) {
    const made = instance(db, role, key, previous);
    await made.ready;
    await made.runtime.start();
    await waitFor(() => made.storage.statusInfo().ready || role === 'editor', 10000, `${role} ready`);
    return made;
}

// Node-RED's deploy: the credentials it encrypted with its key, then the flows.
async function deploy(editor, key, marker, secrets) {
    await editor.storage.saveCredentials({ $: encryptText(key, JSON.stringify(secrets)) });
    return editor.storage.saveFlows([{ id: 'tab', type: 'tab' }, { id: `n-${marker}`, type: 'http request', z: 'tab' }], { username: 'admin' });
}

test('the first instance on a database records its key by fingerprint, never the key itself', async () => {
    const db = uniqueDb('first');
    await started(db, 'editor', OLD);
    const doc = await client.db(db).collection(KEY_DOC.collection).findOne({ _id: KEY_DOC.id });
    assert.equal(doc.fingerprint, crypto.createHmac('sha256', OLD).update('nodered-scale credential key fingerprint v1').digest('hex'));
    assert.ok(!JSON.stringify(doc).includes(OLD));
    assert.ok(!JSON.stringify(doc).includes(crypto.createHash('sha256').update(OLD).digest('hex')));
});

test('an instance whose key is not the database\'s refuses to serve and says why, in /healthz, its record and its log', async () => {
    // Guards: an instance with another key loaded revision after revision whose credentials it could not decrypt
    // (a worker) or encrypted the next deploy with a key no worker had (an editor), with nothing saying why.
    const db = uniqueDb('refuse');
    const editor = await started(db, 'editor', OLD);
    await deploy(editor, OLD, 'a', { 'n-a': { user: 'u', password: 'p' } });
    for (const role of ['worker', 'editor']) {
        const stranger = instance(db, role, 'some-other-key-0123456789');
        const info = await waitFor(() => {
            const s = stranger.storage.statusInfo();
            return s.state === 'error' ? s : null;
        }, 10000, 'a refusal');
        assert.equal(info.ready, false);
        assert.match(info.message, /^refusing to serve: NODE_RED_CREDENTIAL_SECRET \(key [0-9a-f]{12}\) is not this database's credential key \(key [0-9a-f]{12}\)/);
        const record = await waitFor(() => client.db(db).collection('instances').findOne({ role, state: 'error' }), 10000, 'its status record');
        assert.equal(record.message, info.message);
        assert.equal(record.credentialKey, fingerprint('some-other-key-0123456789').slice(0, 12));
        assert.ok(stranger.runtime.logs.some(([level, m]) => level === 'error' && m === `[storage] ${info.message}`), 'one log line says why');
        assert.equal(stranger.runtime.loads.length, 0, 'it loads no flows');
        await stranger.storage.close();
        await assert.rejects(stranger.ready, /refusing to serve/);
    }
});

test('a database written before fingerprints were kept is recorded only by an instance whose key decrypts it', async () => {
    const db = uniqueDb('legacy');
    const editor = await started(db, 'editor', OLD);
    await deploy(editor, OLD, 'a', { 'n-a': { token: 't' } });
    await editor.storage.close();
    await client.db(db).collection(KEY_DOC.collection).deleteMany({});
    const stranger = instance(db, 'worker', NEW);
    const info = await waitFor(() => (stranger.storage.statusInfo().state === 'error' ? stranger.storage.statusInfo() : null));
    assert.match(info.message, /the credentials of revision 1 do not decrypt with NODE_RED_CREDENTIAL_SECRET/);
    assert.equal(await client.db(db).collection(KEY_DOC.collection).countDocuments(), 0, 'a wrong key records nothing');
    await started(db, 'worker', OLD);
    // The key recorded now is still not the refused one's.
    assert.equal(stranger.storage.statusInfo().state, 'error');
    assert.equal((await client.db(db).collection(KEY_DOC.collection).findOne({})).fingerprint, fingerprint(OLD));
});

test('a rotation re-encrypts every kept revision in place, no instance reloads for it, and the old key is refused after', async () => {
    const db = uniqueDb('rotate');
    const flowsColl = client.db(db).collection('flows');
    const editor = await started(db, 'editor', OLD);
    const secrets = [1, 2, 3].map((i) => ({ [`n-${i}`]: { user: `u${i}`, password: `p${i} ✓` } }));
    for (const [i, s] of secrets.entries()) await deploy(editor, OLD, String(i + 1), s);
    // A deploy that leaves the credentials alone stores the ones before (the same ciphertext).
    await editor.storage.saveFlows([{ id: 'tab', type: 'tab' }, { id: 'n-3', type: 'http request', z: 'tab' }, { id: 'x', type: 'inject', z: 'tab' }]);
    secrets.push(secrets[2]);
    const before = await flowsColl.find({}).sort({ _id: 1 }).toArray();
    const oldWorker = await started(db, 'worker', OLD);
    // A worker with both keys while the database is still on the old one: admitted, Node-RED gets the new key's.
    const bothWorker = await started(db, 'worker', NEW, OLD);
    assert.deepEqual(JSON.parse(decryptText(NEW, (await bothWorker.storage.getCredentials()).$)), secrets[2]);
    // Deploys wait while a live worker runs another key than the editor's.
    assert.match((await editor.storage.deployProblems()).otherKey, /^1 worker runs another credential key than this editor's/);
    const loads = [oldWorker.runtime.loads.length, bothWorker.runtime.loads.length];

    await editor.storage.close();
    const rotating = await started(db, 'editor', NEW, OLD);
    const after = await flowsColl.find({}).sort({ _id: 1 }).toArray();
    assert.deepEqual(after.map((d) => [d._id, d.deployId, d.flowsJson]), before.map((d) => [d._id, d.deployId, d.flowsJson]),
        'the same revisions: numbers, identities and flows');
    for (const [i, doc] of after.entries()) {
        assert.notEqual(doc.credentials.encrypted, before[i].credentials.encrypted);
        assert.deepEqual(JSON.parse(decryptText(NEW, doc.credentials.encrypted)), secrets[i], `revision ${doc._id} under the new key`);
    }
    assert.equal(before[3].credentials.encrypted, before[2].credentials.encrypted);
    assert.equal(after[3].credentials.encrypted, after[2].credentials.encrypted, 'shared credentials stay shared');
    const key = await client.db(db).collection(KEY_DOC.collection).findOne({ _id: KEY_DOC.id });
    assert.equal(key.fingerprint, fingerprint(NEW));
    assert.equal(key.previous, fingerprint(OLD));
    assert.ok(rotating.runtime.logs.some(([, m]) => /^\[storage\] credential key rotated: 4 revisions re-encrypted with key/.test(m)));
    // Re-encryption in place is no change of a revision: nobody reloaded, everybody still serves.
    await sleep(500);
    assert.deepEqual([oldWorker.runtime.loads.length, bothWorker.runtime.loads.length], loads);
    assert.equal(oldWorker.storage.statusInfo().ready, true);
    assert.equal(bothWorker.storage.statusInfo().ready, true);

    // After the switch: the new key alone is enough; the old key alone is refused, naming the rotation.
    const newWorker = await started(db, 'worker', NEW);
    assert.deepEqual(JSON.parse(decryptText(NEW, (await newWorker.storage.getCredentials()).$)), secrets[2]);
    const late = instance(db, 'worker', OLD);
    const info = await waitFor(() => (late.storage.statusInfo().state === 'error' ? late.storage.statusInfo() : null));
    assert.match(info.message, /^refusing to serve: NODE_RED_CREDENTIAL_SECRET \(key [0-9a-f]{12}\) is the key this database's credentials were rotated away from on \d{4}-/);
    // A revision that came back with the previous key's credentials (a rollback or restore meanwhile) is
    // re-encrypted by the rotating editor's next look.
    await flowsColl.updateOne({ _id: 2 }, { $set: { credentials: before[1].credentials } });
    await waitFor(async () => {
        const doc = await flowsColl.findOne({ _id: 2 });
        return doc.credentials.encrypted !== before[1].credentials.encrypted;
    }, 10000, 'the revision re-encrypted again');
    assert.deepEqual(JSON.parse(decryptText(NEW, (await flowsColl.findOne({ _id: 2 })).credentials.encrypted)), secrets[1]);
});

test('an instance with only the new key waits, refusing, until the editor has rotated the database', async () => {
    const db = uniqueDb('early');
    const editor = await started(db, 'editor', OLD);
    await deploy(editor, OLD, 'a', { 'n-a': { user: 'u' } });
    await editor.storage.close();
    const early = instance(db, 'worker', NEW);
    await waitFor(() => early.storage.statusInfo().state === 'error', 10000, 'a refusal');
    await started(db, 'editor', NEW, OLD);
    await early.ready; // it looks again every few seconds and starts once the database is on its key
    await early.runtime.start();
    await waitFor(() => early.storage.statusInfo().ready, 10000, 'the early worker ready');
    assert.ok(early.runtime.logs.some(([, m]) => m === '[storage] the credential key is the database\'s now: starting'));
});

'use strict';
// Atomic operations on the shared store's global keys (what global.get(key, 'shared') reads): each write
// is ONE single-document update whose filter states its condition, so it holds on MongoDB and DocumentDB
// alike (no transactions, no server-side JavaScript, no retried writes). A write the database did not
// acknowledge (an outage, a timeout) is the caller's error; a document is never left half-changed.
//
//   incr(key, n)                     $inc of a number (a missing key counts from 0), the new number back
//   compareAndSet(key, expected, v)  read, compare as canonical JSON, write only if `v` (the document's
//                                    write counter) did not move meanwhile
//   deleteIfEqual(key, expected)     the same, deleting
//   lock(key, ttlSeconds)            a grant when the lock is free or expired: the key's value becomes
//                                    {token, expiresAt}; the token grows with every grant of the key
//   unlock(key, token)               frees the lock only while `token` holds it and it has not expired
//
// Lock expiry compares the instances' clocks (the database's clock cannot be read in a filter on every
// server): keep them in sync (NTP; ECS tasks are).
const { encode, decode, refuseLoneSurrogate } = require('./codec');
const { parseKey } = require('./paths');

const SCOPE = 'global';
const ATTEMPTS = 20;

// The JSON of a value with every object's keys sorted: two values are equal when theirs are.
function canonical(value) {
    return JSON.stringify(value, (_key, v) => {
        if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
        return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
    });
}

const isDuplicate = (err) => err && err.code === 11000;

class AtomicOps {
    // store: the SharedContextStore (its collection() and document fields); docId(scope, key): its ids.
    constructor(store, docId) {
        this.store = store;
        this.docId = docId;
    }

    fields(scope, key) {
        return this.store.fields(scope, key);
    }

    // The document id of a top-level global key; anything else is refused before the database is asked.
    idOf(key) {
        if (typeof key !== 'string' || key === '') throw new TypeError('shared: the key must be a non-empty string');
        refuseLoneSurrogate(key, `the key ${JSON.stringify(key)}`);
        if (parseKey(key).nested) throw new Error(`shared: ${JSON.stringify(key)} is a nested key; atomic operations take a top-level key`);
        return this.docId(SCOPE, key);
    }

    counted(set) {
        return { $set: { ...this.fields(SCOPE, set.key), ...set.fields }, $currentDate: { updatedAt: true } };
    }

    async incr(key, n = 1) {
        if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError('shared.incr: the increment must be a finite number');
        const _id = this.idOf(key);
        const coll = await this.store.collection();
        const update = { ...this.counted({ key }), $inc: { value: n, v: 1 } };
        for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
            // Matches only while the key holds a number. (No upsert: on SecantusDB, the tests' server, an
            // upsert that raced another's insert is applied yet answered with null.)
            const doc = await coll.findOneAndUpdate({ _id, value: { $type: 'number' } }, update, { returnDocument: 'after', projection: { value: 1 } });
            if (doc) return doc.value;
            if (await this.create(coll, _id, key, n)) return n;
            const held = await coll.findOne({ _id }, { projection: { value: 1 } });
            if (held && Object.is(decode(held.value), -0)) { // stored as a tag, not as a BSON number
                const r = await coll.updateOne({ _id, value: held.value }, { ...this.counted({ key, fields: { value: n } }), $inc: { v: 1 } });
                if (r.matchedCount === 1) return n;
            } else if (held && typeof held.value !== 'number') throw new Error(`shared.incr: ${JSON.stringify(key)} holds ${describe(decode(held.value))}, not a number`);
        }
        throw new Error(`shared.incr: ${JSON.stringify(key)} kept changing under ${ATTEMPTS} attempts`);
    }

    // Inserts the key holding `stored`; false when it exists (another instance created it meanwhile).
    create(coll, _id, key, stored) {
        return coll.insertOne({ _id, ...this.fields(SCOPE, key), value: stored, v: 1, updatedAt: new Date() })
            .then(() => true, (err) => {
                if (isDuplicate(err)) return false;
                throw err;
            });
    }

    // true when the key held `expected` (undefined: the key did not exist) and now holds `value`
    // (undefined: deleted).
    async compareAndSet(key, expected, value) {
        const _id = this.idOf(key);
        const stored = value === undefined ? undefined : encode(value); // refused before anything is written
        return this.ifEqual(key, _id, expected, async (coll, doc) => {
            if (value === undefined) return doc ? (await coll.deleteOne({ _id, v: doc.v })).deletedCount === 1 : true;
            if (doc) {
                const r = await coll.updateOne({ _id, v: doc.v }, { ...this.counted({ key, fields: { value: stored } }), $inc: { v: 1 } });
                return r.matchedCount === 1;
            }
            return this.create(coll, _id, key, stored);
        });
    }

    // true when the key held `expected` and this call deleted it.
    async deleteIfEqual(key, expected) {
        const _id = this.idOf(key);
        if (expected === undefined) return false; // nothing to delete
        return this.ifEqual(key, _id, expected, async (coll, doc) => (await coll.deleteOne({ _id, v: doc.v })).deletedCount === 1);
    }

    // Reads the key and, while it holds `expected`, runs write(coll, doc) (doc null: no such key), whose
    // filter on `v` lands only if nobody wrote the key since the read; a write that did not land is tried
    // again from a fresh read.
    async ifEqual(key, _id, expected, write) {
        const want = canonical(expected);
        const coll = await this.store.collection();
        for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
            const doc = await coll.findOne({ _id }, { projection: { value: 1, v: 1 } });
            const held = doc ? canonical(decode(doc.value)) : undefined;
            if (held !== want) return false;
            if (await write(coll, doc)) return true;
        }
        throw new Error(`shared: ${JSON.stringify(key)} kept changing under ${ATTEMPTS} attempts`);
    }

    // A token (a number, larger than any token granted for this key before), or null while another holder's
    // lock has not expired.
    async lock(key, ttlSeconds) {
        if (typeof ttlSeconds !== 'number' || !(ttlSeconds > 0) || !Number.isFinite(ttlSeconds)) {
            throw new TypeError('shared.lock: ttlSeconds must be a positive number');
        }
        const _id = this.idOf(key);
        const coll = await this.store.collection();
        const now = Date.now();
        const free = { $or: [{ 'value.expiresAt': null }, { 'value.expiresAt': { $lte: new Date(now) } }] };
        const expiresAt = new Date(now + ttlSeconds * 1000);
        const grant = { ...this.counted({ key, fields: { 'value.expiresAt': expiresAt } }), $inc: { 'value.token': 1, v: 1 } };
        for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
            // Matches a lock that is free or expired (no upsert: see incr).
            const doc = await coll.findOneAndUpdate({ _id, 'value.token': { $type: 'number' }, ...free }, grant, { returnDocument: 'after', projection: { value: 1 } });
            if (doc) return doc.value.token;
            if (await this.create(coll, _id, key, { token: 1, expiresAt })) return 1;
            const held = await coll.findOne({ _id }, { projection: { value: 1 } });
            if (!held) continue; // deleted meanwhile: try again
            if (!isLock(held.value)) throw new Error(`shared.lock: ${JSON.stringify(key)} holds ${describe(decode(held.value))}, not a lock`);
            if (held.value.expiresAt > new Date(now)) return null;
        }
        throw new Error(`shared.lock: ${JSON.stringify(key)} kept changing under ${ATTEMPTS} attempts`);
    }

    // true when `token` held the lock, unexpired, and this call freed it; false otherwise (another grant
    // since, it had expired, or it was freed already): a late unlock never frees a newer holder's lock.
    async unlock(key, token) {
        const _id = this.idOf(key);
        if (typeof token !== 'number') return false;
        const coll = await this.store.collection();
        const r = await coll.updateOne(
            { _id, 'value.token': token, 'value.expiresAt': { $gt: new Date() } },
            { ...this.counted({ key, fields: { 'value.expiresAt': null } }), $inc: { v: 1 } },
        );
        return r.matchedCount === 1;
    }
}

const isLock = (value) => value && typeof value === 'object' && typeof value.token === 'number' && Object.hasOwn(value, 'expiresAt');

function describe(value) {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

module.exports = { AtomicOps, canonical };

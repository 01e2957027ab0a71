'use strict';
// The `shared` context store: Node-RED's context store API (open, close, get, set, keys, delete, clean)
// on a MongoDB collection every instance of the stack uses, so a value one instance sets is what every
// other instance gets.
//
// One document per scope and top-level key ("global"/"count", "<flow id>"/"state", ...):
//   {_id: '["<scope>","<key>"]', scope, key, node, value, v, updatedAt, updatedBy}
// `node` is the scope's node or flow id (what clean() keeps or removes), `v` counts the writes. A nested
// key through objects ("a.b.c") is one update of that field in key "a"'s document (nested.js); any other
// nested key ("a.list[0]", or under a value that is no object) is a read-modify-write of key "a" that
// only lands if `v` did not move meanwhile, retried. Writes are acknowledged by a majority of the
// replica set before the callback runs.
//
// Asynchronous only: get and keys need a callback (a synchronous call throws and says so); set without
// one writes in the background. No database: the callback gets the driver's error, never undefined,
// within `timeoutMS` (5 s) whether the server refuses connections or hangs (see collection()).
const { MongoClient } = require('mongodb');
const { DEFAULTS, collection, indexes } = require('../../common/database');
const { encode, decode, refuseLoneSurrogate } = require('./codec');
const { parseKey, getPath, setPath } = require('./paths');
const { fieldPath, parentsAreObjects } = require('./nested');
const { log } = require('./nodered');
const { AtomicOps } = require('./atomic');

const CAS_ATTEMPTS = 20;
const SYNC_ERROR = 'the shared context store is asynchronous: pass a callback, e.g. ' +
    'global.get("key", "shared", (err, value) => { ... })';

const docId = (scope, top) => JSON.stringify([scope, top]);
// Where the open store of this process is found by the `nodered-scale-shared` module function nodes load
// (its own package, so it shares no module instance with this one).
const REGISTRY = Symbol.for('nodered-scale.sharedContextStore');
const nodeOf = (scope) => scope.split(':')[0];

function readConfig(config) {
    const c = config || {};
    if (!c.mongoUrl) throw new Error('shared context store: config.mongoUrl is required');
    return {
        mongoUrl: c.mongoUrl,
        database: c.database || DEFAULTS.database,
        role: c.role || 'worker',
        instanceId: c.instanceId || null,
        tlsCAFile: c.tlsCAFile || null,
        timeoutMS: c.timeoutMS || 5000,
    };
}

// Calls a flow's callback; an exception it throws is logged, never left to crash the process.
function deliver(callback, args) {
    try {
        callback(...args);
    } catch (err) {
        log.error(`[shared context] a context callback threw: ${err && err.stack ? err.stack : err}`);
    }
}

class SharedContextStore {
    constructor(config) {
        this.opts = readConfig(config);
        this.ready = null; // connecting or connected: resolves with {client, coll}
        this.closed = false;
        this.indexed = false;
        this.cleanedFor = null; // the active node and flow ids of the last clean, once it completed
        this.cleans = 0;
        this.atomic = new AtomicOps(this, docId);
    }

    // Node-RED opens stores before it starts the flows. The editor connects and makes the indexes first,
    // within the driver's server selection timeout, then goes on without them if it must. A worker connects
    // at its flows' first use of the store: a worker whose flows never use it keeps no second connection
    // to the database (its monitoring alone costs an idle worker about as much CPU as the storage's).
    async open() {
        this.closed = false;
        globalThis[REGISTRY] = this;
        if (this.opts.role === 'editor') await this.collection().catch(() => {});
    }

    async close() {
        this.closed = true;
        if (globalThis[REGISTRY] === this) delete globalThis[REGISTRY];
        const ready = this.ready;
        this.ready = null;
        if (ready) await ready.then(({ client }) => client.close(), () => {}).catch(() => {});
    }

    // The collection once connected. A failed first connection is not kept (the driver would fail every
    // later operation on it): the next operation connects again. Once connected, the driver rides out
    // outages by itself.
    //
    // Every wait of an operation is bounded by timeoutMS on the client's side, so an operation ends
    // within it on any server (nothing is sent to the server: MongoDB and DocumentDB alike): choosing a
    // server (none answers: refused or down), opening a connection (a hung server accepts it and never
    // answers the handshake), waiting for a free connection, and the answer itself (a hung server). The
    // store's operations are single documents and short queries; nothing here waits longer on purpose
    // (the storage's change streams wait 10 s, on their own client). Without the socket timeout an
    // operation on a hung server waited for the driver's monitor to give up on it: 35-45 s.
    // No retried reads: a retry would get a second full timeout. The monitor polls (every 10 s, and at
    // once when an operation finds the server unknown) instead of streaming: a streamed answer that
    // was pending when the server hung arrives only up to 10 s after it resumes, and until then every
    // operation fails. A write that timed out may still be applied if the server resumes.
    collection() {
        if (this.closed) return Promise.reject(new Error('shared context store is closed'));
        if (!this.ready) {
            const o = this.opts;
            const options = {
                appName: `nodered-scale-context-${o.role}`,
                serverSelectionTimeoutMS: o.timeoutMS,
                connectTimeoutMS: o.timeoutMS,
                socketTimeoutMS: o.timeoutMS,
                waitQueueTimeoutMS: o.timeoutMS,
                retryReads: false,
                serverMonitoringMode: 'poll',
                retryWrites: false, // DocumentDB has none
                promoteBuffers: true,
            };
            if (o.tlsCAFile) Object.assign(options, { tls: true, tlsCAFile: o.tlsCAFile });
            const client = new MongoClient(o.mongoUrl, options);
            // The pool's check every 10 s instead of 10 times a second, as the storage's client
            // (storage/lib/connect.js says why and how).
            client.options.minPoolSizeCheckFrequencyMS = 10000;
            // `context` as database.json declares it: every write acknowledged by a majority.
            const coll = collection(client.db(o.database), 'context');
            const ready = client.connect().then(
                async () => {
                    if (o.role === 'editor') await this.ensureIndexes(coll);
                    return { client, coll };
                },
                async (err) => {
                    if (this.ready === ready) this.ready = null;
                    await client.close().catch(() => {});
                    throw err;
                },
            );
            this.ready = ready;
        }
        return this.ready.then((r) => r.coll);
    }

    // The editor's, before any operation of its own: on a new collection, SecantusDB (the tests' server)
    // can deadlock an index build against a concurrent first write, so only one process builds them.
    async ensureIndexes(coll) {
        if (this.indexed) return;
        try {
            for (const ix of indexes('context')) await coll.createIndex(ix.key, ix.options); // scope, node
            this.indexed = true;
        } catch (err) {
            log.warn(`[shared context] could not create indexes (${err.message}); clean() will try again`);
        }
    }

    get(scope, key, callback) {
        if (typeof callback !== 'function') throw new Error(SYNC_ERROR);
        const keys = Array.isArray(key) ? key : [key];
        this.read(scope, keys).then(
            (values) => deliver(callback, [undefined, ...values]),
            (err) => deliver(callback, [err]),
        );
    }

    async read(scope, keys) {
        const tops = keys.map((k) => parseKey(k).top);
        const ids = [...new Set(tops.map((t) => docId(scope, t)))];
        const coll = await this.collection();
        const docs = ids.length === 1
            ? [await coll.findOne({ _id: ids[0] }, { projection: { key: 1, value: 1 } })]
            : await coll.find({ _id: { $in: ids } }, { projection: { key: 1, value: 1 } }).toArray();
        const byTop = new Map(docs.filter(Boolean).map((d) => [d.key, d.value]));
        return keys.map((k, i) => {
            if (!byTop.has(tops[i])) return undefined;
            return getPath({ [tops[i]]: decode(byTop.get(tops[i])) }, k);
        });
    }

    set(scope, key, value, callback) {
        const keys = Array.isArray(key) ? key : [key];
        // As the memory store: a single value for several keys is the first key's; missing ones are null.
        const values = Array.isArray(key) ? (Array.isArray(value) ? value : [value]) : [value];
        const writes = async () => {
            for (let i = 0; i < keys.length; i++) await this.write(scope, keys[i], i < values.length ? values[i] : null);
        };
        writes().then(
            () => callback && deliver(callback, [undefined]),
            (err) => {
                if (callback) deliver(callback, [err]);
                else log.warn(`[shared context] set of ${JSON.stringify(key)} in ${scope} failed: ${err.message}`);
            },
        );
    }

    async write(scope, key, value) {
        refuseLoneSurrogate(String(key), `the key ${JSON.stringify(key)}`);
        const { top, nested, below } = parseKey(key);
        const _id = docId(scope, top);
        if (!nested) {
            const update = value === undefined ? null : this.update(scope, top, value);
            const coll = await this.collection();
            if (update) await coll.updateOne({ _id }, update, { upsert: true });
            else await coll.deleteOne({ _id });
            return;
        }
        const path = fieldPath(below);
        const stored = path && value !== undefined ? encode(value) : undefined; // refused before anything is written
        const coll = await this.collection();
        for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
            if (path && await this.setField(coll, { _id, scope, top, path, value, stored })) return;
            if (await this.rewrite(coll, { _id, scope, top, key, value })) return;
        }
        throw new Error(`shared context: ${scope} ${JSON.stringify(key)} kept changing under ${CAS_ATTEMPTS} attempts to set it`);
    }

    // One update of the field (nested.js); false when the document holds something else than objects
    // along the path (or another instance created it an instant before).
    async setField(coll, { _id, scope, top, path, value, stored }) {
        const filter = { _id, ...parentsAreObjects(path) };
        const field = path.join('.');
        const counted = { $inc: { v: 1 }, $currentDate: { updatedAt: true } };
        if (value === undefined) {
            // Nothing to remove where the document does not exist: the compare-and-set says so.
            const r = await coll.updateOne(filter, { $unset: { [field]: '' }, $set: { updatedBy: this.opts.instanceId }, ...counted });
            return r.matchedCount === 1;
        }
        try {
            await coll.updateOne(filter, { $set: { ...this.fields(scope, top), [field]: stored }, ...counted }, { upsert: true });
            return true;
        } catch (err) {
            if (err.code === 11000) return false; // the document exists but did not match: not objects along the path
            throw err;
        }
    }

    // Read the document, change it as Node-RED would (paths.js), and write it back only if nobody wrote it
    // in between; false when somebody did.
    async rewrite(coll, { _id, scope, top, key, value }) {
        const doc = await coll.findOne({ _id });
        const holder = doc ? { [top]: decode(doc.value) } : {};
        setPath(holder, key, value);
        if (!Object.hasOwn(holder, top)) return !doc || (await coll.deleteOne({ _id, v: doc.v })).deletedCount === 1;
        if (doc) return (await coll.updateOne({ _id, v: doc.v }, this.update(scope, top, holder[top]))).matchedCount === 1;
        return coll.insertOne({ _id, ...this.fields(scope, top), value: encode(holder[top]), v: 1, updatedAt: new Date() })
            .then(() => true, (err) => {
                if (err.code === 11000) return false; // another instance created it first
                throw err;
            });
    }

    fields(scope, top) {
        return { scope, key: top, node: nodeOf(scope), updatedBy: this.opts.instanceId };
    }

    update(scope, top, value) {
        return { $set: { ...this.fields(scope, top), value: encode(value) }, $inc: { v: 1 }, $currentDate: { updatedAt: true } };
    }

    // Atomic operations on global keys (atomic.js), as promises: what the nodered-scale-shared module offers.
    incr(key, n) {
        return this.atomic.incr(key, n);
    }

    compareAndSet(key, expected, value) {
        return this.atomic.compareAndSet(key, expected, value);
    }

    deleteIfEqual(key, expected) {
        return this.atomic.deleteIfEqual(key, expected);
    }

    lock(key, ttlSeconds) {
        return this.atomic.lock(key, ttlSeconds);
    }

    unlock(key, token) {
        return this.atomic.unlock(key, token);
    }

    keys(scope, callback) {
        if (typeof callback !== 'function') throw new Error(SYNC_ERROR);
        const found = async () => {
            const docs = await (await this.collection()).find({ scope }, { projection: { key: 1 } }).toArray();
            const keys = docs.map((d) => d.key);
            // As the memory store: the global context's own methods are never keys.
            return scope === 'global' ? keys.filter((k) => !['set', 'get', 'keys'].includes(k)) : keys;
        };
        found().then((keys) => deliver(callback, [null, keys]), (err) => deliver(callback, [err]));
    }

    async delete(scope) {
        await (await this.collection()).deleteMany({ scope });
    }

    // Node-RED calls this on every instance after each deploy or reload, with every node and flow id of
    // the flows it now has. Only the editor removes anything: it has the newest flows first, while a
    // worker still on the previous revision would remove the context of nodes just added. Runs in the
    // background: Node-RED starts no flows until clean() settles, and must not wait for the database.
    // When no id the editor's last clean kept is gone, there is nothing new to remove and it sends nothing
    // (a write wakes every instance's change streams). A value a worker still on an older revision writes
    // for a deleted node meanwhile stays until the next deploy that removes a node or flow.
    clean(activeNodes) {
        if (this.opts.role !== 'editor' || this.closed) return Promise.resolve();
        const active = new Set(activeNodes);
        const before = this.cleanedFor;
        if (before && [...before].every((id) => active.has(id))) {
            this.cleanedFor = active;
            return Promise.resolve();
        }
        this.cleanedFor = null;
        const seq = ++this.cleans;
        this.collection().then(async (coll) => {
            await this.ensureIndexes(coll);
            return coll.deleteMany({ scope: { $ne: 'global' }, node: { $nin: activeNodes } });
        }).then(
            (r) => {
                if (seq === this.cleans) this.cleanedFor = active;
                if (r.deletedCount) log.info(`[shared context] removed ${r.deletedCount} values of deleted nodes and flows`);
            },
            (err) => log.warn(`[shared context] could not remove the context of deleted nodes (${err.message})`),
        );
        return Promise.resolve();
    }
}

module.exports = { SharedContextStore, SYNC_ERROR, REGISTRY };

'use strict';
// Node-RED's runtime settings and the editor's login sessions, one document each (database.json's
// settings and sessions singletons). Only the editor writes them; a worker keeps what Node-RED hands it in
// memory (Node-RED saves settings itself at startup). A worker reads the editor's settings until it
// has its own; it has no editor, so no login sessions of the editor's to read.
const { singleton } = require('../../common/database');
const { encodeKeys, decodeKeys } = require('./codec');

class SingletonDocument {
    // {collection, id}: the singleton (database.js); field: what holds the value.
    constructor(collections, role, { collection, id }, { field, workerReads }) {
        this.coll = collections[collection];
        this.id = id;
        this.field = field;
        this.role = role;
        this.workerReads = workerReads;
        this.local = null;
    }

    async get() {
        if (this.role === 'worker' && (this.local || !this.workerReads)) return this.local || {};
        const doc = await this.coll.findOne({ _id: this.id });
        return doc && doc[this.field] ? decodeKeys(doc[this.field]) : {};
    }

    async save(value) {
        if (this.role === 'worker') {
            this.local = value;
            return;
        }
        await this.coll.replaceOne({ _id: this.id }, { [this.field]: encodeKeys(value), savedAt: new Date() }, { upsert: true });
    }
}

// collections: the storage's, by name (collections.js).
const settingsDocument = (collections, role) => new SingletonDocument(collections, role, singleton('settings'),
    { field: 'settings', workerReads: true });
const sessionsDocument = (collections, role) => new SingletonDocument(collections, role, singleton('sessions'),
    { field: 'sessions', workerReads: false });

module.exports = { settingsDocument, sessionsDocument };

'use strict';
// Node-RED's runtime settings and the editor's login sessions, one document each. Only the editor
// writes them; a worker keeps what Node-RED hands it in memory (Node-RED saves settings itself at startup).
const { encodeKeys, decodeKeys } = require('./codec');

class Settings {
    constructor(coll, role) {
        this.coll = coll;
        this.role = role;
        this.local = null;
    }

    async get() {
        if (this.role === 'worker' && this.local) return this.local;
        const doc = await this.coll.findOne({ _id: 'settings' });
        return doc && doc.settings ? decodeKeys(doc.settings) : {};
    }

    async save(settings) {
        if (this.role === 'worker') {
            this.local = settings;
            return;
        }
        await this.coll.replaceOne({ _id: 'settings' }, { settings: encodeKeys(settings), savedAt: new Date() }, { upsert: true });
    }
}

// A worker has no editor, so no login sessions of the editor's to read.
class Sessions {
    constructor(coll, role) {
        this.coll = coll;
        this.role = role;
        this.local = null;
    }

    async get() {
        if (this.role === 'worker') return this.local || {};
        const doc = await this.coll.findOne({ _id: 'sessions' });
        return doc && doc.sessions ? decodeKeys(doc.sessions) : {};
    }

    async save(sessions) {
        if (this.role === 'worker') {
            this.local = sessions;
            return;
        }
        await this.coll.replaceOne({ _id: 'sessions' }, { sessions: encodeKeys(sessions), savedAt: new Date() }, { upsert: true });
    }
}

module.exports = { Settings, Sessions };

'use strict';
// Library entries (snippets, flows, function code) in one collection, one document per entry:
// {_id: "<type>:<path>", type, path, meta, body, savedAt}. Directory listings are derived from
// the paths and shaped like Node-RED's file storage returns them: sub-directory names first,
// then {…meta, fn} per entry, each sorted by name.
const { encodeKeys, decodeKeys } = require('./codec');

function normalize(path) {
    return String(path || '').replace(/\\/g, '/').replace(/\/+/g, '/').replace(/^\//, '');
}

const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function notFound(path) {
    const err = new Error(`Library Entry not found ${path}`);
    err.code = 'not_found';
    return err;
}

class Library {
    constructor(collection) {
        this.coll = collection;
    }

    async get(type, path) {
        const p = normalize(path);
        const isDirPath = p === '' || p.endsWith('/');
        if (!isDirPath) {
            const names = type === 'flows' && !p.endsWith('.json') ? [p, `${p}.json`] : [p];
            for (const name of names) {
                const doc = await this.coll.findOne({ _id: `${type}:${name}` }, { projection: { body: 1 } });
                if (doc) return doc.body;
            }
        }
        const prefix = p === '' ? '' : p.replace(/\/$/, '') + '/';
        const docs = await this.coll
            .find({ type, path: { $regex: `^${escapeRegex(prefix)}` } }, { projection: { path: 1, meta: 1 } })
            .toArray();
        if (docs.length === 0) {
            if (isDirPath) return [];
            throw notFound(path);
        }
        const dirs = new Set();
        const files = [];
        for (const d of docs) {
            const rest = d.path.slice(prefix.length);
            const slash = rest.indexOf('/');
            if (slash >= 0) dirs.add(rest.slice(0, slash));
            else files.push({ ...decodeKeys(d.meta || {}), fn: rest });
        }
        files.sort((a, b) => (a.fn < b.fn ? -1 : a.fn > b.fn ? 1 : 0));
        return [...[...dirs].sort(), ...files];
    }

    async save(type, path, meta, body) {
        let p = normalize(path);
        if (type === 'flows' && !p.endsWith('.json')) p += '.json';
        if (p === '' || p.endsWith('/')) throw new Error(`library path must name an entry, got ${JSON.stringify(path)}`);
        await this.coll.replaceOne(
            { _id: `${type}:${p}` },
            { type, path: p, meta: encodeKeys(meta || {}), body: body == null ? '' : String(body), savedAt: new Date() },
            { upsert: true },
        );
    }
}

module.exports = { Library, normalize };

'use strict';
// Stored shapes that MongoDB 6+ and DocumentDB 5 both accept: object keys escaped with the one scheme
// of common/stored_keys.js (values untouched), so decoding gives back every key exactly, `__proto__`
// included.
//
// What cannot be stored exactly is refused before anything is written (storageProblem): a lone
// UTF-16 surrogate (BSON strings are UTF-8, the server would store U+FFFD instead), a `__proto__`
// key (Node-RED's own copy of a deploy drops it before the storage sees it), nesting deeper than
// MongoDB keeps.
const { encodeKey, decodeKey, isPlainObject, setOwn, hasLoneSurrogate, LONE_SURROGATE_WHY } = require('../../common/stored_keys');

function mapKeys(value, fn) {
    if (Array.isArray(value)) return value.map((v) => mapKeys(v, fn));
    if (isPlainObject(value)) {
        const out = {};
        for (const k of Object.keys(value)) setOwn(out, fn(k), mapKeys(value[k], fn));
        return out;
    }
    return value;
}

const encodeKeys = (value) => mapKeys(value, encodeKey);
const decodeKeys = (value) => mapKeys(value, decodeKey);

// Node-RED hands over encrypted credentials as {"$": "<ciphertext>"}; store that as
// {encrypted: "<ciphertext>"}. Anything else (no credential secret) is stored key-escaped.
function encodeCredentials(creds) {
    if (creds == null) return null;
    const keys = Object.keys(creds);
    if (keys.length === 1 && keys[0] === '$' && typeof creds.$ === 'string') return { encrypted: creds.$ };
    return { plain: encodeKeys(creds) };
}

function decodeCredentials(stored) {
    if (stored == null) return {};
    if (typeof stored.encrypted === 'string') return { $: stored.encrypted };
    if (stored.plain) return decodeKeys(stored.plain);
    return {};
}

// Why a stored form of `stored` (already encoded) is not usable as credentials, or null.
function credentialsProblem(stored) {
    if (stored == null) return null;
    if (!isPlainObject(stored)) return `its credentials field is ${kindOf(stored)}, not {encrypted: "<ciphertext>"}`;
    if ('encrypted' in stored) {
        return typeof stored.encrypted === 'string' ? null : `its credentials.encrypted is ${kindOf(stored.encrypted)}, not a string`;
    }
    if ('plain' in stored) return isPlainObject(stored.plain) ? null : `its credentials.plain is ${kindOf(stored.plain)}, not an object`;
    return Object.keys(stored).length === 0 ? null : 'its credentials field holds neither "encrypted" nor "plain"';
}

function kindOf(value) {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    if (value instanceof Date) return 'a date';
    if (typeof value === 'object') return value._bsontype ? `a ${value._bsontype}` : 'an object';
    return `a ${typeof value}`;
}

const MAX_DEPTH = 90; // MongoDB refuses documents nested deeper than 100 levels; a flow sits 2 levels down

// Where `value` holds something MongoDB would not give back exactly (a description with its path), or null.
function storageProblem(value, path = 'flows', depth = 0) {
    if (depth > MAX_DEPTH) return `${path} is nested more than ${MAX_DEPTH} levels deep`;
    if (typeof value === 'string') {
        return hasLoneSurrogate(value) ? `${path} ${LONE_SURROGATE_WHY}` : null;
    }
    if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
            const p = storageProblem(value[i], `${path}[${i}]`, depth + 1);
            if (p) return p;
        }
        return null;
    }
    if (value && typeof value === 'object') {
        for (const k of Object.keys(value)) {
            const where = `${path}[${JSON.stringify(k)}]`;
            if (k === '__proto__') return `${where}: a field named "__proto__" cannot be stored (Node-RED drops it)`;
            if (hasLoneSurrogate(k)) return `${where}: the field name ${LONE_SURROGATE_WHY}`;
            const p = storageProblem(value[k], where, depth + 1);
            if (p) return p;
        }
    }
    return null;
}

module.exports = {
    encodeKeys, decodeKeys, encodeCredentials, decodeCredentials,
    credentialsProblem, storageProblem, isPlainObject, kindOf,
};

'use strict';
// Stored shapes that MongoDB 6+ and DocumentDB 5 both accept: no field name may start with `$` or
// contain `.`. Keys are escaped reversibly (`~` -> `~t`, `$` -> `~d`, `.` -> `~p`); values are untouched.

const ENCODE = { '~': '~t', $: '~d', '.': '~p' };
const DECODE = { '~t': '~', '~d': '$', '~p': '.' };

function encodeKey(key) {
    return /[~$.]/.test(key) ? key.replace(/[~$.]/g, (c) => ENCODE[c]) : key;
}

function decodeKey(key) {
    return key.includes('~') ? key.replace(/~[tdp]/g, (s) => DECODE[s]) : key;
}

function mapKeys(value, fn) {
    if (Array.isArray(value)) return value.map((v) => mapKeys(v, fn));
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
        const out = {};
        for (const k of Object.keys(value)) out[fn(k)] = mapKeys(value[k], fn);
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

module.exports = { encodeKey, decodeKey, encodeKeys, decodeKeys, encodeCredentials, decodeCredentials };

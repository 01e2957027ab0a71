'use strict';
// Context values as stored documents, and back, so that what a flow reads is what a flow wrote.
//
// MongoDB 6+ and DocumentDB 5 reject field names that start with `$` or contain `.`, which context
// values may well have (a copied msg, JSON from an API). Object keys are escaped reversibly:
// `~` -> `~t`, `$` -> `~d`, `.` -> `~p`. After escaping no key starts with `~` followed by anything but
// t, d or p, so one-key objects `{"~u": 1}` can tag what BSON would not keep: `undefined` (BSON turns
// it into null), an array's holes (`arr[2] = x` on an empty array) and -0 (stored as the integer 0). Buffers are stored as BSON binary, Dates as
// BSON dates; both come back as Buffer and Date (the client reads with promoteBuffers).

const ENCODE = { '~': '~t', $: '~d', '.': '~p' };
const DECODE = { '~t': '~', '~d': '$', '~p': '.' };
const UNDEFINED = '~u';
const NEGATIVE_ZERO = '~z';
const HOLE = '~h';

const encodeKey = (key) => (/[~$.]/.test(key) ? key.replace(/[~$.]/g, (c) => ENCODE[c]) : key);
const decodeKey = (key) => (key.includes('~') ? key.replace(/~[tdp]/g, (s) => DECODE[s]) : key);

function isPlainObject(value) {
    if (value === null || typeof value !== 'object') return false;
    const proto = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
}

function encode(value) {
    if (value === undefined) return { [UNDEFINED]: 1 };
    if (typeof value === 'number' && Object.is(value, -0)) return { [NEGATIVE_ZERO]: 1 };
    if (Array.isArray(value)) {
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) out[i] = i in value ? encode(value[i]) : { [HOLE]: 1 };
        return out;
    }
    if (isPlainObject(value)) {
        const out = {};
        for (const k of Object.keys(value)) out[encodeKey(k)] = encode(value[k]);
        return out;
    }
    // Strings, numbers, booleans, null, Buffers, Dates; anything else is left to BSON, which stores a
    // class instance's own fields as a plain object and rejects what it cannot store (a cycle).
    return value;
}

const isTag = (value, tag) => isPlainObject(value) && Object.keys(value).length === 1 && Object.hasOwn(value, tag);

function decode(value) {
    if (Array.isArray(value)) {
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) if (!isTag(value[i], HOLE)) out[i] = decode(value[i]);
        return out;
    }
    if (isPlainObject(value)) {
        if (isTag(value, UNDEFINED)) return undefined;
        if (isTag(value, NEGATIVE_ZERO)) return -0;
        const out = {};
        for (const k of Object.keys(value)) out[decodeKey(k)] = decode(value[k]);
        return out;
    }
    return value;
}

module.exports = { encode, decode, encodeKey, decodeKey };

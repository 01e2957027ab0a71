'use strict';
// Context values as stored documents, and back, so that what a flow reads is what a flow wrote.
//
// MongoDB 6+ and DocumentDB 5 reject field names that start with `$`, contain `.` or a NUL character,
// which context values may well have (a copied msg, JSON from an API). Object keys are escaped
// reversibly, as the storage module's codec does (storage/lib/codec.js): `~` -> `~t`, `$` -> `~d`,
// `.` -> `~p`, NUL -> `~0`. After escaping no key starts with `~` followed by anything but t, d, p or 0,
// so one-key objects `{"~u": 1}` can tag what BSON would not keep: `undefined` (BSON turns it into
// null), an array's holes (`arr[2] = x` on an empty array) and -0 (stored as the integer 0). Buffers are
// stored as BSON binary, Dates as BSON dates; both come back as Buffer and Date (the client reads with
// promoteBuffers).
//
// A key named `__proto__` (JSON.parse makes one) is an ordinary field, kept and given back as the
// object's own property, never as its prototype. What cannot be stored exactly is refused before
// anything is written: a string or key with a lone UTF-16 surrogate (BSON strings are UTF-8; the server
// would keep U+FFFD instead).

const ENCODE = { '~': '~t', $: '~d', '.': '~p', '\u0000': '~0' };
const DECODE = { '~t': '~', '~d': '$', '~p': '.', '~0': '\u0000' };
const UNDEFINED = '~u';
const NEGATIVE_ZERO = '~z';
const HOLE = '~h';
// The tags of a value that is no object: an object holding one of these is not one of ours.
const SCALAR_TAGS = [UNDEFINED, NEGATIVE_ZERO];
const LONE_SURROGATE = /\p{Surrogate}/u; // in a `u` regex a valid pair is one code point: only lone halves match

// eslint-disable-next-line no-control-regex -- NUL is one of the characters escaped, on purpose
const encodeKey = (key) => (/[~$.\u0000]/.test(key) ? key.replace(/[~$.\u0000]/g, (c) => ENCODE[c]) : key);
const decodeKey = (key) => (key.includes('~') ? key.replace(/~[tdp0]/g, (s) => DECODE[s]) : key);

function isPlainObject(value) {
    if (value === null || typeof value !== 'object') return false;
    const proto = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
}

// `out[key] = value` would set the prototype for "__proto__" instead of keeping the key.
function put(out, key, value) {
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
}

function refuseLoneSurrogate(text, what) {
    if (LONE_SURROGATE.test(text)) {
        throw new Error(`shared context: ${what} holds a lone UTF-16 surrogate (not valid Unicode; it would be stored as U+FFFD)`);
    }
}

function encode(value) {
    if (value === undefined) return { [UNDEFINED]: 1 };
    if (typeof value === 'number' && Object.is(value, -0)) return { [NEGATIVE_ZERO]: 1 };
    if (typeof value === 'string') {
        refuseLoneSurrogate(value, 'a string');
        return value;
    }
    if (Array.isArray(value)) {
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) out[i] = i in value ? encode(value[i]) : { [HOLE]: 1 };
        return out;
    }
    if (isPlainObject(value)) {
        const out = {};
        for (const k of Object.keys(value)) {
            refuseLoneSurrogate(k, `the key ${JSON.stringify(k)}`);
            put(out, encodeKey(k), encode(value[k]));
        }
        return out;
    }
    // Numbers, booleans, null, Buffers, Dates; anything else is left to BSON, which stores a class
    // instance's own fields as a plain object and rejects what it cannot store (a cycle).
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
        for (const k of Object.keys(value)) put(out, decodeKey(k), decode(value[k]));
        return out;
    }
    return value;
}

module.exports = { encode, decode, encodeKey, decodeKey, put, refuseLoneSurrogate, SCALAR_TAGS };

'use strict';
// Context values as stored documents, and back, so that what a flow reads is what a flow wrote.
//
// Object keys are escaped with the one scheme of common/stored_keys.js (`~` -> `~t`, `$` -> `~d`,
// `.` -> `~p`, NUL -> `~0`): MongoDB 6+ and DocumentDB 5 reject field names that start with `$`, contain
// `.` or a NUL character, which context values may well have (a copied msg, JSON from an API). After
// escaping no key starts with `~` followed by anything but t, d, p or 0, so one-key objects `{"~u": 1}`
// can tag what BSON would not keep: `undefined` (BSON turns it into null), an array's holes (`arr[2] = x`
// on an empty array) and -0 (stored as the integer 0). Buffers are stored as BSON binary, Dates as BSON
// dates; both come back as Buffer and Date (the client reads with promoteBuffers).
//
// A key named `__proto__` (JSON.parse makes one) is an ordinary field, kept and given back as the
// object's own property, never as its prototype. What cannot be stored exactly is refused before
// anything is written: a string or key with a lone UTF-16 surrogate (BSON strings are UTF-8; the server
// would keep U+FFFD instead).
const { encodeKey, decodeKey, isPlainObject, setOwn, hasLoneSurrogate, LONE_SURROGATE_WHY } = require('../../common/stored_keys');

const UNDEFINED = '~u';
const NEGATIVE_ZERO = '~z';
const HOLE = '~h';
// The tags of a value that is no object: an object holding one of these is not one of ours.
const SCALAR_TAGS = [UNDEFINED, NEGATIVE_ZERO];

function refuseLoneSurrogate(text, what) {
    if (hasLoneSurrogate(text)) throw new Error(`shared context: ${what} ${LONE_SURROGATE_WHY}`);
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
            setOwn(out, encodeKey(k), encode(value[k]));
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
        for (const k of Object.keys(value)) setOwn(out, decodeKey(k), decode(value[k]));
        return out;
    }
    return value;
}

module.exports = { encode, decode, refuseLoneSurrogate, SCALAR_TAGS };

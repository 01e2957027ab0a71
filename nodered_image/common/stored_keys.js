'use strict';
// Field names as MongoDB 6+ and DocumentDB 5 both store them: none may start with `$`, contain `.` or a
// NUL character. The storage module (storage/lib/codec.js: settings, sessions, plain credentials, library
// metadata, the flows of old revisions) and the shared context store (context/lib/codec.js: context
// values) escape every object key with this one reversible scheme: `~` -> `~t`, `$` -> `~d`, `.` -> `~p`,
// NUL -> `~0`. Decoding gives back every key exactly. A key named `__proto__` stays an object's own field
// (setOwn), never its prototype.
//
// A string with a lone UTF-16 surrogate, key or value, cannot be stored exactly (BSON strings are UTF-8:
// the server keeps U+FFFD instead); hasLoneSurrogate() finds it, and each user refuses it its own way.

const ENCODE = { '~': '~t', $: '~d', '.': '~p', '\u0000': '~0' };
const DECODE = { '~t': '~', '~d': '$', '~p': '.', '~0': '\u0000' };

// eslint-disable-next-line no-control-regex -- NUL is one of the characters escaped, on purpose
const encodeKey = (key) => (/[~$.\u0000]/.test(key) ? key.replace(/[~$.\u0000]/g, (c) => ENCODE[c]) : key);
const decodeKey = (key) => (key.includes('~') ? key.replace(/~[tdp0]/g, (s) => DECODE[s]) : key);

// An object whose keys are escaped: a plain one, or one without a prototype (Object.create(null)).
function isPlainObject(value) {
    if (value === null || typeof value !== 'object') return false;
    const proto = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
}

// `out[key] = value` would set the prototype for "__proto__" instead of keeping the key.
function setOwn(out, key, value) {
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
}

const LONE_SURROGATE = /\p{Surrogate}/u; // in a `u` regex a valid pair is one code point: only lone halves match
const hasLoneSurrogate = (text) => LONE_SURROGATE.test(text);
// How a refusal says why (after what holds it).
const LONE_SURROGATE_WHY = 'holds a lone UTF-16 surrogate (not valid Unicode; it would be stored as U+FFFD)';

module.exports = { encodeKey, decodeKey, isPlainObject, setOwn, hasLoneSurrogate, LONE_SURROGATE_WHY };

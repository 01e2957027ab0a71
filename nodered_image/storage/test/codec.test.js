'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { encodeKeys, decodeKeys, encodeCredentials, decodeCredentials } = require('../lib/codec');

test('key escaping is reversible and leaves no $-prefixed or dotted names', () => {
    const value = { $: 1, 'a.b': { '$x.y': [{ '~': 2, '~d': 3, plain: '$value.kept' }] }, arr: [1, 'two', null] };
    const enc = encodeKeys(value);
    const names = JSON.stringify(enc).match(/"[^"]*":/g).map((s) => s.slice(1, -2));
    assert.ok(names.every((k) => !k.startsWith('$') && !k.includes('.')), names.join(','));
    assert.deepEqual(decodeKeys(enc), value);
});

test('encrypted credentials are stored under another name and restored', () => {
    assert.deepEqual(encodeCredentials({ $: 'abc' }), { encrypted: 'abc' });
    assert.deepEqual(decodeCredentials({ encrypted: 'abc' }), { $: 'abc' });
    assert.deepEqual(decodeCredentials(encodeCredentials({ n1: { user: 'u', 'p.w': 'x' } })), { n1: { user: 'u', 'p.w': 'x' } });
    assert.deepEqual(decodeCredentials(null), {});
});

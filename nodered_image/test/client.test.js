'use strict';
// Who sent a request (lib/client.js): the trusted-proxy rule NODE_RED_TRUSTED_PROXIES configures.
const test = require('node:test');
const assert = require('node:assert/strict');
const { parseTrustedProxies, clientAddress, requestId } = require('../lib/client');

const req = (peer, headers = {}) => ({ socket: { remoteAddress: peer }, headers });

test('addresses and CIDRs of both families; anything else is refused naming the entry', () => {
    const trusted = parseTrustedProxies(' 10.0.0.2, 172.16.0.0/12 ,fd00::/8,::1');
    assert.deepEqual(trusted.entries, ['10.0.0.2', '172.16.0.0/12', 'fd00::/8', '::1']);
    for (const a of ['10.0.0.2', '::ffff:10.0.0.2', '172.31.255.1', 'fd00::5', '::1']) assert.equal(trusted.check(a), true, a);
    for (const a of ['10.0.0.3', '172.32.0.1', 'fe80::1', '', 'nonsense']) assert.equal(trusted.check(a), false, a);
    for (const bad of ['10.0.0.0/33', 'router', '10.0.0.1/8/1', '10.0.0/8', '::1/129']) {
        assert.throws(() => parseTrustedProxies(bad), new RegExp(bad.replace(/[./]/g, '\\$&')));
    }
    assert.deepEqual(parseTrustedProxies('').entries, []);
    assert.deepEqual(parseTrustedProxies(null).entries, []);
});

test('the last X-Forwarded-For entry, only from a trusted peer', () => {
    const trusted = parseTrustedProxies('10.0.0.2');
    assert.equal(clientAddress(req('10.0.0.2', { 'x-forwarded-for': '1.1.1.1, 203.0.113.9' }), trusted), '203.0.113.9');
    assert.equal(clientAddress(req('::ffff:10.0.0.2', { 'x-forwarded-for': '203.0.113.9' }), trusted), '203.0.113.9');
    assert.equal(clientAddress(req('10.0.0.9', { 'x-forwarded-for': '203.0.113.9' }), trusted), '10.0.0.9');
    assert.equal(clientAddress(req('10.0.0.2', { 'x-forwarded-for': 'not-an-ip' }), trusted), '10.0.0.2');
    assert.equal(clientAddress(req('10.0.0.2'), trusted), '10.0.0.2');
    assert.equal(clientAddress(req('10.0.0.2', { 'x-forwarded-for': '203.0.113.9' }), parseTrustedProxies('')), '10.0.0.2');
});

test('a request id from the router is kept when it is a plain token, else made up', () => {
    assert.equal(requestId(req('x', { 'x-request-id': 'abc-123.X:y_z' })), 'abc-123.X:y_z');
    for (const bad of ['a b', 'a"b', 'x'.repeat(129), undefined]) {
        assert.match(requestId(req('x', { 'x-request-id': bad })), /^[0-9a-f-]{36}$/);
    }
});

'use strict';
// The parts of the flows' HTTP API (lib/api/, lib/function_modules.js) on their own: how a request path is
// read for the auth rules, how credentials are checked, the rate limiter's memory bound, what the OpenAPI
// document says, and which function node modules the deploy guard lets through. The whole stack through the
// router: tests/e2e/test_api_product.py and tests/hostile/test_api_paths.py.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { canonicalPath, compilePattern } = require('../lib/api/paths');
const { ApiAuth } = require('../lib/api/auth');
const { RateLimit } = require('../lib/api/rate_limit');
const { buildDocument, openapiPath } = require('../lib/api/openapi');
const { availableModules, linkIntoUserDir, missingModules } = require('../lib/function_modules');

const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const TOKEN = 'orders-token-0123456789abcdef';

function auth() {
    return new ApiAuth({
        auth: {
            default: 'none',
            rules: [
                { path: '/orders/public', type: 'none', names: null },
                { path: '/orders/*', type: 'bearer', names: null },
                { path: '/admin/**', type: 'basic', names: new Set(['carol']) },
            ],
        },
        users: new Map([['carol', 'carol-password'], ['dave', 'dave-password']]),
        tokens: new Map([['orders-client', TOKEN]]),
    });
}

test('a request path has one spelling for the rules; spellings that could name another path are refused', () => {
    assert.deepEqual(canonicalPath('/orders/1'), { path: '/orders/1' });
    assert.deepEqual(canonicalPath('/orders/1/'), { path: '/orders/1' }); // Express: trailing '/' optional
    assert.deepEqual(canonicalPath('/%6Frders/%31'), { path: '/orders/1' });
    assert.deepEqual(canonicalPath('/a.b/..c/.d'), { path: '/a.b/..c/.d' });
    assert.deepEqual(canonicalPath('/'), { path: '' });
    assert.deepEqual(canonicalPath(''), { path: '' });
    for (const [p, why] of [['/orders//1', 'empty'], ['//orders/1', 'empty'], ['/orders%2F1', 'encoded'], ['/orders%5c1', 'encoded'],
        ['/orders/..', 'dot'], ['/orders/%2e%2E', 'dot'], ['/./orders', 'dot'], ['/orders/%zz', 'malformed'], ['/orders/%C0', 'malformed'],
        ['/orders/%00', 'control'], ['/orders/a%0Ab', 'control'], ['/orders/x%20/..', 'dot'], ['/a/%2e', 'dot']]) {
        assert.match(canonicalPath(p).problem || '', new RegExp(why), p);
    }
});

test('rule patterns: * is one segment, ** any number, literals case-sensitive', () => {
    const m = (pattern, p) => compilePattern(pattern)(canonicalPath(p).path);
    assert.ok(m('/orders/*', '/orders/1'));
    assert.ok(!m('/orders/*', '/orders'));
    assert.ok(!m('/orders/*', '/orders/1/items'));
    assert.ok(!m('/orders/*', '/Orders/1'));
    assert.ok(m('/admin/**', '/admin'));
    assert.ok(m('/admin/**', '/admin/a/b/c'));
    assert.ok(!m('/admin/**', '/administrator'));
    assert.ok(m('/**/items', '/a/b/items') && m('/**/items', '/items'));
    assert.ok(m('/', '/') && !m('/', '/x'));
    assert.ok(m('/a.b/(x)', '/a.b/(x)') && !m('/a.b', '/aXb'));
});

test('each rule takes only its own kind of credential, the first matching rule decides', () => {
    const a = auth();
    assert.deepEqual(a.check('/orders/public', undefined), { auth: { type: 'none', name: null } });
    assert.deepEqual(a.check('/orders/7', `Bearer ${TOKEN}`), { auth: { type: 'bearer', name: 'orders-client' } });
    assert.deepEqual(a.check('/orders/7', `bearer   ${TOKEN}`), { auth: { type: 'bearer', name: 'orders-client' } });
    assert.deepEqual(a.check('/admin/x', basic('carol', 'carol-password')), { auth: { type: 'basic', name: 'carol' } });
    assert.deepEqual(a.check('/elsewhere', undefined), { auth: { type: 'none', name: null } });

    const refused = (p, header) => {
        const r = a.check(p, header);
        assert.ok(r.status, `${p} ${header} accepted`);
        return r;
    };
    // Missing, wrong, malformed: 401 with a challenge of the rule's own scheme.
    for (const header of [undefined, '', 'Bearer', 'Bearer ', `Bearer ${TOKEN}x`, 'Bearer a b', basic('carol', 'carol-password'),
        'Token abc', TOKEN, 'Bearer ' + 'x'.repeat(9000)]) {
        const r = refused('/orders/7', header);
        assert.equal(r.status, 401, String(header));
        assert.match(r.headers['WWW-Authenticate'], /^Bearer realm="nodered-scale"/);
    }
    for (const header of [undefined, 'Basic', 'Basic !!!', 'Basic Y2Fyb2w=', basic('carol', 'wrong'), basic('nobody', 'carol-password'),
        `Bearer ${TOKEN}`, basic('carol', TOKEN), 'Basic ' + Buffer.from('carol:carol-password').toString('base64').slice(0, -1)]) {
        const r = refused('/admin/x', header);
        assert.equal(r.status, 401, String(header));
        assert.match(r.headers['WWW-Authenticate'], /^Basic realm="nodered-scale"/);
    }
    // A password is no token, a token no password.
    assert.equal(refused('/orders/7', 'Bearer carol-password').status, 401);
    // Right credentials of someone the rule's names leave out.
    assert.deepEqual(refused('/admin/x', basic('dave', 'dave-password')), { status: 403, reason: 'user not allowed here' });
    // A path no rule can be sure of.
    assert.equal(refused('/orders//7', `Bearer ${TOKEN}`).status, 400);
});

test('secrets are compared as digests of one length, whatever was presented', () => {
    const a = auth();
    assert.equal(a.users.get('carol').digest.length, 32); // SHA-256
    assert.equal(a.passwordDigest('carol', 'x').length, a.passwordDigest('carol', 'x'.repeat(5000)).length);
    assert.ok(![...a.tokens.keys()].some((k) => k.includes(TOKEN)), 'the token itself is not kept as a key');
});

test('the rate limiter: burst then the rate, per address; its memory bounded however many addresses come', () => {
    let now = 0;
    const limit = new RateLimit({ perSecond: 10, burst: 4, maxClients: 1000, now: () => now });
    const taken = Array.from({ length: 7 }, () => limit.take('10.0.0.1'));
    assert.deepEqual(taken, [0, 0, 0, 0, 0, 1, 1]); // burst + 1 at once, then Retry-After 1 s
    assert.equal(limit.take('10.0.0.2'), 0, 'another address is not affected');
    now += 100; // one token back at 10 a second
    assert.equal(limit.take('10.0.0.1'), 0);
    assert.equal(limit.take('10.0.0.1'), 1);
    for (let i = 0; i < 10000; i++) limit.take(`10.1.${i >> 8}.${i & 255}`);
    assert.equal(limit.buckets.size, 1000);
    const slow = new RateLimit({ perSecond: 1, burst: 0, now: () => now });
    assert.equal(slow.take('a'), 0);
    assert.equal(slow.take('a'), 1);
});

test('the OpenAPI document: running endpoints, Express parameters, swagger-doc, the rule of each', () => {
    assert.deepEqual(openapiPath('/orders/:id/items/:item?'), {
        path: '/orders/{id}/items/{item}', params: ['id', 'item'], segments: ['orders', '\u0001', 'items', '\u0001'],
    });
    assert.equal(openapiPath('files/*').path, '/files/{wildcard}');
    const flows = [
        { id: 't1', type: 'tab' },
        { id: 't2', type: 'tab', disabled: true },
        { id: 'sf', type: 'subflow' },
        { id: 'doc', type: 'swagger-doc', summary: 'One order', tags: 'orders, shop', deprecated: true,
            parameters: [{ name: 'id', in: 'path', type: 'integer' }, { name: 'q', in: 'query', type: 'string', required: true },
                { name: 'body', in: 'body', schema: { type: 'object' } }],
            responses: { 200: { description: 'the order', schema: { type: 'object' } } } },
        { id: 'a', type: 'http in', z: 't1', method: 'get', url: '/orders/:id', swaggerDoc: 'doc' },
        { id: 'b', type: 'http in', z: 't1', method: 'post', url: '/admin/users', name: 'Add a user' },
        { id: 'c', type: 'http in', z: 't1', method: 'get', url: '/off', d: true },
        { id: 'e', type: 'http in', z: 't2', method: 'get', url: '/in-disabled-tab' },
        { id: 'f', type: 'http in', z: 'sf', method: 'get', url: '/from-subflow' },
        { id: 'g', type: 'subflow:sf', z: 't1' },
        { id: 'h', type: 'http in', z: 't1', method: 'get', url: '/orders/public' },
    ];
    const doc = buildDocument({ flows, rev: 12, httpNodeRoot: '/red-nodes', auth: auth() });
    assert.equal(doc.openapi, '3.0.3');
    assert.deepEqual(doc.servers, [{ url: '/red-nodes' }]);
    assert.equal(doc.info.version, '12');
    assert.deepEqual(Object.keys(doc.paths), ['/admin/users', '/from-subflow', '/openapi.json', '/orders/public', '/orders/{id}']);
    const order = doc.paths['/orders/{id}'].get;
    assert.equal(order.summary, 'One order');
    assert.deepEqual(order.tags, ['orders', 'shop']);
    assert.equal(order.deprecated, true);
    assert.deepEqual(order.parameters, [
        { name: 'id', in: 'path', required: true, schema: { type: 'integer' } },
        { name: 'q', in: 'query', required: true, schema: { type: 'string' } },
    ]);
    assert.deepEqual(order.requestBody.content, { 'application/json': { schema: { type: 'object' } } });
    assert.deepEqual(order.responses[200].content['application/json'].schema, { type: 'object' });
    assert.deepEqual(order.security, [{ bearer: [] }]);
    assert.deepEqual(order['x-nodered-scale-auth'], { rule: '/orders/*', type: 'bearer' });
    assert.deepEqual(doc.paths['/orders/public'].get.security, []);
    assert.deepEqual(doc.paths['/admin/users'].post['x-nodered-scale-auth'], { rule: '/admin/**', type: 'basic', names: ['carol'] });
    assert.deepEqual(Object.keys(doc.components.securitySchemes), ['basic', 'bearer']);
    // No auth configured: everything public, no schemes.
    const open = buildDocument({ flows, rev: 1, httpNodeRoot: '/api', auth: null });
    assert.deepEqual(open.components.securitySchemes, {});
    assert.deepEqual(open.paths['/orders/{id}'].get.security, []);
});

test('function nodes may use baked modules and Node.js built-ins, nothing else', () => {
    const available = new Map([['dayjs', '/x'], ['@scope/lib', '/y']]);
    const fn = (id, ...modules) => ({ id, type: 'function', libs: modules.map((module, i) => ({ var: `m${i}`, module })) });
    const nodes = [
        fn('ok', 'dayjs', 'dayjs@1.11.13', '@scope/lib/sub', 'fs', 'node:crypto', 'crypto'),
        fn('bad', 'left-pad', 'dayjs'),
        fn('bad2', 'left-pad@1.3.0', '@other/lib'),
        { ...fn('off', 'not-checked'), d: true },
        { id: 'x', type: 'change', libs: [{ module: 'not-a-function-node' }] },
    ];
    assert.deepEqual([...missingModules(nodes, available)], [['left-pad', ['bad', 'bad2']], ['@other/lib', ['bad2']]]);
});

test('userDir names exactly the baked modules, linked so Node-RED loads them, and the image can add its own', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'function-modules-'));
    try {
        const baked = path.join(root, 'baked');
        fs.mkdirSync(path.join(baked, 'node_modules', 'shout'), { recursive: true });
        fs.writeFileSync(path.join(baked, 'package.json'), JSON.stringify({ dependencies: { shout: '1.0.0' } }));
        fs.writeFileSync(path.join(baked, 'node_modules', 'shout', 'package.json'), '{"name": "shout", "main": "index.js"}');
        fs.writeFileSync(path.join(baked, 'node_modules', 'shout', 'index.js'), 'module.exports = (s) => `${s}!`;');
        // An image module: one the launcher's own package has (prom-client stands in for one).
        const modules = availableModules({ dir: baked, imageModules: ['prom-client'] });
        assert.deepEqual([...modules.keys()].sort(), ['prom-client', 'shout']);
        const userDir = path.join(root, 'user');
        fs.mkdirSync(path.join(userDir, 'node_modules', 'stale'), { recursive: true });
        linkIntoUserDir(userDir, modules);
        const pkg = JSON.parse(fs.readFileSync(path.join(userDir, 'package.json'), 'utf8'));
        assert.deepEqual(Object.keys(pkg.dependencies), ['prom-client', 'shout']);
        assert.deepEqual(fs.readdirSync(path.join(userDir, 'node_modules')).sort(), ['prom-client', 'shout']);
        assert.equal(require(path.join(userDir, 'node_modules', 'shout'))('hi'), 'hi!');
        // No baked folder: nothing baked (a launcher run outside the image).
        assert.equal(availableModules({ dir: path.join(root, 'missing'), imageModules: [] }).size, 0);
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
});

test('nodered-scale-shared is always a function module: allowed, linked into userDir with nothing baked, failing clearly without a shared store', async () => {
    // Guards flows using the shared store's atomic operations: a deploy naming nodered-scale-shared must
    // not be refused for a module image.functionModules does not list, and Node-RED must find it in userDir.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'function-modules-'));
    try {
        const modules = availableModules({ dir: path.join(root, 'none-baked') }); // the image's defaults
        assert.deepEqual([...modules.keys()], ['nodered-scale-shared']);
        const node = { id: 'f', type: 'function', libs: [{ var: 'shared', module: 'nodered-scale-shared' }] };
        assert.deepEqual([...missingModules([node], modules)], []);
        const userDir = path.join(root, 'user');
        fs.mkdirSync(userDir);
        linkIntoUserDir(userDir, modules);
        // As Node-RED's function node loads it: import() from userDir/node_modules, the default export.
        const loaded = await import(path.join(userDir, 'node_modules', 'nodered-scale-shared', 'index.js'));
        const shared = loaded.default;
        assert.deepEqual(Object.keys(shared).sort(), ['compareAndSet', 'deleteIfEqual', 'incr', 'lock', 'unlock']);
        await assert.rejects(shared.incr('orders'), /no open shared context store/);
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
});

'use strict';
// Flows from files on the editor (lib/cluster/files.js, credentials.js, lib/flows_lock.js), without a
// stack: the checks of a deploy body, what the files may say about credentials, the stored credentials
// read as Node-RED encrypts them, and the deploy token. Through the router: tests/e2e/test_flows_as_code.py,
// tests/hostile/test_flows_from_files_api.py.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('crypto');
const { readBody, FlowsRefused } = require('../lib/cluster/files');
const { storedCredentials, outline, plan } = require('../lib/cluster/credentials');
const { FlowsLock } = require('../lib/flows_lock');

const flows = () => [
    { id: 't1', type: 'tab', label: 'main' },
    { id: 'a', type: 'inject', z: 't1', wires: [['b']] },
    { id: 'b', type: 'http request', z: 't1', wires: [[]] },
    { id: 'cfg', type: 'tls-config' },
];

function refusal(body) {
    try {
        readBody(body, { withMessage: true });
    } catch (err) {
        assert.ok(err instanceof FlowsRefused, err);
        return err;
    }
    assert.fail('not refused');
}

test('a body of flows and the index\'s credentials is taken as it is', () => {
    const body = { flows: flows(), credentials: { b: { user: 'stored', password: '${API_PASSWORD}' } }, message: 'promote' };
    assert.deepEqual(readBody(body, { withMessage: true }), { flows: body.flows, credentials: body.credentials, message: 'promote' });
});

test('flows that would not run as written are refused naming the nodes', () => {
    const cases = [
        [{ flows: [...flows(), { id: 'a', type: 'debug', z: 't1' }] }, /node id "a" is used twice/, ['a']],
        [{ flows: [...flows(), { id: 'c', type: 'debug', z: 't1', wires: [['gone']] }] }, /node "c" is wired to "gone", which does not exist/, ['c']],
        [{ flows: [...flows(), { id: 'c', type: 'debug', z: 't9' }] }, /node "c" sits on z "t9", which is no tab or subflow/, ['c']],
        [{ flows: [...flows(), { id: 'c', type: 'debug', z: 't1', wires: 'b' }] }, /node "c" has wires that are no list/, ['c']],
        [{ flows: [...flows(), { id: 'c', z: 't1' }] }, /node "c" has no type/, ['c']],
        [{ flows: [...flows(), { type: 'debug' }] }, /node 5 has no id/, []],
        [{ flows: [...flows(), 'c'] }, /node 5 is no JSON object/, []],
        [{ flows: [{ ...flows()[0] }, { id: 'x', type: 'debug', z: 't1', credentials: { token: 'secret' } }] }, /node "x" carries credentials/, ['x']],
        [{ flows: flows(), credentials: { b: { password: 'hunter2' } } }, /must be "stored" or an environment reference/, ['b']],
        [{ flows: flows(), credentials: { gone: { password: 'stored' } } }, /credentials name node "gone", which is not in the flows/, ['gone']],
        [{ flows: flows(), extra: 1 }, /unknown field "extra"/, []],
        [{ flows: {} }, /flows must be an array/, []],
        [{}, /the body has no flows/, []],
        [[], /the body must be a JSON object/, []],
        [{ flows: flows(), message: 'two\nlines' }, /message must be one line/, []],
    ];
    for (const [body, says, nodes] of cases) {
        const err = refusal(body);
        assert.match(err.message, says);
        assert.match(err.message, /^flows refused, nothing saved: /);
        assert.deepEqual(err.nodes, nodes, err.message);
    }
});

test('every problem is named, at most 20 of them', () => {
    const many = [flows()[0], ...Array.from({ length: 30 }, (_, i) => ({ id: `n${i}`, type: 'debug', z: 't1', wires: [['gone']] }))];
    const err = refusal({ flows: many });
    assert.equal(err.nodes.length, 30);
    assert.match(err.message, /; and 10 more$/);
});

// Node-RED's own encryption of a credential set (runtime/lib/nodes/credentials.js), as the storage keeps it.
function encrypted(creds, secret) {
    const key = crypto.createHash('sha256').update(secret).digest();
    const iv = crypto.randomBytes(16);
    const cipher = crypto.createCipheriv('aes-256-ctr', key, iv);
    return { encrypted: iv.toString('hex') + cipher.update(JSON.stringify(creds), 'utf8', 'base64') + cipher.final('base64') };
}

test('stored credentials are read with the stack\'s secret; the files learn which nodes have them, never a value', () => {
    const stored = { b: { user: 'ops', password: '${API_PASSWORD}', has_password: true }, cfg: { key: '' }, gone: { token: 'x' } };
    const doc = { credentials: encrypted(stored, 'the-secret') };
    assert.deepEqual(storedCredentials(doc, 'the-secret'), stored);
    assert.throws(() => storedCredentials(doc, 'another-secret'), /do not decrypt with this stack's credential secret/);
    assert.deepEqual(storedCredentials({ credentials: { plain: { b: { user: 'ops' } } } }, null), { b: { user: 'ops' } });
    assert.deepEqual(storedCredentials({ credentials: null }, 'the-secret'), {});
    // Nodes of the flows only; empty values are none; a value is "stored", an environment reference stays.
    assert.deepEqual(outline(flows(), stored), { b: { password: '${API_PASSWORD}', user: 'stored' } });
});

test('a deploy keeps what the stack stores, writes environment references, and names what the stack lacks', () => {
    const wanted = { b: { user: 'stored', password: '${API_PASSWORD}' }, cfg: { key: 'stored', cert: 'stored' } };
    const p = plan(wanted, { b: { user: 'ops-prod', password: 'old value' }, cfg: { key: 'k' } });
    assert.deepEqual(p.write, { b: { password: '${API_PASSWORD}' } });
    assert.equal(p.changed, true);
    assert.deepEqual(p.lacking, { cfg: ['cert'] });
    const same = plan({ b: { password: '${API_PASSWORD}' } }, { b: { password: '${API_PASSWORD}' } });
    assert.equal(same.changed, false);
});

test('the deploy token logs in as the deployer, and only it passes the lock', async () => {
    const token = 'a'.repeat(48);
    const lock = new FlowsLock({ source: 'flows/prod', deployer: 'pulumi:prod', tokenHash: crypto.createHash('sha256').update(token).digest('hex') });
    const user = await lock.tokenUser(token);
    assert.equal(user.username, 'pulumi:prod');
    assert.deepEqual(user.permissions, ['cluster.read', 'cluster.write']);
    assert.equal(lock.admits(user), true);
    assert.equal(await lock.tokenUser(`${token}x`), null);
    assert.equal(await lock.tokenUser(''), null);
    // A person, the editor's user, or one who names themselves alike, does not pass.
    assert.equal(lock.admits({ username: 'pulumi:prod', permissions: '*' }), false);
    assert.equal(lock.admits(JSON.parse(JSON.stringify(user))), false);
    assert.match(lock.refusal(), /come from flows\/prod .* only `pulumi up` deploys them \(as pulumi:prod\)/);
    assert.throws(() => new FlowsLock({ source: 's', deployer: 'd', tokenHash: 'nope' }), /64 lowercase hex digits/);
});

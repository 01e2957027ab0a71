'use strict';
// The editor's logins as settings.js reads them (lib/access/config.js) and when their sessions end
// (lib/access/sessions.js).
//
// Guards: a bad login setting (unknown role, a user without a password, a name twice, a plain-http
// issuer, groups without a groups claim, a short token) starting an editor nobody can use or anyone can
// use; a changed password, role or removed user leaving its sessions valid; sessions without an end;
// a rotation of the credential key (which keys the sessions' fingerprints) ending every session.
const test = require('node:test');
const assert = require('node:assert');
const { accessConfig, issuerProblem } = require('../lib/access/config');
const { SessionPolicy } = require('../lib/access/sessions');

const HASH = '$2b$04$SIAVXqp76KA/p0PVY.EFTeygVh1qmz1YHfWV.SktHBlcPbUMACly2';
const TOKEN = 't'.repeat(32);
const OIDC = {
    issuer: 'https://sso.example.com/realms/ops', clientId: 'nodered', groupsClaim: 'groups',
    adminGroups: ['nodered-admins'], readGroups: ['nodered-readers'],
};

function config(env) {
    return accessConfig({ user: 'admin', credentialSecret: 'a-credential-secret', sessionHours: 12, auditRetentionDays: 90, ...env });
}
const users = (list) => JSON.stringify(list);

test('users with roles, the shorthand admin beside them, API tokens by their hash', () => {
    const access = config({
        passwordHash: HASH,
        users: users([{ name: 'ann', role: 'read' }, { name: 'bob', role: 'admin' }]),
        passwords: JSON.stringify({ ann: 'ann-password', bob: HASH }),
        apiTokens: users([{ name: 'ci', role: 'read' }]),
        apiTokenSecrets: JSON.stringify({ ci: TOKEN }),
    });
    assert.deepStrictEqual([...access.users.values()].map((u) => [u.name, u.permissions]), [['admin', '*'], ['ann', 'read'], ['bob', '*']]);
    assert.deepStrictEqual([...access.tokens.values()], [{ name: 'ci', role: 'read', permissions: 'read' }]);
    assert.ok(![...access.tokens.keys()].includes(TOKEN), 'tokens are kept as hashes');
    assert.strictEqual(access.oidc, null);
});

test('bad logins are refused naming the variable', () => {
    const cases = [
        [{ users: users([{ name: 'ann', role: 'owner' }]), passwords: '{"ann":"ann-password"}' }, /NODE_RED_EDITOR_USERS: ann has role "owner"/],
        [{ users: users([{ name: 'ann', role: 'read' }]), passwords: '{}' }, /NODE_RED_EDITOR_PASSWORDS has no password for ann/],
        [{ users: users([{ name: 'ann', role: 'read' }, { name: 'ann', role: 'admin' }]), passwords: '{"ann":"ann-password"}' }, /ann is listed twice/],
        [{ password: 'admin-password', users: users([{ name: 'admin', role: 'read' }]), passwords: '{"admin":"x-password"}' }, /admin is also NODE_RED_EDITOR_USER/],
        [{ users: users([{ name: 'ann', role: 'read' }]), passwords: '{"ann":"short"}' }, /the password of ann must be at least 8/],
        [{ users: '{"ann":"read"}' }, /NODE_RED_EDITOR_USERS must be an array/],
        [{}, /NODE_RED_EDITOR_PASSWORD or NODE_RED_EDITOR_PASSWORD_HASH is required/],
        [{ oidc: JSON.stringify({ ...OIDC, issuer: 'http://sso.example.com' }), oidcClientSecret: 's', editorUrl: 'https://e.example.com/' }, /NODE_RED_EDITOR_OIDC: issuer .* must be https/],
        [{ oidc: JSON.stringify({ ...OIDC, groupsClaim: undefined }), oidcClientSecret: 's', editorUrl: 'https://e.example.com/' }, /groupsClaim is required/],
        [{ oidc: JSON.stringify({ ...OIDC, adminGroups: [], readGroups: [] }), oidcClientSecret: 's', editorUrl: 'https://e.example.com/' }, /name adminGroups or readGroups/],
        [{ oidc: JSON.stringify(OIDC), editorUrl: 'https://e.example.com/' }, /NODE_RED_EDITOR_OIDC_CLIENT_SECRET is required/],
        [{ oidc: JSON.stringify(OIDC), oidcClientSecret: 's' }, /NODE_RED_EDITOR_URL is required/],
        [{ password: 'admin-password', apiTokens: users([{ name: 'ci', role: 'admin' }]), apiTokenSecrets: JSON.stringify({ ci: 'short' }) }, /the token of ci must be at least 32/],
        [{ password: 'admin-password', apiTokens: users([{ name: 'ci', role: 'admin' }]) }, /NODE_RED_EDITOR_API_TOKEN_SECRETS has no token for ci/],
        [{ password: 'admin-password', apiTokens: users([{ name: 'admin', role: 'read' }]), apiTokenSecrets: JSON.stringify({ admin: TOKEN }) }, /admin is a user's name too/],
    ];
    for (const [env, message] of cases) assert.throws(() => config(env), message, JSON.stringify(env));
});

test('an issuer must be https, except on a loopback address', () => {
    assert.strictEqual(issuerProblem('https://sso.example.com'), null);
    for (const ok of ['http://127.0.0.1:8080', 'http://localhost:9000/realms/x', 'http://[::1]:8080']) assert.strictEqual(issuerProblem(ok), null, ok);
    for (const bad of ['http://sso.example.com', 'http://10.0.0.5', 'ftp://sso.example.com', 'sso.example.com']) assert.ok(issuerProblem(bad), bad);
});

test('single sign-on alone is a login; its settings are one fingerprint', () => {
    const a = config({ oidc: JSON.stringify(OIDC), oidcClientSecret: 's', editorUrl: 'https://e.example.com/' });
    assert.strictEqual(a.users.size, 0);
    assert.strictEqual(a.oidc.callbackURL, 'https://e.example.com/auth/strategy/callback');
    assert.deepStrictEqual(a.oidc.scopes, ['openid', 'profile', 'email']);
    const b = config({ oidc: JSON.stringify({ ...OIDC, readGroups: ['everyone'] }), oidcClientSecret: 's', editorUrl: 'https://e.example.com/' });
    assert.notStrictEqual(a.oidcFingerprint, b.oidcFingerprint, 'other groups: other fingerprint');
});

function sessionsOf(access, now) {
    return new SessionPolicy({ access, now: () => now });
}

test('a session records its login when created and ends when that login changes, or after the maximum age', async () => {
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    const before = config({ users: users([{ name: 'ann', role: 'read' }, { name: 'bob', role: 'admin' }]), passwords: '{"ann":"ann-password","bob":"bob-password"}' });
    const stored = {};
    const created = sessionsOf(before, t0).stamp({
        a: { user: 'ann', scope: 'read', expires: t0 + 7 * 86400000 },
        b: { user: 'bob', scope: '*', expires: t0 + 7 * 86400000 },
    });
    assert.strictEqual(created.a.expires, t0 + 12 * 3600000, 'no session outlives sessionHours');
    assert.ok(created.a.fingerprint && !JSON.stringify(created).includes('ann-password'));
    Object.assign(stored, JSON.parse(JSON.stringify(created)));

    // The same logins an hour later: both go on.
    let saved = null;
    let ended = [];
    const same = new SessionPolicy({ access: before, now: () => t0 + 3600000, onEnded: (e) => { ended = e; } });
    assert.deepStrictEqual(Object.keys(await same.load(stored, (s) => { saved = s; })), ['a', 'b']);
    assert.strictEqual(saved, null);

    // bob's password changed and ann's role: both end; a session of a removed user too.
    const after = config({ users: users([{ name: 'ann', role: 'admin' }, { name: 'bob', role: 'admin' }]), passwords: '{"ann":"ann-password","bob":"bob-new-password"}' });
    const changed = new SessionPolicy({ access: after, now: () => t0 + 3600000, onEnded: (e) => { ended = e; } });
    const kept = await changed.load({ ...stored, c: { ...stored.a, user: 'cid' } }, (s) => { saved = s; });
    assert.deepStrictEqual(kept, {});
    assert.deepStrictEqual(saved, {});
    assert.deepStrictEqual(ended.map((e) => [e.user, e.count]), [['ann', 1], ['bob', 1], ['cid', 1]]);
    assert.match(ended[2].reason, /no longer an editor user/);

    // Past the maximum age: ended at the next load even if the login is the same.
    const late = new SessionPolicy({ access: before, now: () => t0 + 13 * 3600000 });
    assert.deepStrictEqual(await late.load(stored, () => {}), {});
    // A session from before sessions were tied to their login ends too.
    assert.deepStrictEqual(await same.load({ x: { user: 'ann', scope: 'read', expires: t0 + 3600000 } }, () => {}), {});
});

test('a rotation of the credential key keeps sessions, and gives them the new key\'s fingerprint', async () => {
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    const logins = { users: users([{ name: 'ann', role: 'read' }]), passwords: '{"ann":"ann-password"}' };
    const oldKey = config({ ...logins, credentialSecret: 'the-old-credential-key' });
    const stored = JSON.parse(JSON.stringify(sessionsOf(oldKey, t0).stamp({ a: { user: 'ann', scope: 'read', expires: t0 + 3600000 } })));

    // Both keys (the rotation): kept, and saved with the new key's fingerprint.
    const rotating = config({ ...logins, credentialSecret: 'the-new-credential-key', previousCredentialSecret: 'the-old-credential-key' });
    let saved = null;
    const kept = await sessionsOf(rotating, t0 + 60000).load(stored, (s) => { saved = s; });
    assert.deepStrictEqual(Object.keys(kept), ['a']);
    assert.strictEqual(saved.a.fingerprint, rotating.users.get('ann').fingerprint);

    // The new key alone (the previous one removed): the carried session goes on.
    const rotated = config({ ...logins, credentialSecret: 'the-new-credential-key' });
    assert.deepStrictEqual(Object.keys(await sessionsOf(rotated, t0 + 120000).load(saved, () => {})), ['a']);
    // A key that changed without a rotation ends them, as a changed password does.
    assert.deepStrictEqual(await sessionsOf(rotated, t0 + 120000).load(stored, () => {}), {});
});

test('an editor started during a rotation re-keys the sessions at start, before anyone uses it', async () => {
    // Guards: the sessions were re-keyed only at the first editor request, so an editor restarted on the
    // new key alone before anyone had used it ended every session (a 401 for every logged-in user).
    const t0 = Date.now();
    const logins = { users: users([{ name: 'ann', role: 'read' }]), passwords: '{"ann":"ann-password"}' };
    const oldKey = config({ ...logins, credentialSecret: 'the-old-credential-key' });
    const fakeStorage = (sessions) => ({
        sessions, inits: 0,
        async init() { this.inits += 1; },
        async getSessions() { return JSON.parse(JSON.stringify(this.sessions)); },
        async saveSessions(s) { this.sessions = s; },
    });
    const stored = sessionsOf(oldKey, t0).stamp({ a: { user: 'ann', scope: 'read', expires: t0 + 3600000 } });

    const rotating = config({ ...logins, credentialSecret: 'the-new-credential-key', previousCredentialSecret: 'the-old-credential-key' });
    const during = fakeStorage(JSON.parse(JSON.stringify(stored)));
    const wrapped = new SessionPolicy({ access: rotating }).wrap(during);
    await wrapped.init.call(during);
    assert.strictEqual(during.inits, 1);
    assert.strictEqual(during.sessions.a.fingerprint, rotating.users.get('ann').fingerprint);

    // Restarted on the new key alone, never having been used: the session goes on.
    const rotated = config({ ...logins, credentialSecret: 'the-new-credential-key' });
    assert.deepStrictEqual(Object.keys(await new SessionPolicy({ access: rotated }).load(during.sessions, () => {})), ['a']);

    // Without a rotation, starting leaves the sessions to Node-RED's own first load.
    const quiet = fakeStorage(JSON.parse(JSON.stringify(stored)));
    await new SessionPolicy({ access: oldKey }).wrap(quiet).init.call(quiet);
    assert.deepStrictEqual(quiet.sessions, JSON.parse(JSON.stringify(stored)));
});

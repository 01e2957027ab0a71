'use strict';
// Who may log in to the editor, read once from the environment settings.js hands over (contract.json:
// NODE_RED_EDITOR_*, NODE_RED_SESSION_HOURS): local users with a role and a password, single sign-on
// with an OpenID Connect provider, API tokens. Every refusal is an Error naming the variable; settings.js
// turns it into a configuration error (the launcher prints it and exits 1). The stack config
// (stack_config/editor_access.py) applies the same rules before anything is deployed.
const crypto = require('crypto');
const net = require('net');
const { bcrypt } = require('../bcrypt');

const ROLES = Object.freeze({ admin: '*', read: 'read' }); // role -> Node-RED permissions
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
const BCRYPT = /^\$2[aby]\$\d\d\$/;
const MIN_TOKEN = 32;

class AccessConfigError extends Error {}
const refuse = (message) => {
    throw new AccessConfigError(message);
};

function json(variable, text, kind) {
    let parsed;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        refuse(`${variable} must be JSON (${kind}): ${err.message}`);
    }
    const isArray = Array.isArray(parsed);
    if ((kind === 'an array' && !isArray) || (kind === 'an object' && (isArray || !parsed || typeof parsed !== 'object'))) {
        refuse(`${variable} must be ${kind}`);
    }
    return parsed;
}

function exactKeys(variable, entry, required, optional = []) {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) refuse(`${variable}: each entry must be an object {${required.join(', ')}}`);
    for (const k of Object.keys(entry)) {
        if (!required.includes(k) && !optional.includes(k)) refuse(`${variable}: unknown key ${JSON.stringify(k)} (known: ${[...required, ...optional].join(', ')})`);
    }
    for (const k of required) if (entry[k] === undefined) refuse(`${variable}: an entry has no ${JSON.stringify(k)}`);
}

// [{name, role}] -> [{name, role}], names checked and unique.
function namedRoles(variable, text) {
    const seen = new Set();
    return json(variable, text, 'an array').map((entry) => {
        exactKeys(variable, entry, ['name', 'role']);
        const { name, role } = entry;
        if (typeof name !== 'string' || !NAME.test(name)) refuse(`${variable}: name ${JSON.stringify(name)} must be 1-64 letters, digits or . _ @ -`);
        if (!Object.hasOwn(ROLES, role)) refuse(`${variable}: ${name} has role ${JSON.stringify(role)}: a role is admin or read`);
        if (seen.has(name)) refuse(`${variable}: ${name} is listed twice`);
        seen.add(name);
        return { name, role };
    });
}

// name -> secret, for exactly the names given: none missing, none unknown.
function secretsFor(variable, text, names, what) {
    const values = text ? json(variable, text, 'an object') : {};
    for (const name of Object.keys(values)) {
        if (!names.includes(name)) refuse(`${variable} has a ${what} for ${JSON.stringify(name)}, which is not listed`);
        if (typeof values[name] !== 'string') refuse(`${variable}: the ${what} of ${name} must be a string`);
    }
    for (const name of names) if (!Object.hasOwn(values, name)) refuse(`${variable} has no ${what} for ${name}`);
    return values;
}

// A password as the stack config takes it (8+ characters besides whitespace), or its bcrypt hash.
function passwordProblem(value) {
    if (BCRYPT.test(value)) return null;
    if (value.length < 8 || value.replace(/\s/g, '').length < 8) return 'must be at least 8 characters besides whitespace, or a bcrypt hash';
    return null;
}

function isLoopback(hostname) {
    const host = hostname.replace(/^\[|\]$/g, '');
    if (host === 'localhost') return true;
    if (net.isIPv4(host)) return host.startsWith('127.');
    return net.isIPv6(host) && (host === '::1' || host === '0:0:0:0:0:0:0:1');
}

// The issuer rule: https, or plain http to a loopback address (a provider on this machine: tests,
// local development). Returns the reason it is refused, or null.
function issuerProblem(issuer) {
    let url;
    try {
        url = new URL(issuer);
    } catch {
        return `issuer ${JSON.stringify(String(issuer).slice(0, 100))} is not a URL`;
    }
    if (url.protocol === 'https:') return null;
    if (url.protocol === 'http:' && isLoopback(url.hostname)) return null;
    return `issuer ${JSON.stringify(issuer)} must be https (plain http only on a loopback address): the login crosses it`;
}

function stringList(variable, key, value) {
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) refuse(`${variable}: ${key} must be a list of names`);
    return value;
}

function oidcConfig(text, clientSecret, editorUrl) {
    const v = 'NODE_RED_EDITOR_OIDC';
    const o = json(v, text, 'an object');
    exactKeys(v, o, ['issuer', 'clientId'], ['scopes', 'usernameClaim', 'groupsClaim', 'adminGroups', 'readGroups', 'label']);
    if (typeof o.issuer !== 'string') refuse(`${v}: issuer must be a URL`);
    const problem = issuerProblem(o.issuer);
    if (problem) refuse(`${v}: ${problem}`);
    if (typeof o.clientId !== 'string' || !o.clientId) refuse(`${v}: clientId must be the client's id at the provider`);
    const scopes = o.scopes === undefined ? ['openid', 'profile', 'email'] : stringList(v, 'scopes', o.scopes);
    if (!scopes.includes('openid')) refuse(`${v}: scopes must include openid`);
    const adminGroups = stringList(v, 'adminGroups', o.adminGroups);
    const readGroups = stringList(v, 'readGroups', o.readGroups);
    if (!adminGroups.length && !readGroups.length) refuse(`${v}: name adminGroups or readGroups (a user in neither is refused, so nobody could log in)`);
    if (o.groupsClaim === undefined) refuse(`${v}: groupsClaim is required with adminGroups or readGroups: the claim of the ID token (or user info) that lists a user's groups`);
    for (const key of ['groupsClaim', 'usernameClaim', 'label']) {
        if (o[key] !== undefined && (typeof o[key] !== 'string' || !o[key])) refuse(`${v}: ${key} must be a non-empty string`);
    }
    if (!clientSecret) refuse('NODE_RED_EDITOR_OIDC_CLIENT_SECRET is required with NODE_RED_EDITOR_OIDC: the client secret at the provider');
    if (!editorUrl || !/^https?:\/\/[^/]+\/(.*\/)?$/.test(editorUrl)) {
        refuse('NODE_RED_EDITOR_URL is required with NODE_RED_EDITOR_OIDC: the editor\'s public URL ending in / (the provider redirects to <it>auth/strategy/callback)');
    }
    return {
        issuer: o.issuer, clientId: o.clientId, clientSecret, scopes, adminGroups, readGroups,
        usernameClaim: o.usernameClaim || 'preferred_username', groupsClaim: o.groupsClaim,
        label: o.label || 'Sign in with single sign-on',
        callbackURL: `${editorUrl}auth/strategy/callback`,
        insecure: new URL(o.issuer).protocol === 'http:',
    };
}

// HMAC of what a login rests on, under a key only the stack has (the credential key): stored with each
// session, so a changed password or role (or a removed user) ends that user's sessions. Never the password
// itself. During a rotation of the credential key the fingerprint under the key before is known too, so
// sessions outlive the rotation (sessions.js gives them the new key's).
function fingerprinter(key, previousKey) {
    const under = (k, parts) => crypto.createHmac('sha256', String(k)).update(JSON.stringify(parts)).digest('base64url');
    const fingerprint = (...parts) => under(key, parts);
    fingerprint.previous = (...parts) => (previousKey ? under(previousKey, parts) : null);
    return fingerprint;
}

const oidcParts = (oidc) => ['oidc', oidc.issuer, oidc.clientId, oidc.adminGroups, oidc.readGroups, oidc.groupsClaim, oidc.usernameClaim];

const sha256 = (text) => crypto.createHash('sha256').update(text).digest('hex');

// Everything settings.js read, parsed: {users: Map name -> {name, role, permissions, hash, fingerprint},
// oidc, tokens: Map sha256(token) -> {name, role, permissions}, sessionHours, auditRetentionDays}.
function accessConfig(env) {
    const fingerprint = fingerprinter(env.credentialSecret, env.previousCredentialSecret);
    const users = new Map();
    const addUser = (name, role, secret, variable) => {
        if (users.has(name)) refuse(`${variable}: ${name} is also NODE_RED_EDITOR_USER (with NODE_RED_EDITOR_PASSWORD): name each user once`);
        const hash = BCRYPT.test(secret) ? secret : bcrypt().hashSync(secret, 10);
        const parts = ['password', name, role, secret];
        users.set(name, { name, role, permissions: ROLES[role], hash, fingerprint: fingerprint(...parts), previousFingerprint: fingerprint.previous(...parts) });
    };
    if (env.passwordHash) {
        if (!BCRYPT.test(env.passwordHash)) refuse('NODE_RED_EDITOR_PASSWORD_HASH must be a bcrypt hash ($2a$/$2b$/$2y$...)');
        addUser(env.user, 'admin', env.passwordHash, 'NODE_RED_EDITOR_PASSWORD_HASH');
    } else if (env.password) {
        addUser(env.user, 'admin', env.password, 'NODE_RED_EDITOR_PASSWORD');
    }
    if (env.users) {
        const listed = namedRoles('NODE_RED_EDITOR_USERS', env.users);
        const passwords = secretsFor('NODE_RED_EDITOR_PASSWORDS', env.passwords, listed.map((u) => u.name), 'password');
        for (const { name, role } of listed) {
            const problem = passwordProblem(passwords[name]);
            if (problem) refuse(`NODE_RED_EDITOR_PASSWORDS: the password of ${name} ${problem}`);
            addUser(name, role, passwords[name], 'NODE_RED_EDITOR_USERS');
        }
    } else if (env.passwords) {
        refuse('NODE_RED_EDITOR_PASSWORDS is given without NODE_RED_EDITOR_USERS (the users they belong to)');
    }
    const oidc = env.oidc ? oidcConfig(env.oidc, env.oidcClientSecret, env.editorUrl) : null;
    if (!users.size && !oidc) {
        refuse('NODE_RED_EDITOR_PASSWORD or NODE_RED_EDITOR_PASSWORD_HASH is required for the editor: login is mandatory ' +
            '(or give NODE_RED_EDITOR_USERS or NODE_RED_EDITOR_OIDC)');
    }
    const tokens = new Map();
    if (env.apiTokens) {
        const listed = namedRoles('NODE_RED_EDITOR_API_TOKENS', env.apiTokens);
        const secrets = secretsFor('NODE_RED_EDITOR_API_TOKEN_SECRETS', env.apiTokenSecrets, listed.map((t) => t.name), 'token');
        for (const { name, role } of listed) {
            if (users.has(name)) refuse(`NODE_RED_EDITOR_API_TOKENS: ${name} is a user's name too: the audit trail tells them apart by name`);
            if (secrets[name].length < MIN_TOKEN) refuse(`NODE_RED_EDITOR_API_TOKEN_SECRETS: the token of ${name} must be at least ${MIN_TOKEN} characters`);
            const digest = sha256(secrets[name]);
            if (tokens.has(digest)) refuse(`NODE_RED_EDITOR_API_TOKEN_SECRETS: ${name} has the token of ${tokens.get(digest).name}`);
            tokens.set(digest, { name, role, permissions: ROLES[role] });
        }
    } else if (env.apiTokenSecrets) {
        refuse('NODE_RED_EDITOR_API_TOKEN_SECRETS is given without NODE_RED_EDITOR_API_TOKENS (their names and roles)');
    }
    return {
        users, oidc, tokens, sessionHours: env.sessionHours, auditRetentionDays: env.auditRetentionDays,
        // What a single sign-on login rests on: the provider, the client and which groups give which role.
        oidcFingerprint: oidc ? fingerprint(...oidcParts(oidc)) : null,
        oidcPreviousFingerprint: oidc ? fingerprint.previous(...oidcParts(oidc)) : null,
    };
}

module.exports = { accessConfig, AccessConfigError, issuerProblem, ROLES, sha256, MIN_TOKEN };

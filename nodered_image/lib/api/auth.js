'use strict';
// Authentication of the flows' endpoints (NODE_RED_HTTP_AUTH, with the users of NODE_RED_HTTP_USERS and
// the clients of NODE_RED_HTTP_TOKENS), before a request reaches the gate or any flow.
//
// The first rule whose path pattern matches the request's path (lib/api/paths.js) decides its type; no
// rule: the default. `basic` takes only `Authorization: Basic` with a user's password, `bearer` only
// `Authorization: Bearer` with a client's token: a password is never a token or the other way round.
// Missing or wrong credentials: 401 with WWW-Authenticate and a JSON reason; right credentials of someone
// a rule's `names` leaves out: 403. An accepted request carries who it is in req.auth (the flow's
// msg.req.auth: {type, name}; {type: 'none', name: null} on public paths) and no longer carries the
// Authorization header, so no debug node or log shows the secret.
//
// Secrets are compared as keyed SHA-256 digests (a random 32-byte key made at start, prefixed: only this
// process can compute them): fixed-length digests compared with timingSafeEqual (a password's length or
// first wrong character takes no longer than any other), and tokens found by their digest. One hash per
// request (~2 us), no bcrypt.
const crypto = require('crypto');
const { canonicalPath, compilePattern } = require('./paths');

const REALM = 'nodered-scale';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_HEADER = 8192; // longer Authorization values are refused unread

// What a flow finds in msg.req.auth: one frozen object per identity, made once (nothing per request).
const identity = (type, name) => Object.freeze({ type, name });
const PUBLIC = identity('none', null);

class ApiAuth {
    constructor({ auth, users, tokens, refusals }) {
        this.refusals = refusals;
        this.key = crypto.randomBytes(32).toString('base64');
        this.defaultRule = { path: null, type: auth.default, names: null };
        this.rules = auth.rules.map((r) => ({ ...r, matches: compilePattern(r.path) }));
        // user -> {digest of the password, identity}; digest of a token -> the client's identity.
        this.users = new Map([...users].map(([name, password]) => [name,
            { digest: this.passwordDigest(name, password), who: identity('basic', name) }]));
        this.tokens = new Map([...tokens].map(([name, token]) => [this.tokenDigest(token), identity('bearer', name)]));
        this.unknownUser = this.passwordDigest('', crypto.randomBytes(16).toString('hex'));
    }

    // One-shot keyed hashes: an HMAC object per request costs several times as much, for nothing here (the
    // digests are only ever compared for equality, never shown).
    passwordDigest(user, password) {
        return crypto.hash('sha256', `${this.key}\0basic\0${user}\0${password}`, 'buffer');
    }

    tokenDigest(token) {
        return crypto.hash('sha256', `${this.key}\0bearer\0${token}`, 'base64');
    }

    // The rule for a path relative to httpNodeRoot: {path, type, names} (path null: the default), or {problem}.
    ruleFor(rawPath) {
        const { path, problem } = canonicalPath(rawPath);
        return problem ? { problem } : this.ruleForPath(path);
    }

    // The rule for a canonical path ('/a/b', '' for the root).
    ruleForPath(path) {
        for (const rule of this.rules) if (rule.matches(path)) return rule;
        return this.defaultRule;
    }

    // Who the Authorization header says is asking, for a rule of type `type`: {who} or {error}.
    identify(type, header) {
        if (header === undefined) return { error: 'credentials required', missing: true };
        if (header.length > MAX_HEADER) return { error: 'malformed Authorization header' };
        const space = header.indexOf(' ');
        const scheme = space > 0 ? header.slice(0, space).toLowerCase() : header.toLowerCase();
        const value = space > 0 ? header.slice(space + 1).trim() : '';
        if (scheme !== type) return { error: `${type === 'basic' ? 'Basic' : 'Bearer'} credentials required`, missing: true };
        if (type === 'bearer') {
            const who = value === '' ? undefined : this.tokens.get(this.tokenDigest(value));
            return who === undefined ? { error: 'invalid token' } : { who };
        }
        if (!BASE64.test(value) || value === '') return { error: 'malformed Basic credentials' };
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) return { error: 'malformed Basic credentials' };
        const user = decoded.slice(0, colon);
        const stored = this.users.get(user);
        const ok = crypto.timingSafeEqual(stored ? stored.digest : this.unknownUser, this.passwordDigest(user, decoded.slice(colon + 1)));
        return ok && stored ? { who: stored.who } : { error: 'invalid user or password' };
    }

    // {auth: {type, name}} for an accepted request, else {status, reason, headers} to refuse it with.
    check(rawPath, header) {
        const rule = this.ruleFor(rawPath);
        if (rule.problem) return { status: 400, reason: rule.problem };
        if (rule.type === 'none') return { auth: PUBLIC };
        const who = this.identify(rule.type, header);
        if (who.error) {
            const challenge = rule.type === 'basic' ? `Basic realm="${REALM}", charset="UTF-8"`
                : `Bearer realm="${REALM}"${who.missing ? '' : ', error="invalid_token"'}`;
            return { status: 401, reason: who.error, headers: { 'WWW-Authenticate': challenge } };
        }
        if (rule.names && !rule.names.has(who.who.name)) {
            return { status: 403, reason: `${rule.type === 'basic' ? 'user' : 'client'} not allowed here` };
        }
        return { auth: who.who };
    }

    // Express middleware under httpNodeRoot (req.path is relative to it).
    middleware() {
        return (req, res, next) => {
            const result = this.check(req.path, req.headers.authorization);
            if (result.status) {
                this.refusals.answer(req, res, result.status, result.reason, { headers: result.headers });
                return;
            }
            req.auth = result.auth;
            if (result.auth.type !== 'none') delete req.headers.authorization;
            next();
        };
    }
}

module.exports = { ApiAuth, REALM };

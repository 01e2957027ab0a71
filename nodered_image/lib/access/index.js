'use strict';
// Editor access (docs/editor-access.md): who may log in to the editor and what they may do, built from
// what settings.js read (config.js), and what the launcher adds around Node-RED's own login:
//
//   - adminAuth for Node-RED: local users with a role (admin: "*", read: Node-RED's "read"), single
//     sign-on (oidc.js, adminAuth type "strategy"), API tokens (adminAuth.tokens), sessions that last
//     NODE_RED_SESSION_HOURS and end when their login changes (sessions.js, on the storage Node-RED gets);
//   - an audit trail (audit.js) of logins, logouts, deploys, restarts, rollbacks and API token uses, with
//     the client address the router saw (lib/client.js);
//   - 403 with a reason where Node-RED answers a logged-in user without the permission with a bare 401
//     (the editor would take that for an expired login);
//   - with single sign-on, the login page says when the provider cannot be reached, a user the editor
//     refuses gets a page saying why (pages.js), and local users and API tokens still log in through
//     POST /auth/token (the command line, node-red-admin), which Node-RED offers with password logins only.
const express = require('express');
const { bcrypt } = require('../bcrypt');
const { AuditTrail } = require('./audit');
const { SessionPolicy } = require('./sessions');
const { OidcProvider, oidcStrategy, REFUSAL, SIGNED_IN } = require('./oidc');
const { refusalPage } = require('./pages');
const { sha256 } = require('./config');

const TOKEN_USER = Symbol('API token');
const READ_RECORD_MS = 10 * 60 * 1000; // reads with an API token: one record per token and address in this time
const FLOWS_PATH = /^\/flows?(\/|$)/;

// Keys seen within a time, at most `max` remembered (the oldest forgotten first).
class Throttle {
    constructor(ms, max = 10000) {
        this.ms = ms;
        this.max = max;
        this.seen = new Map();
    }

    first(key, now = Date.now()) {
        const at = this.seen.get(key);
        if (at !== undefined && now - at < this.ms) return false;
        this.seen.delete(key);
        this.seen.set(key, now);
        while (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value);
        return true;
    }
}

class EditorAccess {
    // access: config.js's result.
    constructor(access, { log = () => {} } = {}) {
        this.access = access;
        this.log = log;
        this.audit = null; // attach()
        this.deployToken = null; // adminAuth()
        this.sessions = new SessionPolicy({ access, onEnded: (ended) => this.sessionsEnded(ended) });
        this.provider = access.oidc ? new OidcProvider({ oidc: access.oidc, log: (l, m) => this.log(l, m) }) : null;
        this.readThrottle = new Throttle(READ_RECORD_MS);
        this.failThrottle = new Throttle(60 * 1000);
        this.pendingEnded = [];
    }

    get sso() {
        return Boolean(this.access.oidc);
    }

    // Node-RED's adminAuth. deployToken: a token taken before the API tokens, {tokenUser(token), admits(user)}
    // (the flows deploy token of `pulumi up`, lib/flows_lock.js), or null.
    adminAuth({ deployToken = null } = {}) {
        const { users, tokens } = this.access;
        this.deployToken = deployToken;
        const auth = {
            type: this.sso ? 'strategy' : 'credentials',
            sessionExpiryTime: this.access.sessionHours * 3600,
            // Looked up on every request of a session: a local user, or a single sign-on user with a session.
            users: async (username) => {
                const local = users.get(username);
                if (local) return { username, permissions: local.permissions };
                const permissions = this.sessions.ssoUsers.get(username);
                return permissions ? { username, permissions } : null;
            },
            // A password login (username, password), or a single sign-on profile (oidc.js's verify).
            authenticate: async (username, password) => {
                if (username && typeof username === 'object') {
                    if (!username.sso || typeof username.username !== 'string') return null;
                    this.sessions.ssoUsers.set(username.username, username.permissions);
                    return { username: username.username, permissions: username.permissions };
                }
                const local = users.get(username);
                if (!local || typeof password !== 'string') return null;
                return (await bcrypt().compare(password, local.hash)) ? { username, permissions: local.permissions } : null;
            },
        };
        if (deployToken) {
            auth.tokens = async (token) => (await deployToken.tokenUser(token)) || this.tokenUser(token);
        } else if (tokens.size) {
            auth.tokens = async (token) => this.tokenUser(token);
        }
        if (this.sso) auth.strategy = oidcStrategy({ oidc: this.access.oidc, provider: this.provider, users, log: (l, m) => this.log(l, m) });
        return auth;
    }

    tokenUser(token) {
        const found = typeof token === 'string' ? this.access.tokens.get(sha256(token)) : undefined;
        return found ? { username: found.name, permissions: found.permissions } : null;
    }

    // Password logins the LoginGuard checks itself (it answers wrong passwords).
    passwordUsers() {
        return [...this.access.users.values()].map((u) => ({ username: u.name, password: u.hash }));
    }

    // The storage module Node-RED gets (sessions.js).
    wrapStorage(storage) {
        return this.sessions.wrap(storage, { log: (level, msg) => this.log(level, msg) });
    }

    // Once the launcher has its storage and refusals: the audit trail, and the client of a request.
    attach({ storage, refusals }) {
        this.refusals = refusals;
        this.audit = new AuditTrail({ database: () => storage.database(), log: this.log, retentionDays: this.access.auditRetentionDays });
        for (const ended of this.pendingEnded.splice(0)) this.sessionsEnded(ended);
        return this;
    }

    sessionsEnded(ended) {
        if (!this.audit) {
            this.pendingEnded.push(ended);
            return;
        }
        for (const { user, reason, count } of ended) {
            this.audit.record({ event: 'sessions.ended', user, detail: `${count} session${count > 1 ? 's' : ''}: ${reason}` });
        }
    }

    // How a request's user logged in: an API token (or the deploy token), a local user's password, or single sign-on.
    via(req) {
        if (req[TOKEN_USER] || this.isDeployer(req.user)) return 'token';
        const user = req.user && req.user.username;
        if (!user) return null;
        return this.access.users.has(user) ? 'password' : 'sso';
    }

    isDeployer(user) {
        return Boolean(this.deployToken && user && this.deployToken.admits(user));
    }

    // Who did something, for a record: {user, via, client}.
    who(req) {
        return { user: (req.user && req.user.username) || null, via: this.via(req), client: this.refusals.client(req) };
    }

    // Middleware for the admin root, before the login guard: it only watches (and says 403 for Node-RED's
    // 401 to a logged-in user, and the login page's word on the provider).
    watch() {
        const r = express.Router();
        r.use((req, res, next) => {
            this.watchTokenUse(req, res);
            this.forbidWithReason(req, res);
            next();
        });
        r.post(/^\/auth\/token\/?$/i, (req, res, next) => this.watchPasswordLogin(req, res, next));
        r.post(/^\/auth\/revoke\/?$/i, (req, res, next) => {
            res.on('finish', () => {
                if (res.statusCode < 300 && req.user) this.audit.record({ event: 'logout', ...this.who(req) });
            });
            next();
        });
        r.use((req, res, next) => this.watchDeploy(req, res, next));
        if (this.sso) {
            r.get(/^\/auth\/login\/?$/i, (req, res, next) => this.loginPage(req, res, next));
            r.get(/^\/auth\/strategy\/?$/i, (req, res, next) => this.watchSso(req, res, next));
            r.all(/^\/auth\/strategy\/callback\/?$/i, (req, res, next) => this.watchSso(req, res, next));
        }
        return r;
    }

    // After the login guard (a password it passed is right): with single sign-on, Node-RED takes no
    // password logins, so they are exchanged for a token here, by Node-RED's own password exchange.
    passwordLogins() {
        if (!this.sso) return (req, res, next) => next();
        const auth = require('@node-red/editor-api/lib/auth');
        const exchange = chain([auth.ensureClientSecret, auth.authenticateClient, auth.getToken, auth.errorHandler]);
        return (req, res, next) => {
            if (req.method === 'POST' && /^\/auth\/token\/?$/i.test(req.path) && req.body && req.body.grant_type === 'password') {
                return exchange(req, res, next);
            }
            return next();
        };
    }

    watchTokenUse(req, res) {
        const header = req.headers.authorization;
        if (typeof header !== 'string' || !header.startsWith('Bearer ')) return;
        const user = this.tokenUser(header.slice(7).trim());
        if (!user) return;
        req[TOKEN_USER] = user.username;
        res.on('finish', () => {
            if (res.statusCode === 401) return;
            const client = this.refusals.client(req);
            const read = req.method === 'GET' || req.method === 'HEAD';
            if (read && !this.readThrottle.first(`${user.username}\0${client}`)) return;
            const path = String(req.originalUrl || req.url).split('?')[0].slice(0, 200);
            this.audit.record({
                event: 'token.use', user: user.username, via: 'token', client,
                detail: `${req.method} ${path} -> ${res.statusCode}${read ? ' (reads: one record per token and address every 10 min)' : ''}`,
            });
        });
    }

    // Node-RED answers a logged-in user who lacks the permission with a bare 401, which the editor and
    // the command line take for an expired login: it becomes 403 with a reason.
    forbidWithReason(req, res) {
        const status = res.status.bind(res);
        res.status = (code) => {
            if (code !== 401 || !req.user || res.headersSent) return status(code);
            const { user, via } = this.who(req);
            const login = this.isDeployer(req.user) ? 'the flows deploy token, for the cluster API only'
                : `${via === 'token' ? 'API token' : 'user'} with the ${String(req.user.permissions) === '*' ? 'admin' : 'read'} role`;
            const body = this.refusals.body(req, 403, `${user} (${login}) may look, not change: ${req.method} ${req.path} needs a write permission`);
            status(403).set('Content-Type', 'application/json; charset=utf-8');
            const end = res.end.bind(res);
            res.end = (chunk, ...rest) => end(chunk === undefined || typeof chunk === 'function' ? JSON.stringify(body) : chunk, ...rest);
            return res;
        };
    }

    watchPasswordLogin(req, res, next) {
        res.on('finish', () => {
            const body = req.body || {};
            if (body.grant_type !== 'password') return;
            const client = this.refusals.client(req);
            const user = typeof body.username === 'string' ? body.username.slice(0, 64) : null;
            if (res.statusCode === 200) {
                this.audit.record({ event: 'login', user, via: 'password', client, detail: `client ${String(body.client_id || '').slice(0, 40)}` });
            } else if (res.statusCode !== 429 || this.failThrottle.first(`429\0${client}`)) {
                const why = { 400: 'malformed login', 403: 'wrong user name or password, or a scope beyond the role', 429: 'locked out: too many failed logins from this address' };
                this.audit.record({ event: 'login.failed', user, via: 'password', client, detail: why[res.statusCode] || `HTTP ${res.statusCode}` });
            }
        });
        next();
    }

    watchDeploy(req, res, next) {
        if (!['POST', 'PUT', 'DELETE'].includes(req.method) || !FLOWS_PATH.test(req.path)) return next();
        const whole = /^\/flows\/?$/.test(req.path);
        res.on('finish', () => {
            if (res.statusCode >= 300 || !req.user) return;
            const deployType = whole ? (req.get('Node-RED-Deployment-Type') || 'full') : 'flows';
            const header = res.getHeader('X-Flows-Revision');
            this.audit.record({
                event: deployType === 'reload' ? 'restart' : 'deploy', ...this.who(req),
                rev: header !== undefined ? Number(header) : this.latestRev(),
                deployType: deployType === 'reload' ? undefined : deployType,
                detail: whole ? undefined : `${req.method} ${req.path}`.slice(0, 200),
            });
        });
        return next();
    }

    // The launcher sets it: the newest revision the storage knows (for single-flow API calls).
    latestRev() {
        return this.storageInfo ? this.storageInfo().latestRev : undefined;
    }

    // The login page's answer while the provider cannot be reached: its reason instead of a button that
    // cannot work (the editor shows loginMessage with the prompts of a login type it does not know).
    loginPage(req, res, next) {
        this.provider.check().then(() => next(), (err) => {
            res.set('Cache-Control', 'no-store').json({
                type: 'unavailable',
                loginMessage: `${err.message[0].toUpperCase()}${err.message.slice(1)}. Flows and workers are not affected. ` +
                    'Local users and API tokens still log in on the command line (POST /auth/token).',
                prompts: [{ type: 'button', label: 'Try single sign-on again', url: 'auth/strategy' }],
            });
        });
    }

    // The start and the end of a single sign-on login: audited, and a refused user gets a page saying why.
    watchSso(req, res, next) {
        const redirect = res.redirect.bind(res);
        res.redirect = (...args) => {
            const location = String(args[args.length - 1]);
            const client = this.refusals.client(req);
            const refusal = req[REFUSAL];
            if (refusal) {
                this.audit.record({ event: 'login.failed', user: refusal.user, via: 'sso', client,
                    detail: `${refusal.message}${refusal.groups.length ? ` (groups: ${refusal.groups.join(', ').slice(0, 200)})` : ''}` });
                res.status(403).set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
                    .send(refusalPage({ message: refusal.message, issuer: this.access.oidc.issuer }));
                return;
            }
            const signedIn = req[SIGNED_IN];
            if (signedIn && /[?&](code|access_token)=/.test(location)) {
                this.audit.record({ event: 'login', user: signedIn.user, via: 'sso', client, detail: `role ${signedIn.role}` });
            } else if (/[?&]session_message=/.test(location) && this.failThrottle.first(`sso\0${client}`)) {
                const message = decodeURIComponent(location.split('session_message=')[1] || '').slice(0, 300);
                this.audit.record({ event: 'login.failed', via: 'sso', client, detail: message });
            }
            redirect(...args);
        };
        next();
    }
}

// Express middleware run one after the other, errors to the next error handler (4 arguments).
function chain(fns) {
    return (req, res, done) => {
        let i = 0;
        const step = (err) => {
            const fn = fns[i++];
            if (!fn) return done(err);
            const handlesErrors = fn.length === 4;
            if (Boolean(err) !== handlesErrors) return step(err);
            try {
                return handlesErrors ? fn(err, req, res, step) : fn(req, res, step);
            } catch (e) {
                return step(e);
            }
        };
        step();
    };
}

module.exports = { EditorAccess, chain };

'use strict';
// Single sign-on with an OpenID Connect provider, through Node-RED's adminAuth strategy mechanism
// (adminAuth.type "strategy": the login page shows the provider's button, /auth/strategy starts the
// authorization code flow, /auth/strategy/callback ends it) and openid-client's passport Strategy (PKCE,
// state and nonce, ID token validation).
//
// The provider's metadata is discovered when a login needs it, not at start: a provider that is down
// never keeps the editor, its flows or the workers from starting. The login page and the start of each
// login check the provider answers (at most every FRESH_MS); while it does not, the login page says so
// (access/index.js) and a login attempt ends on it with the reason; a failed check is tried again after
// RETRY_MS.
//
// Roles come from the groups claim at each login: a user in one of adminGroups is an admin, else in one
// of readGroups a read user, else refused with a page saying so (pages.js). Sessions last
// NODE_RED_SESSION_HOURS, after which the user signs in again and the groups are read again.
const { ROLES } = require('./config');

const DISCOVERY_TIMEOUT_S = 5;
const RETRY_MS = 10000;
const FRESH_MS = 2000;
const REFUSAL = Symbol('single sign-on refusal');
const SIGNED_IN = Symbol('single sign-on user');

// The provider's discovered configuration, shared by every login.
class OidcProvider {
    constructor({ oidc, log }) {
        this.oidc = oidc;
        this.log = log || (() => {});
        this.config = null;
        this.failure = null; // {error, at} of the last failed discovery
        this.inFlight = null;
        this.checkedAt = 0;
    }

    // The configuration; discovers it if needed (a failure less than RETRY_MS ago is answered at once).
    configuration() {
        return this.config ? Promise.resolve(this.config) : this.discover();
    }

    // The configuration, the provider checked to answer within the last FRESH_MS: what the login page
    // and the start of a login use, so a provider that went down since is named before the browser is
    // sent to it.
    check() {
        return this.config && Date.now() - this.checkedAt < FRESH_MS ? Promise.resolve(this.config) : this.discover();
    }

    discover() {
        if (this.inFlight) return this.inFlight;
        if (this.failure && Date.now() - this.failure.at < RETRY_MS) return Promise.reject(this.failure.error);
        const client = require('openid-client');
        const { issuer, clientId, clientSecret, insecure } = this.oidc;
        this.inFlight = client.discovery(new URL(issuer), clientId, clientSecret, undefined, {
            timeout: DISCOVERY_TIMEOUT_S,
            execute: insecure ? [client.allowInsecureRequests] : [],
        }).then((config) => {
            this.config = config;
            this.checkedAt = Date.now();
            if (this.failure) this.log('info', `single sign-on: the provider at ${issuer} answers again`);
            this.failure = null;
            return config;
        }, (err) => {
            const error = new Error(`single sign-on is unavailable: the provider at ${issuer} cannot be reached (${reason(err)})`);
            if (!this.failure) this.log('warn', error.message);
            this.failure = { error, at: Date.now() };
            throw error;
        }).finally(() => {
            this.inFlight = null;
        });
        return this.inFlight;
    }

}

function reason(err) {
    const cause = err && err.cause && (err.cause.code || err.cause.message);
    const text = err && err.name === 'TimeoutError' ? `no answer within ${DISCOVERY_TIMEOUT_S} s` : (err && err.message) || String(err);
    return cause && !text.includes(cause) ? `${text}: ${cause}` : text;
}

// The names in a claim: a list of strings, or one string.
function names(value) {
    if (Array.isArray(value)) return value.filter((v) => typeof v === 'string');
    return typeof value === 'string' ? [value] : [];
}

// The passport strategy class Node-RED constructs (adminAuth.strategy.strategy): it waits for the
// provider's configuration, then hands the request to openid-client's Strategy.
function strategyClass(provider) {
    return class OidcStrategy {
        constructor(options, verify) {
            this.name = 'oidc';
            this.options = options;
            this.verify = verify;
            this.shared = { inner: null }; // passport hands authenticate() an object made from this one
        }

        authenticate(req, options) {
            // The start of a login checks the provider answers; its callback (a code) needs the configuration only.
            const callback = req.query && (req.query.code !== undefined || req.query.error !== undefined);
            (callback ? provider.configuration() : provider.check()).then((config) => {
                if (!this.shared.inner || this.shared.inner.config !== config) {
                    const { Strategy } = require('openid-client/passport');
                    const inner = new Strategy({
                        config, name: 'oidc', sessionKey: 'oidc', passReqToCallback: true,
                        callbackURL: this.options.callbackURL, scope: this.options.scope,
                    }, this.verify);
                    this.shared.inner = { strategy: inner, config };
                }
                const delegate = Object.create(this.shared.inner.strategy);
                for (const k of ['success', 'fail', 'redirect', 'pass', 'error']) delegate[k] = this[k];
                delegate.authenticate(req, options);
            }, (err) => this.error(err));
        }
    };
}

// Node-RED's adminAuth.strategy for this provider. users: config.js's local users (a provider's user
// of the same name is refused: the name would stand for two people in the audit trail and the sessions).
function oidcStrategy({ oidc, provider, users, log }) {
    const verify = async (req, tokens, done) => {
        try {
            const config = await provider.configuration();
            const claims = tokens.claims() || {};
            let username = claims[oidc.usernameClaim];
            let groups = claims[oidc.groupsClaim];
            if (username === undefined || groups === undefined) {
                const client = require('openid-client');
                const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
                if (username === undefined) username = info[oidc.usernameClaim];
                if (groups === undefined) groups = info[oidc.groupsClaim];
            }
            if (typeof username !== 'string' || !username) {
                return refuse(req, done, null, [], `the provider named no user: its ID token and user info have no ${oidc.usernameClaim} claim`);
            }
            if (users.has(username)) {
                return refuse(req, done, username, [], `${username} is the name of a local user of this editor: a single sign-on user may not take it`);
            }
            const mine = names(groups);
            const role = mine.some((g) => oidc.adminGroups.includes(g)) ? 'admin'
                : mine.some((g) => oidc.readGroups.includes(g)) ? 'read' : null;
            if (!role) {
                return refuse(req, done, username, mine, `${username} signed in at the provider but is in none of the groups that give access to this editor`);
            }
            req[SIGNED_IN] = { user: username, role };
            return done(null, { username, permissions: ROLES[role], sso: true });
        } catch (err) {
            log('warn', `single sign-on: ${err.message}`);
            return done(err);
        }
    };
    return {
        name: 'oidc',
        label: oidc.label,
        icon: 'fa-sign-in',
        strategy: strategyClass(provider),
        options: { callbackURL: oidc.callbackURL, scope: oidc.scopes.join(' '), verify },
    };
}

function refuse(req, done, user, groups, message) {
    req[REFUSAL] = { user, groups, message };
    const err = new Error(message);
    err.name = 'Refused';
    return done(err);
}

module.exports = { OidcProvider, oidcStrategy, REFUSAL, SIGNED_IN };

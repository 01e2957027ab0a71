'use strict';
// The flows' endpoints as an API (docs/api.md): what runs on a worker in front of the request gate, in
// this order, each only when configured (settings.httpApi, from NODE_RED_HTTP_*):
//   rate limit per client address (lib/api/rate_limit.js; the aws target: no nginx in front)
//   CORS, preflights answered here (lib/api/cors.js)
//   authentication by path rule (lib/api/auth.js)
// and, behind the gate, GET <httpNodeRoot>/openapi.json (lib/api/openapi.js). Websocket upgrades under
// httpNodeRoot meet the same rate limit and authentication (lib/upgrades.js asks upgradeRefusal()).
const { ApiAuth } = require('./auth');
const { apiCors } = require('./cors');
const { RateLimit } = require('./rate_limit');
const { OpenApi } = require('./openapi');

class HttpApi {
    constructor({ config, refusals, RED, storage, httpNodeRoot }) {
        this.refusals = refusals;
        this.auth = config.auth ? new ApiAuth({ auth: config.auth, users: config.users, tokens: config.tokens, refusals }) : null;
        this.rateLimit = config.rateLimit ? new RateLimit({ ...config.rateLimit, refusals }) : null;
        this.cors = config.cors ? apiCors(config.cors) : null;
        this.openapi = config.openapi ? new OpenApi({ RED, storage, httpNodeRoot, auth: this.auth }) : null;
    }

    // Express middleware before the gate: none at all when nothing is configured.
    beforeGate() {
        return [this.rateLimit && this.rateLimit.middleware(), this.cors, this.auth && this.auth.middleware()].filter(Boolean);
    }

    afterGate() {
        return this.openapi ? [this.openapi.middleware()] : [];
    }

    // A websocket upgrade to `path` (relative to httpNodeRoot): null to let it through, else
    // {status, reason, headers} to refuse it with.
    upgradeRefusal(req, path) {
        if (this.rateLimit) {
            const wait = this.rateLimit.take(this.refusals.client(req));
            if (wait > 0) return { status: 429, reason: 'too many requests from this address', headers: { 'Retry-After': String(wait) } };
        }
        if (!this.auth) return null;
        const result = this.auth.check(path, req.headers.authorization);
        return result.status ? result : null;
    }
}

module.exports = { HttpApi };

'use strict';
// Login lockout per client address, in front of the editor's token endpoint (POST /auth/token).
//
// Node-RED locks a *username* after 5 failed logins within 10 minutes, whoever made them
// (@node-red/editor-api/lib/auth/strategies.js), and compares usernames with `==`, so ['admin'] (a form's
// `username[]=admin`) counts against admin too: anyone could lock the admin out. Here the launcher decides
// every password login itself: each field of the request must be a string (anything else, or a password
// login without a username or password, is answered 400; Node-RED's user lookup would throw on a
// non-string password, and nothing catches that), then the password is checked and failures are counted
// per client address (lib/client.js: the router's view when the request came through a trusted proxy).
// A wrong password is answered here, as Node-RED would answer it. Malformed logins and wrong passwords
// both count: after MAX_FAILURES within WINDOW_MS that address gets 429 until its oldest failure is
// WINDOW_MS old. Only correct logins reach Node-RED's password exchange, which issues the token (and
// clears its own count for the user); other grant types go on to Node-RED, which refuses them without
// looking at a user. Another address logs in normally all the while.
const express = require('express');
const { bcrypt } = require('./bcrypt');
const { requestId } = require('./client');

const MAX_FAILURES = 5;
const WINDOW_MS = 10 * 60 * 1000;
const MAX_ADDRESSES = 10000; // addresses remembered at most: the oldest are forgotten first
// What Node-RED (oauth2orize) answers a wrong username or password with.
const INVALID_GRANT = { error: 'invalid_grant', error_description: 'Invalid resource owner credentials' };

class LoginGuard {
    constructor({ users, refusals, log, maxFailures = MAX_FAILURES, windowMs = WINDOW_MS, maxAddresses = MAX_ADDRESSES,
        compare = (password, hash) => bcrypt().compare(password, hash) }) {
        this.users = new Map((users || []).map((u) => [u.username, u.password]));
        this.refusals = refusals;
        this.log = log || (() => {});
        this.maxFailures = maxFailures;
        this.windowMs = windowMs;
        this.maxAddresses = maxAddresses;
        this.compare = compare;
        this.failures = new Map(); // address -> times of its failed logins within the window, oldest first
        // A hash to compare against for unknown users, so they take as long as known ones.
        this.dummyHash = bcrypt().hashSync('not a password', 10);
        // The same parsers Node-RED's admin API uses; it skips parsing a body parsed here.
        this.parsers = [express.urlencoded({ extended: true, limit: '64kb' }), express.json({ limit: '64kb' })];
    }

    // Express middleware for the admin API's root.
    middleware() {
        return (req, res, next) => {
            if (req.method !== 'POST' || !/^\/auth\/token\/?$/i.test(req.path)) return next();
            this.check(req, res, next).catch(next);
        };
    }

    async check(req, res, next) {
        const address = this.refusals.client(req);
        const wait = this.lockedFor(address);
        if (wait > 0) {
            const seconds = Math.ceil(wait / 1000);
            this.refusals.answer(req, res, 429, `too many failed logins from this address: try again in ${seconds} s`,
                { headers: { 'Retry-After': String(seconds) } });
            return;
        }
        for (const parse of this.parsers) await new Promise((resolve, reject) => parse(req, res, (err) => (err ? reject(err) : resolve())));
        const problem = malformed(req.body);
        if (problem) {
            const count = this.fail(address);
            this.refusals.answer(req, res, 400, `${problem}: failed login ${count} of ${this.maxFailures} ` +
                `from this address within ${this.windowMs / 60000} min`);
            return;
        }
        const { username, password } = req.body;
        if (req.body.grant_type !== 'password') return next();
        const hash = this.users.get(username);
        const ok = await this.compare(password, hash || this.dummyHash);
        if (ok && hash) {
            this.failures.delete(address);
            next();
            return;
        }
        const count = this.fail(address);
        this.log('warn', `failed login for ${JSON.stringify(username.slice(0, 64))} from ${address} ` +
            `(request ${requestId(req)}): ${count} of ${this.maxFailures} within ${this.windowMs / 60000} min`);
        res.status(403).json(INVALID_GRANT);
    }

    // Milliseconds until the address may try again (0: it may now).
    lockedFor(address, now = Date.now()) {
        const times = this.recent(address, now);
        if (times.length < this.maxFailures) return 0;
        return times[times.length - this.maxFailures] + this.windowMs - now;
    }

    recent(address, now) {
        const times = (this.failures.get(address) || []).filter((t) => t + this.windowMs > now);
        if (times.length === 0) this.failures.delete(address);
        else this.failures.set(address, times);
        return times;
    }

    fail(address, now = Date.now()) {
        const times = this.recent(address, now);
        times.push(now);
        if (times.length > this.maxFailures) times.shift();
        this.failures.delete(address); // re-inserted last: the Map's order is least recently failed first
        this.failures.set(address, times);
        while (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value);
        return times.length;
    }
}

// Why a token request's body is no login the guard can decide (null: it is one). Every field a string;
// a password login has a username and a password.
function malformed(body) {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return 'a login must be a form or a JSON object';
    for (const [name, value] of Object.entries(body)) {
        if (typeof value !== 'string') {
            const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
            return `login field ${JSON.stringify(name.slice(0, 32))} must be a string, not ${kind}`;
        }
    }
    if (body.grant_type === 'password') {
        for (const name of ['username', 'password']) if (!body[name]) return `login field "${name}" is missing`;
    }
    return null;
}

module.exports = { LoginGuard, MAX_FAILURES, WINDOW_MS };

'use strict';
// The launcher's gate in front of the HTTP-in endpoints (httpNodeRoot), driven by the storage's events
// (storage/lib/events.js). While Node-RED swaps flows (a deploy or a reload stops the running flows and
// starts the new ones), requests arriving are held until the new flows are started, instead of a 404
// from a missing route; and the swap waits for the requests already inside the flows to be answered,
// instead of dropping them. Before flows have started once, while no flows may take requests (none
// could start, or their credentials do not decrypt here), and while shutting down, requests are
// turned away: see unavailable().
//
// In-flight accounting: a request counts from the moment it is handed to the flows until its response
// ends, however it ends (answered, client gone, socket destroyed). The end is watched from arrival
// on, so a client that gives up while held is never counted, and one that gives up inside the flows is
// uncounted when its connection closes: a drain never waits for a request that no longer exists.
//
// A worker's partial reload (a "modified flows"/"modified nodes" deploy applied as a diff) restarts only
// some flows: its 'swap-starting' names them and their HTTP-in routes (lib/restart_scope.js). Only
// requests those routes take are held and drained; the others go on to the flows that keep running.
const { RestartScope } = require('./restart_scope');

const HOLD_MS = 10000; // longest a request is held; then it goes to the flows, swapped or not

// Requests nginx resends to another worker after a connection error (all but these).
const NOT_RESENT_BY_ROUTER = new Set(['POST', 'PATCH', 'LOCK']);
const fromRouter = (req) => req.headers['x-nodered-router'] === 'nginx';

class RequestGate {
    constructor({ log, holdMs = HOLD_MS } = {}) {
        this.log = log || (() => {});
        this.holdMs = holdMs;
        this.started = false; // Node-RED has started flows once: the endpoints have routes
        this.swapping = false;
        this.scope = null; // RestartScope of the swap under way: which requests it concerns
        this.notServing = null; // why the flows that run may not take requests, or null
        this.shuttingDown = false;
        this.inside = new Set(); // requests handed to the flows, response not ended
        this.held = new Set(); // waiting for the swap to end
        this.drainWaiters = new Set();
        this.settleWaiters = new Set(); // settled() callers: resolved when the swap ends
        // Since start, for /metrics: requests held, requests a swap waited for, swaps that stopped
        // waiting, requests refused for want of routes.
        this.stats = { held: 0, drained: 0, drainTimeouts: 0, unavailable: 0, passed: 0 };
    }

    get inFlight() {
        return this.inside.size;
    }

    // storage.events: hold from 'swap-starting' until the swap ends, and make the swap wait for the drain.
    follow(events) {
        events.on('swap-starting', (ev) => {
            this.scope = this.swapping && this.scope ? this.scope.widen(ev.restarting) : new RestartScope(ev.restarting);
            this.swapping = true;
            ev.waitFor(this.drain(ev.timeoutMs, this.scope));
        });
        events.on('flows-started', () => {
            this.started = true;
            this.endSwap();
        });
        // A worker whose new flows failed loads the newest that starts again at once: keep holding.
        events.on('start-failed', (ev) => {
            if (ev.fallbackRev === null || ev.fallbackRev === undefined) this.endSwap();
        });
        // No flows that may take requests (none could start, or their credentials do not decrypt
        // here): turned away like before the first start, so the router sends them elsewhere.
        events.on('serving', (ev) => {
            this.notServing = ev.serving ? null : ev.reason || 'flows not running';
        });
    }

    // Express middleware.
    handle(req, res, next) {
        const r = { req, res, next, since: Date.now(), ended: false, counted: false, timer: null };
        const end = () => {
            if (r.ended) return;
            r.ended = true;
            clearTimeout(r.timer);
            this.held.delete(r);
            if (r.counted) this.leave(r);
        };
        res.once('finish', end);
        res.once('close', end);
        this.admit(r);
    }

    // Checking for a swap and counting the request happen in one synchronous step: a swap either sees
    // the request in flight (and waits for it) or the request sees the swap (and is held).
    admit(r) {
        if (r.ended) return;
        if (r.req.socket.destroyed) {
            // Gone, its 'close' not delivered yet: nothing to run and nothing to count.
            r.ended = true;
            this.held.delete(r);
            return;
        }
        const waited = Date.now() - r.since;
        if (this.shuttingDown || this.notServing) {
            this.unavailable(r.req, r.res);
            return;
        }
        if (!this.started) {
            // A starting worker (nginx tries a restarted one again once fail_timeout is over, while it may
            // still be loading): what the router would resend elsewhere is turned away at once; what it
            // never resends (POST, PATCH, LOCK) waits for the first flows like a swap, up to the hold limit.
            if (fromRouter(r.req) && NOT_RESENT_BY_ROUTER.has(r.req.method) && waited < this.holdMs) this.hold(r, waited);
            else this.unavailable(r.req, r.res);
            return;
        }
        if (this.swapping && waited < this.holdMs && !this.scope.concerns(r.req)) {
            this.stats.passed += 1; // a route of a flow that keeps running
        } else if (this.swapping && waited < this.holdMs) {
            this.hold(r, waited);
            return;
        }
        this.enter(r);
        r.next();
    }

    hold(r, waited) {
        if (!r.wasHeld) this.stats.held += 1;
        r.wasHeld = true;
        this.held.add(r);
        r.timer = setTimeout(() => {
            this.held.delete(r);
            this.admit(r);
        }, this.holdMs - waited);
    }

    enter(r) {
        r.counted = true;
        this.inside.add(r);
    }

    leave(r) {
        this.inside.delete(r);
        for (const waiter of [...this.drainWaiters]) {
            waiter.waiting.delete(r);
            if (waiter.waiting.size === 0) waiter.done(true);
        }
    }

    // The new flows are started (or will not be): release the held requests. They are counted now,
    // before a swap that may follow at once can look, and handed to the flows on the next turn (not
    // inside the storage's event), so the next swap waits for them instead of cutting them off.
    endSwap() {
        this.swapping = false;
        this.scope = null;
        this.settle();
        const released = [...this.held];
        this.held.clear();
        for (const r of released) {
            clearTimeout(r.timer);
            if (r.ended || r.req.socket.destroyed || this.shuttingDown || this.notServing || !this.started) {
                setImmediate(() => this.admit(r));
                continue;
            }
            this.enter(r);
            setImmediate(() => {
                if (!r.ended) r.next();
            });
        }
    }

    // Resolves once no swap is going on (or after maxMs): for what is not an HTTP-in request, such as
    // a websocket upgrade that found no endpoint because the old flows were stopped (lib/upgrades.js).
    settled(maxMs = this.holdMs) {
        if (!this.swapping || this.shuttingDown) return Promise.resolve();
        return new Promise((resolve) => {
            const done = () => {
                clearTimeout(timer);
                this.settleWaiters.delete(done);
                resolve();
            };
            const timer = setTimeout(done, maxMs);
            this.settleWaiters.add(done);
        });
    }

    settle() {
        for (const done of [...this.settleWaiters]) done();
    }

    // Resolves true once no request the scope concerns (null: any) is inside the flows, or false after timeoutMs.
    drain(timeoutMs, scope = null) {
        const waiting = new Set([...this.inside].filter((r) => !scope || scope.concerns(r.req)));
        if (waiting.size === 0) return Promise.resolve(true);
        this.stats.drained += waiting.size;
        return new Promise((resolve) => {
            const waiter = { waiting, done: null };
            const timer = setTimeout(() => {
                this.stats.drainTimeouts += 1;
                this.drainWaiters.delete(waiter);
                this.log('warn', `${waiter.waiting.size} request(s) still inside the flows after ${timeoutMs} ms: going on without them`);
                resolve(false);
            }, timeoutMs);
            timer.unref();
            waiter.done = (v) => {
                clearTimeout(timer);
                this.drainWaiters.delete(waiter);
                resolve(v);
            };
            this.drainWaiters.add(waiter);
        });
    }

    // Stop admitting; held requests get their answer now. Resolves when the flows are drained (or not).
    shutdown(drainMs) {
        this.shuttingDown = true;
        this.settle();
        const held = [...this.held];
        this.held.clear();
        for (const r of held) {
            clearTimeout(r.timer);
            this.admit(r);
        }
        return this.drain(drainMs);
    }

    // No routes (flows not started yet, none serving, or shutting down): never a 404. Behind the router (it sets
    // X-Nodered-Router), a request nginx resends after a connection error is closed without an answer:
    // nginx tries another worker, and counts the failure against this one. Everyone else gets 503 +
    // Retry-After: direct clients and load balancers that do not resend, and POST/PATCH/LOCK, which nginx
    // never resends once sent (a 503 tells the client the flow did not run; a reset would reach it as
    // nginx's 502). A 503 here is never retried by the router: it passes every answer from a worker on unchanged.
    unavailable(req, res) {
        this.stats.unavailable += 1;
        if (fromRouter(req) && !NOT_RESENT_BY_ROUTER.has(req.method)) {
            req.socket.destroy();
            return;
        }
        // Stopping: the client's next request must not come back on this connection.
        if (this.shuttingDown) res.set('Connection', 'close');
        const error = this.shuttingDown ? 'shutting down' : this.notServing ? `not serving: ${this.notServing}` : 'flows not started yet';
        res.status(503).set('Retry-After', '1').json({ error });
    }
}

module.exports = { RequestGate, HOLD_MS };

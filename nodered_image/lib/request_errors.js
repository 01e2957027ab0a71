'use strict';
// An error nothing caught, in a request's path, ends that request with a 500 and never the process.
//
// Express catches what a handler throws at once; an error thrown later, in a callback or a promise
// nobody awaited, would reach the process (Node ends it on an uncaught exception or an unhandled
// rejection): one request could take the editor down, e.g. Node-RED's token exchange has promises
// without a catch. Each request therefore runs in an AsyncLocalStorage context (so does every event of an
// upgraded socket: the editor's /comms messages, a flow's websocket), and the process handlers look it
// up: an error inside a request is logged with its stack, the client address and the request id, the
// request gets 500 (or is cut off when its answer had begun; an upgraded socket is closed), and the
// process goes on. An error outside any request (startup, the storage module's own work) still ends the
// process, logged, as Node would: its state is unknown, and Docker (restart policy) or ECS starts a new one.
const { AsyncLocalStorage } = require('async_hooks');
const { requestId } = require('./client');

class RequestErrors {
    constructor({ refusals, log }) {
        this.refusals = refusals;
        this.log = log || (() => {});
        this.context = new AsyncLocalStorage();
    }

    // Express middleware, first in the app: the rest of the request runs in its context, and so do the
    // request's own events (its body arriving), whose listeners run outside it otherwise.
    track() {
        return (req, res, next) => {
            const store = { req, res };
            this.guard(req, store);
            this.context.run(store, next);
        };
    }

    // An upgraded connection: its socket's events (and so a websocket's messages) run in its context.
    trackSocket(req, socket) {
        this.guard(socket, { req, socket });
    }

    // The emitter's listeners run in the store's context; what one of them throws fails that request
    // only (it would reach the process otherwise: the context is gone by then).
    guard(emitter, store) {
        const emit = emitter.emit;
        emitter.emit = (...args) => {
            try {
                return this.context.run(store, () => emit.apply(emitter, args));
            } catch (err) {
                this.fail(err, store, 'uncaught exception');
                return false;
            }
        };
    }

    // Express error handler, last in the app: an error a handler passed on or threw.
    handler() {
        // Express tells error handlers by their four parameters.
        // eslint-disable-next-line no-unused-vars
        return (err, req, res, next) => this.fail(err, { req, res }, 'error');
    }

    install() {
        process.on('uncaughtException', (err) => this.uncaught(err, 'uncaught exception'));
        process.on('unhandledRejection', (reason) => this.uncaught(reason, 'unhandled rejection'));
    }

    uncaught(err, what) {
        const store = this.context.getStore();
        if (store) {
            this.fail(err, store, what);
            return;
        }
        this.log('error', `${what} outside any request, exiting: ${describe(err)}`);
        process.exit(1);
    }

    // The request's answer: a client error a parser raised (400, 413, 415) is refused as such; anything
    // else is logged with its stack and answered 500 without details.
    fail(err, { req, res, socket }, what) {
        const status = err && err.expose && err.status >= 400 && err.status < 500 ? err.status : 500;
        if (status !== 500 && res) {
            this.refusals.answer(req, res, status, err.message);
            return;
        }
        this.log('error', `${what} in ${req.method} ${String(req.originalUrl || req.url).slice(0, 200)} from ` +
            `${this.refusals.client(req)} (request ${requestId(req)}): ${describe(err)}`);
        if (socket) socket.destroy();
        else if (res.writableEnded) return; // answered already: the log line is all
        else if (res.headersSent) res.destroy();
        else res.status(500).json({ error: 'internal error', requestId: requestId(req) });
    }
}

function describe(err) {
    return err && err.stack ? err.stack : String(err);
}

module.exports = { RequestErrors };

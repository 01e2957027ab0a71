'use strict';
// Requests per client address to the flows' endpoints on this instance (NODE_RED_HTTP_RATE_LIMIT: the
// aws target, where no nginx is in front; the docker target's nginx applies the same numbers itself).
// The address is the one the instance trusts from the router (lib/client.js), as the login lockout's.
//
// A token bucket per address, as nginx's limit_req with `burst` and `nodelay`: perSecond requests a second,
// and up to burst more at once; over it, 429 with Retry-After and a JSON reason. The buckets are a map in
// least-recently-used order, at most maxClients of them: a full bucket is the same as none, so the
// oldest are dropped first, and many addresses (or a flood of one) never grow memory without bound.
// A flood is logged as one line for its first refusal and then one line with a count every LOG_EVERY_MS.
const MAX_CLIENTS = 50000;
const LOG_EVERY_MS = 10000;

class RateLimit {
    constructor({ perSecond, burst, refusals, maxClients = MAX_CLIENTS, now = () => performance.now() }) {
        this.rate = perSecond / 1000; // tokens per ms
        this.capacity = burst + 1;
        this.refusals = refusals;
        this.maxClients = maxClients;
        this.now = now;
        this.buckets = new Map(); // address -> {tokens, at}, least recently used first
        this.refused = 0;
        this.unlogged = 0; // refusals not logged one by one
        this.summary = null; // timer of the next count line, while refusals are being counted
    }

    // The count of the refusals not logged one by one; the next refusal after it is logged in full again.
    logSummary() {
        if (this.unlogged > 0) {
            this.refusals.log('warn', `rate limit: ${this.unlogged} more requests refused 429 in ${LOG_EVERY_MS / 1000} s`);
        }
        this.unlogged = 0;
        this.summary = null;
    }

    // 0 when a request from `address` may go on now, else the seconds until it may.
    take(address) {
        const now = this.now();
        let bucket = this.buckets.get(address);
        if (bucket) {
            this.buckets.delete(address);
            bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * this.rate);
            bucket.at = now;
        } else {
            bucket = { tokens: this.capacity, at: now };
            if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value);
        }
        this.buckets.set(address, bucket);
        if (bucket.tokens >= 1) {
            bucket.tokens -= 1;
            return 0;
        }
        return Math.max(1, Math.ceil((1 - bucket.tokens) / this.rate / 1000));
    }

    middleware() {
        return (req, res, next) => {
            const wait = this.take(this.refusals.client(req));
            if (wait === 0) {
                next();
                return;
            }
            this.refused += 1;
            const quiet = this.summary !== null;
            if (quiet) this.unlogged += 1;
            else this.summary = setTimeout(() => this.logSummary(), LOG_EVERY_MS).unref();
            this.refusals.answer(req, res, 429, 'too many requests from this address',
                { headers: { 'Retry-After': String(wait) }, quiet });
        };
    }
}

module.exports = { RateLimit, MAX_CLIENTS };

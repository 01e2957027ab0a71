'use strict';
// Whether MongoDB answers this instance, within seconds, whatever way it fails.
//
// The driver's monitoring sees a refused or closed connection at once, but not a server that hangs
// (stopped, or a network that drops packets): its check waits connectTimeoutMS plus the heartbeat
// (30 s + 10 s) before it gives up, so /healthz said "reachable" for 35-45 s. A ping every EVERY_MS,
// unanswered for LATE_MS, says so within EVERY_MS + LATE_MS (5 s); once it is answered, or the next one
// is, the database answers again. One ping at a time: a hung one is not repeated, it stays outstanding
// until the server answers or the driver gives up on the connection.
const EVERY_MS = 2000;
const LATE_MS = 3000;

class DbProbe {
    // ping(): a promise of one round trip.
    constructor({ ping, log, everyMs = EVERY_MS, lateMs = LATE_MS }) {
        this.ping = ping;
        this.log = log;
        this.everyMs = everyMs;
        this.lateMs = lateMs;
        this.answering = true;
        this.pending = false;
        this.failure = null; // why the last ping failed, while it does
        this.timer = null;
    }

    start() {
        this.timer = setInterval(() => this.send(), this.everyMs);
        this.timer.unref();
    }

    stop() {
        clearInterval(this.timer);
        this.timer = null;
    }

    send() {
        if (this.pending || !this.timer) return;
        this.pending = true;
        const began = Date.now();
        const late = setTimeout(() => this.note(false, `no answer to a ping for ${this.lateMs / 1000} s`), this.lateMs);
        late.unref();
        this.ping().then(
            () => this.note(true, null, Date.now() - began),
            (err) => this.note(false, err && err.message ? err.message : String(err)),
        ).finally(() => {
            clearTimeout(late);
            this.pending = false;
        });
    }

    note(answering, reason, tookMs) {
        const was = this.answering;
        this.answering = answering;
        this.failure = answering ? null : reason;
        if (answering === was) return;
        // The driver logs connections it loses; a database that stops answering on an open one is ours to say.
        if (answering) this.log.info(`MongoDB answers again (a ping took ${tookMs} ms)`);
        else this.log.warn(`MongoDB does not answer: ${reason}; flows keep running`);
    }
}

module.exports = { DbProbe, EVERY_MS, LATE_MS };

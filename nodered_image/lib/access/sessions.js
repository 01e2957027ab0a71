'use strict';
// When editor login sessions end besides a logout. Node-RED keeps its sessions ({user, client, scope,
// accessToken, expires}) in the storage's `sessions` document and never looks at them again after a
// change of the logins. Here every session gets, when Node-RED first saves it, the fingerprint of what
// its login rests on (config.js: an HMAC of the user's role and password, or of the single sign-on
// settings, under the credential key; never the password) and the time it began. When Node-RED loads
// the sessions (once, at its first token check after a start: every start follows a change of the
// environment), a session whose user is gone, whose fingerprint changed or that is older than
// NODE_RED_SESSION_HOURS is dropped, and the sessions document is saved without it; during a rotation of
// the credential key, a session fingerprinted under the key before is kept with the new key's. Node-RED's
// own sessionExpiryTime (set to the same hours) ends the others on every token check.
class SessionPolicy {
    // access: config.js's result; onEnded([{user, reason, count}]): sessions dropped at a load.
    constructor({ access, onEnded = () => {}, now = Date.now }) {
        this.access = access;
        this.maxAgeMs = access.sessionHours * 3600 * 1000;
        this.onEnded = onEnded;
        this.now = now;
        // Single sign-on users with a session: name -> their Node-RED permissions (Node-RED looks a
        // session's user up on every request; these users exist only at the provider).
        this.ssoUsers = new Map();
    }

    // [the fingerprint a session of this user has, the one it had under the credential key before a
    // rotation (null when none is under way)], or [null, null] for a user the editor no longer has.
    fingerprintsOf(user) {
        const local = this.access.users.get(user);
        if (local) return [local.fingerprint, local.previousFingerprint];
        return this.access.oidc ? [this.access.oidcFingerprint, this.access.oidcPreviousFingerprint] : [null, null];
    }

    fingerprintOf(user) {
        return this.fingerprintsOf(user)[0];
    }

    // Why a stored session may no longer be used, or null.
    problem(session, now) {
        if (!session || typeof session !== 'object' || typeof session.user !== 'string') return 'not a session';
        const [expected, before] = this.fingerprintsOf(session.user);
        if (!expected) return 'the user is no longer an editor user';
        if (session.fingerprint !== expected && !(before && session.fingerprint === before)) {
            return session.fingerprint ? "the user's password or role (or the single sign-on settings) changed"
                : 'it began before sessions were tied to a login';
        }
        if (!(session.startedAt + this.maxAgeMs > now)) return `it is older than ${this.access.sessionHours} h`;
        return null;
    }

    remember(session) {
        if (!this.access.users.has(session.user)) this.ssoUsers.set(session.user, session.scope);
    }

    // Whether the editor runs with the credential key before a rotation as well.
    rotating() {
        return [...this.access.users.values()].some((u) => u.previousFingerprint) || Boolean(this.access.oidcPreviousFingerprint);
    }

    // The storage module Node-RED gets: this policy on its sessions, everything else as it is. During a
    // rotation the sessions are re-keyed as soon as the storage is up, not at the first editor request:
    // an editor nobody used before it restarted on the new key alone would otherwise end them all.
    wrap(storage, { log = () => {} } = {}) {
        const loadSessions = async () => this.load(await storage.getSessions(), (kept) => storage.saveSessions(kept));
        return {
            ...storage,
            init: async (...args) => {
                const started = await storage.init(...args);
                if (this.rotating()) {
                    // A failure here leaves it to Node-RED's own first load, which runs the same policy.
                    await loadSessions().catch((err) => log('warn', `re-keying the editor sessions: ${err.message}`));
                }
                return started;
            },
            getSessions: loadSessions,
            saveSessions: (sessions) => storage.saveSessions(this.stamp(sessions)),
        };
    }

    async load(stored, save) {
        const now = this.now();
        const kept = {};
        const ended = new Map(); // "user\0reason" -> {user, reason, count}
        let rekeyed = false;
        for (const [token, session] of Object.entries(stored || {})) {
            const why = this.problem(session, now);
            if (why === null) {
                // Fingerprinted under the credential key before a rotation: the new key's from now on.
                const current = this.fingerprintOf(session.user);
                rekeyed = rekeyed || session.fingerprint !== current;
                kept[token] = session.fingerprint === current ? session : { ...session, fingerprint: current };
                this.remember(session);
                continue;
            }
            const user = session && typeof session.user === 'string' ? session.user : '?';
            const key = `${user}\0${why}`;
            if (!ended.has(key)) ended.set(key, { user, reason: why, count: 0 });
            ended.get(key).count += 1;
        }
        if (ended.size || rekeyed) await save(kept);
        if (ended.size) this.onEnded([...ended.values()]);
        return kept;
    }

    // Sessions Node-RED has just created get their fingerprint and start; none outlives the maximum age.
    stamp(sessions) {
        const now = this.now();
        for (const session of Object.values(sessions || {})) {
            if (!session || typeof session !== 'object' || session.fingerprint) continue;
            session.fingerprint = this.fingerprintOf(session.user);
            session.startedAt = now;
            session.expires = Math.min(session.expires || Infinity, now + this.maxAgeMs);
            this.remember(session);
        }
        return sessions;
    }
}

module.exports = { SessionPolicy };

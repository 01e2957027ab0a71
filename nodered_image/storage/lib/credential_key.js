'use strict';
// The credential key (NODE_RED_CREDENTIAL_SECRET) the database's flow credentials are encrypted with, and its
// rotation. docs/instances.md: "Credential key"; docs/operations.md: "Rotate the credential key".
//
// The database keeps the key's fingerprint (an HMAC-SHA256 of a fixed label under the key: it tells keys apart
// and gives nothing of the key away) in one document (database.json: singletons.credentialKey). The first
// instance to start on a database without one records its key's (after checking that its key decrypts the
// credentials already stored, if any). An instance whose key is not the database's refuses to serve: it never
// loads flows whose credentials it cannot decrypt (and would fail revision after revision), and an editor never
// saves credentials encrypted with a key no worker has. It says why in its log, /healthz (state `error`, the
// message) and its status record, and looks again every few seconds.
//
// A rotation gives every instance the new key and, as NODE_RED_PREVIOUS_CREDENTIAL_SECRET, the key before. Such
// an instance accepts a database on either key and hands Node-RED credentials encrypted with the new one
// (underCurrentKey). The editor re-encrypts the credentials of every kept revision that are still the previous
// key's, in place: the same revision (number and deployId) with the same credentials, so no instance reloads
// for it (the update also sets `credentialsKey`, which the followers take for a re-encryption, follower.js);
// then it records the new key's fingerprint, with the previous one beside it. From then on an instance with only
// the previous key refuses to serve, saying the key was rotated. While the editor has the previous key it
// looks again every NODE_RED_SYNC_CHECK_SECONDS (a rollback or a restore could bring old credentials back).
const crypto = require('crypto');
const { collection, singleton } = require('../../common/database');
const { encryptText, decryptText, decrypts } = require('./credential_cipher');

const LABEL = 'nodered-scale credential key fingerprint v1';
const KEY_DOC = singleton('credentialKey');
// How often a refusing instance reads the database's key again.
const RECHECK_MS = 5000;

const fingerprint = (secret) => crypto.createHmac('sha256', secret).update(LABEL).digest('hex');
// How a fingerprint shows in messages and status records: enough to tell keys apart.
const short = (fp) => (fp ? fp.slice(0, 12) : null);

// Node-RED's credentials ({$: ciphertext}) encrypted with the current key when the previous key is given and
// they are still that key's; anything else as it is. opts: the storage options.
function underCurrentKey(credentials, opts) {
    const ciphertext = credentials && typeof credentials.$ === 'string' ? credentials.$ : null;
    const { credentialSecret: current, previousCredentialSecret: previous } = opts;
    if (!ciphertext || !current || !previous || decrypts(current, ciphertext) || !decrypts(previous, ciphertext)) return credentials;
    return { $: encryptText(current, decryptText(previous, ciphertext)) };
}

class CredentialKey {
    // record(): starts the instance's status record (a refusal is written there).
    constructor({ db, opts, health, log, isClosed, record = () => {} }) {
        this.record = record;
        this.keys = collection(db, KEY_DOC.collection);
        this.flows = collection(db, 'flows');
        this.opts = opts;
        this.health = health;
        this.log = log;
        this.isClosed = isClosed;
        this.current = opts.credentialSecret;
        this.previous = opts.previousCredentialSecret || null;
        this.fp = fingerprint(this.current);
        this.previousFp = this.previous ? fingerprint(this.previous) : null;
        this.timer = null;
        this.wake = null;
        this.reencrypted = new Map(); // previous key's ciphertext -> the new key's, during a rotation
        health.credentialKey = short(this.fp);
    }

    // Resolves once this instance may serve with its keys (the editor with the previous key has re-encrypted
    // what is kept by then); while it may not, it refuses to serve and reads the database's key again.
    async admit() {
        let refused = null;
        for (;;) {
            if (this.isClosed()) throw new Error('storage closed while refusing to serve (credential key)');
            let reason;
            try {
                reason = await this.problem();
            } catch (err) {
                // MongoDB went away after the connection: read again, as every read at start does.
                this.log.warn(`reading the database's credential key failed (${err.message}); reading again in ${RECHECK_MS / 1000} s`);
                reason = undefined;
            }
            if (reason === null) break;
            if (reason && reason !== refused) {
                this.log.error(`refusing to serve: ${reason}`);
                this.health.refuse(reason);
                this.record();
                refused = reason;
            }
            await new Promise((resolve) => {
                this.wake = resolve;
                setTimeout(resolve, RECHECK_MS).unref();
            });
        }
        if (refused) {
            this.log.info('the credential key is the database\'s now: starting');
            this.health.refuse(null);
        }
        if (this.previous && this.opts.role === 'editor') {
            const again = () => this.rotate().catch((err) => this.log.warn(`re-encrypting credentials: ${err.message}; trying again`));
            await again(); // with both keys the editor serves either way; a failed pass is tried again below
            this.timer = setInterval(again, this.opts.syncCheckSeconds * 1000);
            this.timer.unref();
        }
    }

    close() {
        clearInterval(this.timer);
        if (this.wake) this.wake(); // a refusing instance stops looking at once
    }

    // Why this instance may not serve with its keys, or null. Records the key when the database has none.
    async problem() {
        let doc = await this.keys.findOne({ _id: KEY_DOC.id });
        if (!doc) {
            const claim = await this.firstKey();
            if (claim.problem) return claim.problem;
            try {
                await this.keys.insertOne({ _id: KEY_DOC.id, fingerprint: claim.fp, since: new Date(), by: this.opts.instanceId });
                this.log.info(`credential key ${short(claim.fp)} recorded for this database`);
            } catch (err) {
                if (err.code !== 11000) throw err; // another instance recorded one at the same moment: read it
            }
            doc = await this.keys.findOne({ _id: KEY_DOC.id });
        }
        if (doc.fingerprint === this.fp || (this.previousFp && doc.fingerprint === this.previousFp)) return null;
        const mine = `NODE_RED_CREDENTIAL_SECRET (key ${short(this.fp)})`;
        if (doc.previous === this.fp) {
            const when = doc.rotatedAt instanceof Date ? ` on ${doc.rotatedAt.toISOString()}` : '';
            return `${mine} is the key this database's credentials were rotated away from${when}; they are encrypted with ` +
                `key ${short(doc.fingerprint)} now: give this instance the new key`;
        }
        return `${mine} is not this database's credential key (key ${short(doc.fingerprint)}): its flows' credentials ` +
            'would not decrypt here, and a deploy from here would encrypt them with a key no other instance has';
    }

    // The key to record for a database that has none: {fp} of the key its stored credentials decrypt with (this
    // instance's, or during a rotation the previous one), or {problem} when neither decrypts them.
    async firstKey() {
        const [doc] = await this.flows.find({ _id: { $type: 'number' }, 'credentials.encrypted': { $type: 'string' } },
            { sort: { _id: -1 }, limit: 1, projection: { _id: 1, credentials: 1 } }).toArray();
        if (!doc) return { fp: this.fp };
        if (decrypts(this.current, doc.credentials.encrypted)) return { fp: this.fp };
        if (this.previous && decrypts(this.previous, doc.credentials.encrypted)) return { fp: this.previousFp };
        return {
            problem: `the credentials of revision ${doc._id} do not decrypt with NODE_RED_CREDENTIAL_SECRET ` +
                `(key ${short(this.fp)})${this.previous ? ' nor with NODE_RED_PREVIOUS_CREDENTIAL_SECRET' : ''}: ` +
                'this database was written with another key',
        };
    }

    // The editor, during a rotation: re-encrypts every kept revision whose credentials are the previous key's,
    // then records the new key as the database's. Returns how many revisions it re-encrypted.
    async rotate() {
        const docs = await this.flows.find({ 'credentials.encrypted': { $type: 'string' } },
            { projection: { _id: 1, deployId: 1, credentials: 1 } }).toArray();
        let done = 0;
        for (const doc of docs) {
            const old = doc.credentials.encrypted;
            if (decrypts(this.current, old) || !decrypts(this.previous, old)) continue;
            // Revisions that shared their credentials (a deploy that left them alone) share the new ciphertext too:
            // the history's "credentials changed" stays what it was.
            if (!this.reencrypted.has(old)) this.reencrypted.set(old, encryptText(this.current, decryptText(this.previous, old)));
            const encrypted = this.reencrypted.get(old);
            // Only if nothing changed them meanwhile; the same revision, the same credentials.
            const r = await this.flows.updateOne({ _id: doc._id, 'credentials.encrypted': old },
                { $set: { credentials: { encrypted }, credentialsKey: short(this.fp) } });
            done += r.modifiedCount;
        }
        const switched = await this.keys.updateOne({ _id: KEY_DOC.id, fingerprint: this.previousFp },
            { $set: { fingerprint: this.fp, previous: this.previousFp, rotatedAt: new Date(), rotatedBy: this.opts.instanceId } });
        if (switched.modifiedCount) {
            this.log.info(`credential key rotated: ${done} revision${done === 1 ? '' : 's'} re-encrypted with key ${short(this.fp)} ` +
                `(was ${short(this.previousFp)}); instances with only the previous key now refuse to serve`);
        } else if (done) {
            this.log.info(`${done} revision${done === 1 ? '' : 's'} with credentials of the previous key re-encrypted with key ${short(this.fp)}`);
        }
        return done;
    }

    // Why the editor must not save a deploy now, given the live workers' status records (versions.js:
    // liveWorkers), or null: a live worker runs another key (a rotation under way, its instances not all
    // replaced yet), and could not decrypt what this editor saves.
    deployProblem(records) {
        const own = short(this.fp);
        const others = records.filter((r) => typeof r.credentialKey === 'string' && r.credentialKey !== own);
        if (others.length === 0) return null;
        const names = others.slice(0, 5).map((r) => String(r._id)).join(', ');
        const more = others.length > 5 ? ` and ${others.length - 5} more` : '';
        return `${others.length} worker${others.length > 1 ? 's run' : ' runs'} another credential key than this editor's ` +
            `(${own}): ${names}${more}. A key rotation is under way: deploy again once every worker runs the new key`;
    }
}

module.exports = { CredentialKey, fingerprint, underCurrentKey, short };

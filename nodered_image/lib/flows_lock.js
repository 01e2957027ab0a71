'use strict';
// The lock of a stack whose flows come from files (stack config flows.source, docs/flows-as-code.md):
// the editor refuses deploys by people (POST /flows, /flow, PUT and DELETE /flow/:id, POST /cluster/deploy)
// with 409 naming the source, and admits one login only: the deploy token of `pulumi up`, which logs in
// through Node-RED's adminAuth.tokens as the user NODE_RED_FLOWS_DEPLOYER (pulumi:<stack>). Restarting
// the flows, viewing, debug and the cluster API's reads and rollback keep working.
//
// The editor knows the token's SHA-256 only (NODE_RED_FLOWS_DEPLOY_TOKEN_HASH): a random token of 48
// characters cannot be found from it, so the hash may sit in the plain environment.
const crypto = require('crypto');

const DEPLOYER = Symbol('flows deployer'); // marks the user object the deploy token logged in as
const HASH = /^[0-9a-f]{64}$/;
const STILL_WORKS = 'Restarting the flows, debug, the Cluster sidebar and a rollback still work.';

const sha256 = (text) => crypto.createHash('sha256').update(String(text), 'utf8').digest();

class FlowsLock {
    // source: the directory of the Pulumi project the flows come from; deployer: the user name the deploy
    // token logs in as; tokenHash: the token's SHA-256, hex.
    constructor({ source, deployer, tokenHash }) {
        if (!HASH.test(tokenHash || '')) throw new Error('the deploy token hash must be 64 lowercase hex digits (SHA-256)');
        this.source = source;
        this.deployer = deployer;
        this.hash = Buffer.from(tokenHash, 'hex');
    }

    // adminAuth.tokens: the deploy token's user, or null for any other token.
    async tokenUser(token) {
        if (typeof token !== 'string' || token === '' || !crypto.timingSafeEqual(sha256(token), this.hash)) return null;
        // Reading and deploying through the cluster API; no other admin permission.
        return { username: this.deployer, permissions: ['cluster.read', 'cluster.write'], [DEPLOYER]: true };
    }

    // Whether this login may deploy the flows while they are locked.
    admits(user) {
        return Boolean(user && user[DEPLOYER]);
    }

    describe() {
        return `this stack's flows come from ${this.source} in its Pulumi project and only \`pulumi up\` deploys them (as ${this.deployer})`;
    }

    // The answer to a deploy by anyone else.
    refusal() {
        return `deploy refused, nothing saved: ${this.describe()}: change them there (docs/flows-as-code.md). ${STILL_WORKS}`;
    }

    // What the editor's page is told (RED.settings): the lock notice and the disabled Deploy button.
    editorSettings() {
        const text = this.describe();
        const message = `${text[0].toUpperCase()}${text.slice(1)}: Deploy is disabled here; change them there (docs/flows-as-code.md). ${STILL_WORKS}`;
        return { source: this.source, deployer: this.deployer, message };
    }
}

module.exports = { FlowsLock };

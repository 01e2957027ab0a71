'use strict';
// What the flows files may say about credentials (docs/flows-as-code.md): never a value, only per node
// which properties a stack keeps in its own store ("stored"), and those that are an environment reference
// (`${NAME}`, which Node-RED resolves from the instance's environment when it starts the node: stack config
// flowSecrets/flows.env). The editor reads a revision's stored credentials with the stack's credential
// secret, as Node-RED does (aes-256-ctr, the key SHA-256 of the secret).
const crypto = require('crypto');
const { decodeCredentials, isPlainObject } = require('../../storage/lib/codec');

const STORED = 'stored';
// Node-RED's own rule for a credential that names an environment variable (runtime/lib/flows/util.js).
const ENV_REFERENCE = /^\$\{(\S+)\}$/;

const isReference = (value) => typeof value === 'string' && ENV_REFERENCE.test(value);

class CredentialsUnreadable extends Error {}

// {node id: {property: value}} of a revision document's credentials; throws when they cannot be read.
function storedCredentials(doc, credentialSecret) {
    const decoded = decodeCredentials(doc.credentials);
    if (typeof decoded.$ !== 'string') return decoded;
    if (!credentialSecret) throw new CredentialsUnreadable('the credentials are encrypted and the editor has no credential secret');
    const text = decoded.$;
    const key = crypto.createHash('sha256').update(credentialSecret).digest();
    const decipher = crypto.createDecipheriv('aes-256-ctr', key, Buffer.from(text.slice(0, 32), 'hex'));
    try {
        return JSON.parse(decipher.update(text.slice(32), 'base64', 'utf8') + decipher.final('utf8'));
    } catch {
        throw new CredentialsUnreadable('the credentials do not decrypt with this stack\'s credential secret');
    }
}

const isSet = (value) => value !== undefined && value !== null && value !== '';

// {node id: {property: "stored" | "${NAME}"}} for the nodes of `flows` that have credentials, in flow
// order, properties sorted: what the files' index lists.
function outline(flows, stored) {
    const out = {};
    for (const node of flows) {
        const creds = isPlainObject(stored[node.id]) ? stored[node.id] : null;
        if (!creds) continue;
        const props = Object.keys(creds).filter((p) => !p.startsWith('has_') && isSet(creds[p])).sort();
        if (props.length) out[node.id] = Object.fromEntries(props.map((p) => [p, isReference(creds[p]) ? creds[p] : STORED]));
    }
    return out;
}

// What deploying files with `wanted` (the index's outline) against the stored credentials `stored`
// does: the environment references to write ({id: {property: reference}} for Node-RED), whether any
// differs from what is stored, and per node the "stored" properties this stack lacks.
function plan(wanted, stored) {
    const write = {};
    const lacking = {};
    let changed = false;
    for (const [id, props] of Object.entries(wanted)) {
        const have = isPlainObject(stored[id]) ? stored[id] : {};
        for (const [prop, value] of Object.entries(props)) {
            if (value === STORED) {
                if (!isSet(have[prop])) (lacking[id] ||= []).push(prop);
            } else {
                (write[id] ||= {})[prop] = value;
                if (have[prop] !== value) changed = true;
            }
        }
    }
    return { write, changed, lacking };
}

module.exports = { CredentialsUnreadable, STORED, ENV_REFERENCE, isReference, storedCredentials, outline, plan };

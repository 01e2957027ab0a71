'use strict';
// Node-RED's own encryption of the credentials of a flow set (runtime/lib/nodes/credentials.js): aes-256-ctr,
// key sha256(credentialSecret), the ciphertext a hex IV followed by base64. What it decrypts to is the JSON of an
// object (node id -> credentials); a wrong key gives bytes that are not (decryptText throws). Node-RED only
// checks that they parse, which garbage as short as "{}" under another key sometimes does ("12"); an object is
// asked for here.
const crypto = require('crypto');

const ALGORITHM = 'aes-256-ctr';
const keyOf = (secret) => crypto.createHash('sha256').update(secret).digest();

// The ciphertext of `text` (the JSON of the credentials) under `secret`.
function encryptText(secret, text) {
    const iv = crypto.randomBytes(16);
    const cipher = crypto.createCipheriv(ALGORITHM, keyOf(secret), iv);
    return iv.toString('hex') + cipher.update(text, 'utf8', 'base64') + cipher.final('base64');
}

// The JSON text `ciphertext` holds under `secret`; throws when `secret` is not its key.
function decryptText(secret, ciphertext) {
    const decipher = crypto.createDecipheriv(ALGORITHM, keyOf(secret), Buffer.from(ciphertext.substring(0, 32), 'hex'));
    const text = decipher.update(ciphertext.substring(32), 'base64', 'utf8') + decipher.final('utf8');
    const value = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not the credentials of a flow set');
    return text;
}

// Whether `secret` decrypts `ciphertext`.
function decrypts(secret, ciphertext) {
    try {
        decryptText(secret, ciphertext);
        return true;
    } catch {
        return false;
    }
}

module.exports = { encryptText, decryptText, decrypts };

'use strict';
// A revision without credentials (flows with no credential nodes, or nothing saved yet) is handed to
// Node-RED as an encrypted empty set, not as {}: with a credentialSecret set, Node-RED expects its
// credentials encrypted and logs "Encrypted credentials not found" for {} on every load, which is
// every reload of every worker. The encryption is Node-RED's own scheme (runtime/lib/nodes/credentials.js:
// aes-256-ctr, key sha256(credentialSecret), hex IV followed by base64 ciphertext), so it decrypts to {}.
const crypto = require('crypto');

function encryptedEmpty(credentialSecret) {
    const key = crypto.createHash('sha256').update(credentialSecret).digest();
    const iv = crypto.randomBytes(16);
    const cipher = crypto.createCipheriv('aes-256-ctr', key, iv);
    return { $: iv.toString('hex') + cipher.update('{}', 'utf8', 'base64') + cipher.final('base64') };
}

// The credentials to hand Node-RED: as stored, or an encrypted empty set when there are none.
function credentialsForNodeRed(credentials, credentialSecret) {
    const none = !credentials || Object.keys(credentials).length === 0;
    return none && typeof credentialSecret === 'string' && credentialSecret ? encryptedEmpty(credentialSecret) : credentials;
}

module.exports = { credentialsForNodeRed, encryptedEmpty };

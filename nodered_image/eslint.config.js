'use strict';
// ESLint for every JavaScript file of ours: the launcher and settings, the storage module, their tests,
// the MongoDB replica-set scripts and the benchmarks' Node.js helpers. `npm run lint` here runs it from the
// repository root (paths below are relative to it), so ../mongo and ../bench are linted with the same rules
// and the same indentation.
const js = require('@eslint/js');
const stylistic = require('@stylistic/eslint-plugin');
const globals = require('globals');

module.exports = [
    { ignores: ['**/node_modules/**'] },
    js.configs.recommended,
    {
        files: ['nodered_image/**/*.js', 'mongo/**/*.js', 'bench/**/*.js'],
        languageOptions: { sourceType: 'commonjs', ecmaVersion: 2023, globals: { ...globals.node } },
        plugins: { '@stylistic': stylistic },
        rules: {
            // One indentation across the project's JavaScript (Node-RED's own style too).
            '@stylistic/indent': ['error', 4, { SwitchCase: 1 }],
            '@stylistic/no-tabs': 'error',
            '@stylistic/no-trailing-spaces': 'error',
            '@stylistic/eol-last': 'error',
            '@stylistic/semi': 'error',
        },
    },
    {
        // ES modules run by Node (the tests' OpenID provider: oidc-provider is ESM only).
        files: ['nodered_image/**/*.mjs'],
        languageOptions: { sourceType: 'module', ecmaVersion: 2023, globals: { ...globals.node } },
        plugins: { '@stylistic': stylistic },
        rules: { '@stylistic/indent': ['error', 4, { SwitchCase: 1 }], '@stylistic/semi': 'error' },
    },
    {
        // Run by mongosh inside the database containers (its shell globals), not by Node.
        files: ['mongo/*.js'],
        languageOptions: { sourceType: 'script', globals: { rs: 'readonly', db: 'readonly', print: 'readonly', quit: 'readonly' } },
    },
];

'use strict';
// The image runs server.js from the files the Dockerfile copies, and there is no Docker engine to
// build it in the tests: every file the launcher loads (its requires, followed from server.js) must be
// one the Dockerfile copies, at the same place relative to the launcher, or the image fails to start.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');

const IMAGE_DIR = path.resolve(__dirname, '..');
const APP = '/usr/src/node-red/nodered-scale/';
// Packages of ours the launcher requires by name (package.json "file:" dependencies).
const OWN_PACKAGES = { 'nodered-scale-storage': 'storage/index.js', 'nodered-scale-context': 'context/index.js' };

// Where the Dockerfile puts each file it copies into the launcher's folder, relative to that folder.
function copiedFiles() {
    const files = new Set();
    const text = fs.readFileSync(path.join(IMAGE_DIR, 'Dockerfile'), 'utf8');
    for (const line of text.split('\n')) {
        const m = /^COPY\s+(?:--\S+\s+)*(.+)$/.exec(line.trim());
        if (!m) continue;
        const args = m[1].split(/\s+/);
        const dest = args.pop();
        assert.ok(dest.startsWith(APP), `COPY into the launcher's folder: ${line}`);
        const destDir = dest.slice(APP.length);
        for (const src of args) {
            const full = path.join(IMAGE_DIR, src);
            if (fs.statSync(full).isDirectory()) {
                // A directory's contents land in dest itself.
                for (const f of fs.readdirSync(full, { recursive: true })) files.add(path.join(destDir, f));
            } else {
                files.add(path.join(destDir, path.basename(src)));
            }
        }
    }
    return files;
}

// A Node-RED package of ours (package.json's node-red `kind`: nodes or plugins): each .js and its .html
// exists and the Dockerfile copies it.
function assertPackageCopied(copied, dir, kind) {
    const pkg = require(path.join(IMAGE_DIR, dir, 'package.json'));
    const files = ['package.json'];
    for (const js of Object.values(pkg['node-red'][kind])) files.push(js, js.replace(/\.js$/, '.html'));
    for (const f of files) {
        assert.ok(fs.existsSync(path.join(IMAGE_DIR, dir, f)), `${dir}/${f} exists`);
        assert.ok(copied.has(path.join(dir, f)), `the Dockerfile copies ${dir}/${f}`);
    }
}

function resolveLocal(fromFile, spec) {
    const base = path.resolve(path.dirname(fromFile), spec);
    for (const candidate of [base, `${base}.js`, `${base}.json`, path.join(base, 'index.js')]) {
        if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
    }
    throw new Error(`${path.relative(IMAGE_DIR, fromFile)}: cannot resolve ${spec}`);
}

// Files of ours loaded when `entry` runs, following relative requires and our own packages.
function loadedFiles(entry = 'server.js') {
    const seen = new Set();
    const todo = [path.join(IMAGE_DIR, entry)];
    while (todo.length) {
        const file = todo.pop();
        if (seen.has(file)) continue;
        seen.add(file);
        if (!file.endsWith('.js')) continue;
        const source = fs.readFileSync(file, 'utf8');
        for (const [, spec] of source.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
            if (spec.startsWith('.')) todo.push(resolveLocal(file, spec));
            else if (OWN_PACKAGES[spec]) todo.push(path.join(IMAGE_DIR, OWN_PACKAGES[spec]));
        }
    }
    return [...seen].map((f) => path.relative(IMAGE_DIR, f));
}

test('the editor plugin settings.js points Node-RED at is copied into the image, every file of it', () => {
    const copied = copiedFiles();
    const settingsText = fs.readFileSync(path.join(IMAGE_DIR, 'settings.js'), 'utf8');
    assert.match(settingsText, /isEditor \? \[path\.join\(__dirname, 'editor_plugin'\)\]/);
    assertPackageCopied(copied, 'editor_plugin', 'plugins');
});

test('the palette nodes settings.js points every instance at are copied into the image, with the module they load', () => {
    // Guards a flow using shared-atomic: a type missing on the workers stops their flows.
    const copied = copiedFiles();
    const settingsText = fs.readFileSync(path.join(IMAGE_DIR, 'settings.js'), 'utf8');
    assert.match(settingsText, /nodesDir: \[path\.join\(__dirname, 'palette_nodes'\),/);
    assertPackageCopied(copied, 'palette_nodes', 'nodes');
    const source = fs.readFileSync(path.join(IMAGE_DIR, 'palette_nodes', 'shared_atomic.js'), 'utf8');
    assert.match(source, /require\('nodered-scale-shared'\)/);
    const deps = JSON.parse(fs.readFileSync(path.join(IMAGE_DIR, 'package.json'), 'utf8')).dependencies;
    assert.equal(deps['nodered-scale-shared'], 'file:nodered-scale-shared', 'the image\'s npm ci links the module the node loads');
    assert.ok(copied.has(path.join('nodered-scale-shared', 'index.js')));
});

test('every file the launcher loads is copied into the image', () => {
    const copied = copiedFiles();
    const loaded = loadedFiles();
    assert.ok(loaded.includes('lib/gate.js') && loaded.includes('storage/lib/reloader.js') && loaded.includes('context/lib/store.js'),
        `followed the requires: ${loaded}`);
    const missing = loaded.filter((f) => !copied.has(f));
    assert.deepEqual(missing, [], 'files the Dockerfile does not copy to the same place relative to server.js');
});

test('every file the database setup loads is copied into the image (the aws target runs it before the editor)', () => {
    const copied = copiedFiles();
    const loaded = loadedFiles('storage/db_setup.js');
    assert.ok(loaded.includes('database.json') && loaded.includes('storage/lib/collections.js'), `followed the requires: ${loaded}`);
    assert.deepEqual(loaded.filter((f) => !copied.has(f)), [], 'files the Dockerfile does not copy');
});

test('the image starts Node-RED with the same node flags as the local stack (package.json start script)', () => {
    // Guards one source of truth: a V8 flag (e.g. the young generation's size) set for one and not the
    // other would make every figure measured on the local stack wrong for the image.
    const start = JSON.parse(fs.readFileSync(path.join(IMAGE_DIR, 'package.json'), 'utf8')).scripts.start.split(/\s+/);
    const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(fs.readFileSync(path.join(IMAGE_DIR, 'Dockerfile'), 'utf8'));
    assert.ok(cmd, 'the Dockerfile has an exec-form CMD');
    const image = JSON.parse(cmd[1]);
    assert.equal(image[0], 'node');
    assert.equal(start[0], 'node');
    assert.deepEqual(image.slice(1, -1), start.slice(1, -1), 'node flags');
    assert.equal(path.posix.relative(APP, image.at(-1)), start.at(-1));
    assert.ok(start.includes('--max-semi-space-size=2'));
});

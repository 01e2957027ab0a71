'use strict';
// npm modules for function nodes (their Setup tab), baked into the image, never installed at run time.
//
// Node-RED (functionExternalModules, @node-red/registry lib/externalModules.js) loads a function node's
// module from <userDir>/node_modules/<name> and allows only the modules <userDir>/package.json lists as
// dependencies (and Node.js's built-in ones); with externalModules.modules.allowInstall false it installs
// nothing, and flows naming another module fail to start. At start the launcher makes userDir say exactly
// what the image has:
//   - the modules baked into NODE_RED_FUNCTION_MODULES_DIR (contract.json functionModules.dir; the
//     Dockerfile runs bake-function-modules.sh with image.functionModules): that dir's package.json
//     dependencies, each linked from <userDir>/node_modules to <dir>/node_modules;
//   - the image's own modules flows may always use (functionModules.imageModules), linked to where the
//     launcher's package resolves them.
// The editor's deploy guard refuses a function node naming any other module (missingModules below).
const fs = require('fs');
const path = require('path');
const { builtinModules } = require('module');

const contract = require('../contract.json');

const BUILTIN = new Set(builtinModules);

// The package name of a function node's module spec ("lodash", "lodash/fp", "@scope/x@1.2.3", "node:fs").
function moduleName(spec) {
    const m = /^((?:@[^/@]+\/)?[^/@]+)/.exec(String(spec).trim());
    return m ? m[1] : null;
}

function isBuiltin(name) {
    return BUILTIN.has(name.startsWith('node:') ? name.slice(5) : name);
}

// name -> directory of every module function nodes may use besides the built-in ones.
function availableModules({ dir, imageModules = contract.functionModules.imageModules, resolveFrom = __dirname }) {
    const found = new Map();
    let deps = {};
    try {
        deps = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies || {};
    } catch (err) {
        if (err.code !== 'ENOENT') throw new Error(`${path.join(dir, 'package.json')}: ${err.message}`, { cause: err });
    }
    for (const name of Object.keys(deps)) found.set(name, path.join(dir, 'node_modules', name));
    for (const name of imageModules) {
        found.set(name, path.dirname(require.resolve(`${name}/package.json`, { paths: [resolveFrom] })));
    }
    return found;
}

// Makes <userDir>/package.json and <userDir>/node_modules name exactly `modules` (name -> directory).
function linkIntoUserDir(userDir, modules) {
    const pkgFile = path.join(userDir, 'package.json');
    let pkg = { name: 'nodered-scale-instance', version: '0.0.1', private: true };
    if (fs.existsSync(pkgFile)) pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
    pkg.dependencies = Object.fromEntries([...modules.keys()].sort().map((name) => [name, '*']));
    fs.writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
    const nodeModules = path.join(userDir, 'node_modules');
    fs.rmSync(nodeModules, { recursive: true, force: true }); // links only: their targets stay
    for (const [name, target] of modules) {
        if (!fs.existsSync(path.join(target, 'package.json'))) throw new Error(`function module ${name}: ${target} has no package.json`);
        const link = path.join(nodeModules, name);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(target, link, 'dir');
    }
}

// {module -> [node ids]} of modules the function nodes in `nodes` name that are neither built in nor in
// `available` (a Set or Map of names). Disabled nodes are skipped, as Node-RED skips them.
function missingModules(nodes, available) {
    const missing = new Map();
    for (const n of Array.isArray(nodes) ? nodes : []) {
        if (!n || n.type !== 'function' || n.d || !Array.isArray(n.libs)) continue;
        for (const lib of n.libs) {
            const spec = lib && typeof lib === 'object' ? lib.module : lib;
            if (typeof spec !== 'string' || spec.trim() === '') continue;
            const name = moduleName(spec) || spec;
            if (isBuiltin(name) || available.has(name)) continue;
            if (!missing.has(name)) missing.set(name, []);
            missing.get(name).push(n.id);
        }
    }
    return missing;
}

module.exports = { availableModules, linkIntoUserDir, missingModules, moduleName };

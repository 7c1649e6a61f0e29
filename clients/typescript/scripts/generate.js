#!/usr/bin/env node
// Generates the SDK's typed view of the contract from protos/:
//   generated/protos/  a copy of protos/ without the google.api.http rules, loaded at run time by
//                      @grpc/proto-loader (the rules serve the hub's JSON transcoding; a gRPC client has no use
//                      for them, and loading them would need googleapis' annotations.proto);
//   src/generated/     TypeScript interfaces of those protos from proto-loader-gen-types, compiled with the SDK.
// Both folders are git-ignored. `npm run build` runs this before tsc.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ANNOTATIONS_IMPORT = /^[ \t]*import[ \t]+"google\/api\/annotations\.proto"[ \t]*;[ \t]*\r?\n?/gm;
const HTTP_OPTION = /option\s*\(\s*google\.api\.http\s*\)\s*=\s*\{/y;

/**
 * Returns the proto source without the annotations import and the `option (google.api.http) = {...};` blocks.
 * Braces inside string literals (route templates such as "/v1/signals/{signal_id}") and comments do not count
 * when finding the end of a block, and blocks may nest (additional_bindings { ... }).
 * @param {string} text
 * @returns {string}
 */
function stripHttpRules(text) {
  text = text.replace(ANNOTATIONS_IMPORT, '');
  let out = '';
  let i = 0;
  while (i < text.length) {
    const skipped = skipCommentOrString(text, i);
    if (skipped > i) {
      out += text.slice(i, skipped);
      i = skipped;
      continue;
    }
    HTTP_OPTION.lastIndex = i;
    const match = HTTP_OPTION.exec(text);
    if (match) {
      i = skipBlock(text, i + match[0].length);
      const semicolon = /\s*;/y;
      semicolon.lastIndex = i;
      if (!semicolon.exec(text)) {
        throw new Error("a google.api.http option block is not followed by ';'");
      }
      i = semicolon.lastIndex;
      // When the option stood on lines of its own, drop those lines too.
      const lineStart = out.lastIndexOf('\n') + 1;
      if (out.slice(lineStart).trim() === '') {
        out = out.slice(0, lineStart);
        const rest = /[ \t]*\r?\n/y;
        rest.lastIndex = i;
        if (rest.exec(text)) {
          i = rest.lastIndex;
        }
      }
      continue;
    }
    out += text[i];
    i += 1;
  }
  return out;
}

/** @param {string} text @param {number} i @returns {number} the index after a comment or string at i, or i */
function skipCommentOrString(text, i) {
  if (text.startsWith('//', i)) {
    const end = text.indexOf('\n', i);
    return end < 0 ? text.length : end;
  }
  if (text.startsWith('/*', i)) {
    const end = text.indexOf('*/', i + 2);
    return end < 0 ? text.length : end + 2;
  }
  const quote = text[i];
  if (quote === '"' || quote === "'") {
    for (let j = i + 1; j < text.length; j += 1) {
      if (text[j] === '\\') {
        j += 1;
      } else if (text[j] === quote) {
        return j + 1;
      }
    }
    throw new Error('unterminated string literal');
  }
  return i;
}

/** @param {string} text @param {number} i just after an opening brace @returns {number} just after its match */
function skipBlock(text, i) {
  let depth = 1;
  while (i < text.length) {
    const skipped = skipCommentOrString(text, i);
    if (skipped > i) {
      i = skipped;
      continue;
    }
    if (text[i] === '{') {
      depth += 1;
    } else if (text[i] === '}') {
      depth -= 1;
      if (depth === 0) {
        return i + 1;
      }
    }
    i += 1;
  }
  throw new Error('unterminated google.api.http option block');
}

/** The proto-loader options the SDK loads the protos with; the generated types describe exactly these. */
const LOADER_OPTIONS = Object.freeze({ keepCase: false, longs: 'String', enums: 'String', defaults: true, oneofs: true });

/**
 * @param {string} protos the contract's folder (protos/)
 * @param {string} packageRoot this package's folder
 */
function generate(protos, packageRoot) {
  const strippedRoot = path.join(packageRoot, 'generated', 'protos');
  const typesRoot = path.join(packageRoot, 'src', 'generated');
  fs.rmSync(strippedRoot, { recursive: true, force: true });
  fs.rmSync(typesRoot, { recursive: true, force: true });
  /** @type {string[]} */
  const files = [];
  /** @param {string} dir */
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (entry.name.endsWith('.proto')) {
        const relative = path.relative(protos, full);
        const target = path.join(strippedRoot, relative);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, stripHttpRules(fs.readFileSync(full, 'utf8')));
        files.push(relative.split(path.sep).join('/'));
      }
    }
  };
  walk(protos);
  files.sort();
  const bin = require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js');
  execFileSync(process.execPath, [
    bin, '--longs=String', '--enums=String', '--defaults', '--oneofs', '--grpcLib=@grpc/grpc-js',
    '-I', strippedRoot, '-O', typesRoot, ...files,
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  fs.writeFileSync(path.join(strippedRoot, 'files.json'), JSON.stringify(files, null, 2) + '\n');
}

module.exports = { stripHttpRules, generate, LOADER_OPTIONS };

if (require.main === module) {
  const packageRoot = path.resolve(__dirname, '..');
  generate(path.resolve(packageRoot, '..', '..', 'protos'), packageRoot);
  console.log('generated generated/protos and src/generated');
}

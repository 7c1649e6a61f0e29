// The preprocessing step of scripts/generate.js: protos/ without the google.api.http rules.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { stripHttpRules } from '../scripts/generate';

const contract = path.resolve(__dirname, '..', '..', '..', '..', 'protos', 'hashhub', 'v1');

describe('stripHttpRules', () => {
  it('strip_ruleWithRouteBraces_removesBlockAndKeepsRpc', () => {
    const source = [
      'syntax = "proto3";',
      'import "google/api/annotations.proto";',
      'import "hashhub/v1/signals.proto";',
      'service S {',
      '  rpc Get(A) returns (B) {',
      '    option (google.api.http) = {',
      '      get: "/v1/signals/{signal_id}"',
      '      additional_bindings { get: "/v1/signals:lookup" }',
      '    };',
      '  }',
      '}',
      '',
    ].join('\n');
    assert.equal(
      stripHttpRules(source),
      ['syntax = "proto3";', 'import "hashhub/v1/signals.proto";', 'service S {', '  rpc Get(A) returns (B) {', '  }', '}', ''].join(
        '\n',
      ),
    );
  });

  it('strip_ruleOnOneLine_keepsTheRestOfTheLine', () => {
    const source = 'rpc A(X) returns (Y) { option (google.api.http) = { post: "/v1/a" body: "*" }; }\n';
    assert.equal(stripHttpRules(source), 'rpc A(X) returns (Y) {  }\n');
  });

  it('strip_commentsAndOtherOptions_untouched', () => {
    const source = [
      '// option (google.api.http) = { get: "/x" }; is how a rule reads',
      '/* a { brace */',
      'option csharp_namespace = "HashHub.Protos.V1";',
      'rpc A(X) returns (Y) { option deprecated = true; }',
      '',
    ].join('\n');
    assert.equal(stripHttpRules(source), source);
  });

  it('strip_unterminatedBlock_throws', () => {
    assert.throws(() => stripHttpRules('rpc A(X) returns (Y) { option (google.api.http) = { get: "/v1/{a}" '));
  });

  it('strip_everyContractFile_leavesNoGoogleApi', () => {
    const files = fs.readdirSync(contract).filter((f) => f.endsWith('.proto'));
    assert.ok(files.length > 0);
    for (const file of files) {
      const stripped = stripHttpRules(fs.readFileSync(path.join(contract, file), 'utf8'));
      assert.ok(!stripped.includes('google/api'), file);
      assert.ok(!stripped.includes('google.api.http'), file);
    }
  });
});

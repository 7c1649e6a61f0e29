// The bootstrap's failure paths, against an in-process stand-in for the hub (a grpc-js server on loopback): a hub
// without snapshots (UNIMPLEMENTED) is read from its log, and a snapshot stream that ends before its cursor chunk is
// read again from its start. The real hub neither lacks snapshots nor breaks a stream on demand.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import { ClientCredentials, GrpcStatus, HubClient, HubError, type Page } from '../src';

// dist/test: the package root holds generated/protos (written by `npm run generate`).
const protos = path.resolve(__dirname, '..', '..', 'generated', 'protos');
const contract = (() => {
  const files = JSON.parse(fs.readFileSync(path.join(protos, 'files.json'), 'utf8')) as string[];
  const definition = protoLoader.loadSync(files, { includeDirs: [protos], keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  return (grpc.loadPackageDefinition(definition) as any).hashhub.v1;
})();

const record = (id: string, status = 'SIGNAL_STATUS_ACTIVE') => ({ id, status, signal: { type: 'SIGNAL_TYPE_MD5', value: id.repeat(32) } });

/** A log of four changes: a and b created, b retracted, then c, after the snapshot's position (3). */
const LOG = [
  { kind: 'CHANGE_KIND_CREATED', signal: record('a'), cursor: '1' },
  { kind: 'CHANGE_KIND_CREATED', signal: record('b'), cursor: '2' },
  { kind: 'CHANGE_KIND_RETRACTED', signal: record('b', 'SIGNAL_STATUS_RETRACTED'), cursor: '3' },
  { kind: 'CHANGE_KIND_CREATED', signal: record('c'), cursor: '4' },
];

/** Never asks a token endpoint: the stand-in takes any token. */
class FixedToken extends ClientCredentials {
  constructor() {
    super({ tokenUrl: 'http://127.0.0.1:1/unused', clientId: '', clientSecret: '' });
  }

  override async getToken(): Promise<string> {
    return 'token';
  }
}

/**
 * Starts the stand-in: the log, and with `snapshots` a snapshot at position 3 (only a is live there) whose first
 * stream ends after one chunk, before its cursor chunk, as when the connection breaks; with `miscount` every stream
 * says it held one record more than it did.
 */
async function standIn(snapshots: 'none' | 'breaking' | 'miscount', retries?: number) {
  const cursors: string[] = [];
  let calls = 0;
  const server = new grpc.Server();
  server.addService(contract.Sync.service, {
    ReadChanges: (call: any, callback: grpc.sendUnaryData<unknown>) => {
      const from: string = call.request.cursor;
      cursors.push(from);
      const after = LOG.filter((c) => Number(c.cursor) > Number(from || '0'));
      callback(null, { changes: after, nextCursor: after.length ? after[after.length - 1].cursor : from, hasMore: false });
    },
  });
  if (snapshots !== 'none') {
    server.addService(contract.Snapshots.service, {
      ReadSnapshot: (call: any) => {
        calls += 1;
        call.write({ signals: [record('a')] });
        if (calls === 1 && snapshots === 'breaking') {
          call.end();
          return;
        }
        call.write({ cursor: '3', totalSignals: snapshots === 'miscount' ? '2' : '1' });
        call.end();
      },
    });
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const client = new HubClient({ address: `127.0.0.1:${port}`, tokenUrl: '', clientId: '', clientSecret: '', credentials: new FixedToken(), retries });
  return {
    client,
    cursors,
    calls: () => calls,
    close: () => {
      client.close();
      server.forceShutdown();
    },
  };
}

async function collect(pages: AsyncIterable<Page>): Promise<Page[]> {
  const all: Page[] = [];
  for await (const page of pages) {
    all.push(page);
  }
  return all;
}

describe('HubClient bootstrap failure paths', () => {
  it('sync_hubWithoutSnapshots_readsWholeLogAndStopsAsking', async () => {
    const hub = await standIn('none');
    try {
      const pages = await collect(hub.client.syncPages(''));
      assert.ok(!pages.some((p) => p.fromSnapshot || p.reset));
      assert.deepEqual(pages.flatMap((p) => p.changes.map((c) => c.cursor)), ['1', '2', '3', '4']);
      assert.equal(hub.client.bootstrapFromSnapshot, false); // UNIMPLEMENTED once: the log from then on
      assert.deepEqual(hub.cursors, ['']);
    } finally {
      hub.close();
    }
  });

  it('sync_snapshotStreamEndsBeforeCursor_readsItAgainAndResets', async () => {
    const hub = await standIn('breaking');
    try {
      const pages = await collect(hub.client.syncPages('', { pageSize: 1 }));
      assert.equal(hub.calls(), 2);
      // The first attempt's page, then the second attempt from its start (resetting again), then the log after 3.
      assert.deepEqual(
        pages.map((p) => [p.fromSnapshot, p.reset, p.cursor, p.changes.map((c) => c.signal!.id)]),
        [
          [true, true, '', ['a']],
          [true, true, '', ['a']],
          [true, false, '3', []],
          [false, false, '4', ['c']],
        ],
      );
      assert.deepEqual(hub.cursors, ['3']);
    } finally {
      hub.close();
    }
  });

  it('sync_snapshotShortOfItsTotal_isReadAgainThenThrowsDataLoss', async () => {
    const hub = await standIn('miscount', 1);
    try {
      await assert.rejects(collect(hub.client.syncPages('')), (e: unknown) => e instanceof HubError && e.code === GrpcStatus.DATA_LOSS);
      assert.equal(hub.calls(), 2); // read again once (retries: 1), then the error
      assert.deepEqual(hub.cursors, []); // no log read from a snapshot that did not add up
    } finally {
      hub.close();
    }
  });
});

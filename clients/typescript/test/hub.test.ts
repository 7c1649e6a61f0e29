// The SDK against a real hub process (started by clients/sdk-tests.sh, which sets the HASHHUB_* variables):
// members A and B, A's takedowns reaching B by paged sync, live subscription and hub-side match.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import * as ts from 'typescript';

import {
  ClientCredentials,
  GrpcStatus,
  HubClient,
  HubError,
  TokenError,
  md5,
  outcome,
  pdq,
  sha256,
  takedown,
  type Change,
  type Page,
  type Signal,
  type SignalRecord,
  type SubscriptionEvent,
} from '../src';

const LABELS = ['behavior:glorification', 'content_type:image'];
const WAIT_MS = 30_000; // generous: a change reaches a live subscriber well within a second on an idle machine
// A hub start takes seconds, more on a busy machine, and the channel's reconnect backoff comes on top.
const RESTART_WAIT_MS = 180_000;

function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests with clients/sdk-tests.sh, which starts a hub`);
  }
  return value;
}

function member(letter: 'A' | 'B', options: { bootstrapFromSnapshot?: boolean } = {}): HubClient {
  return new HubClient({
    address: env('HASHHUB_ADDRESS'),
    tokenUrl: env('HASHHUB_TOKEN_URL'),
    clientId: env(`HASHHUB_${letter}_CLIENT_ID`),
    clientSecret: env(`HASHHUB_${letter}_CLIENT_SECRET`),
    ...options,
  });
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function flipBits(value: string, bits: number[]): string {
  let n = BigInt('0x' + value);
  for (const bit of bits) {
    n ^= 1n << BigInt(bit);
  }
  return n.toString(16).padStart(64, '0');
}

/**
 * A loopback TCP proxy to the hub whose connections the test can cut, as a hub restart or a network failure
 * would: the listening port stays, so the client can reconnect through it.
 */
async function cuttableProxy(target: string) {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of sockets) {
      socket.destroy();
    }
  };
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut,
    close: () => {
      server.close();
      cut();
    },
  };
}

/** Runs clients/sdk-hub.sh (`kill`: SIGKILL, `start`: on the same ports and data folder). */
async function hub(command: 'kill' | 'start'): Promise<void> {
  await promisify(execFile)(env('HASHHUB_HUB_CONTROL'), [command], { timeout: RESTART_WAIT_MS });
}

/** A free loopback port, for a hub of the test's own. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A hub of its own (clients/sdk-hub.sh on new ports and an empty data folder) with one member, for the tests that
 * need the hub's first snapshot to be made when they first ask for one. `stop()` stops it and removes its data.
 */
async function freshHub() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hashhub-sdk-fresh-'));
  const grpcPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === grpcPort) {
    httpPort = await freePort();
  }
  const hubEnv = { ...process.env, HASHHUB_HUB_DIR: dir, HASHHUB_HUB_GRPC_PORT: String(grpcPort), HASHHUB_HUB_HTTP_PORT: String(httpPort) };
  const run = async (...args: string[]) =>
    (await promisify(execFile)(env('HASHHUB_HUB_CONTROL'), args, { env: hubEnv, timeout: RESTART_WAIT_MS })).stdout;
  const stop = async () => {
    await run('stop');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const added = await run('run', 'admin', 'add-member', 'SDK Fresh Member', '--no-probation');
    const clientId = /^client_id: *(\S+)$/m.exec(added)![1];
    const clientSecret = /^client_secret: *(\S+)$/m.exec(added)![1];
    await run('start');
    const client = (options: { bootstrapFromSnapshot?: boolean } = {}) =>
      new HubClient({
        address: `127.0.0.1:${grpcPort}`,
        tokenUrl: `http://127.0.0.1:${httpPort}/connect/token`,
        clientId,
        clientSecret,
        ...options,
      });
    return { client, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A member's local copy as an application keeps it from the pages: live signals by id, and the cursor stored with each page. */
class Copy {
  signals = new Map<string, SignalRecord>();
  cursor = '';

  apply(page: Page): void {
    if (page.reset) {
      this.signals.clear();
    }
    for (const change of page.changes) {
      if (change.kind === 'CHANGE_KIND_RETRACTED') {
        this.signals.delete(change.signal!.id);
      } else {
        this.signals.set(change.signal!.id, change.signal!);
      }
    }
    this.cursor = page.cursor;
  }

  /** The copy in a form deepEqual compares whatever the order the signals came in. */
  sorted(): [string, SignalRecord][] {
    return [...this.signals.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  }
}

async function syncToEnd(client: HubClient, cursor = '', pageSize = 0) {
  const changes: Change[] = [];
  let pages = 0;
  for await (const page of client.syncPages(cursor, { pageSize })) {
    changes.push(...page.changes);
    cursor = page.cursor;
    pages += 1;
  }
  return { changes, cursor, pages };
}

/** Reads events until one satisfies the predicate; the subscription is closed after WAIT_MS whatever happens. */
async function waitFor(events: AsyncIterator<SubscriptionEvent>, predicate: (e: SubscriptionEvent) => boolean) {
  for (;;) {
    const next = await events.next();
    if (next.done) {
      assert.fail('the subscription ended before the expected event');
    }
    if (predicate(next.value)) {
      return next.value;
    }
  }
}

describe('HubClient against a real hub', () => {
  let a: HubClient;
  let b: HubClient;
  let bLog: HubClient; // reads the whole log from an empty cursor, as the tests of the log's paging need

  before(() => {
    a = member('A');
    b = member('B');
    bLog = member('B', { bootstrapFromSnapshot: false });
  });

  after(() => {
    a.close();
    b.close();
    bLog.close();
  });

  const contribute = async (...signals: Signal[]) =>
    (await a.contribute(signals.map((s) => takedown(s, LABELS, { sourceKind: 'SOURCE_KIND_LIVESTREAM', caseReference: 'CASE-TS' }))))
      .results;

  it('token_freshCredentials_fetchesThenReusesUntilRefreshDue', async () => {
    let now = 1_000_000;
    const credentials = new ClientCredentials({
      tokenUrl: env('HASHHUB_TOKEN_URL'),
      clientId: env('HASHHUB_A_CLIENT_ID'),
      clientSecret: env('HASHHUB_A_CLIENT_SECRET'),
      clock: () => now,
    });
    const first = await credentials.getToken();
    now += 30_000;
    assert.equal(await credentials.getToken(), first);
    assert.equal(credentials.fetches, 1);
    // The hub's tokens live 10 minutes; past the refresh point (a minute before expiry) a new one is fetched.
    now += 9 * 60_000;
    const second = await credentials.getToken();
    assert.equal(credentials.fetches, 2);
    assert.notEqual(second, first);
    const client = new HubClient({ address: env('HASHHUB_ADDRESS'), tokenUrl: '', clientId: '', clientSecret: '', credentials });
    try {
      assert.ok((await client.listLabels()).some((l) => l.key === LABELS[0]));
    } finally {
      client.close();
    }
  });

  it('token_wrongSecret_throwsTokenError', async () => {
    const credentials = new ClientCredentials({
      tokenUrl: env('HASHHUB_TOKEN_URL'),
      clientId: env('HASHHUB_A_CLIENT_ID'),
      clientSecret: 'not-the-secret',
    });
    await assert.rejects(credentials.getToken(), (e: unknown) => e instanceof TokenError && e.error === 'invalid_client');
  });

  it('contribute_pdqAndMd5_pagedSyncOfBSeesLabelsAndProvenance', async () => {
    const pdqValue = hex(32);
    const md5Value = hex(16);
    const key = 'ts-takedown-' + randomUUID();
    const items = [
      takedown(pdq(pdqValue, 90), LABELS, { caseReference: 'CASE-TS-1' }),
      takedown(md5(md5Value), LABELS, { caseReference: 'CASE-TS-1' }),
    ];
    const first = await a.contribute(items, key);
    assert.deepEqual(first.results.map((r) => r.signalCreated), [true, true]);
    assert.equal(first.replayed, false);
    const replay = await a.contribute(items, key);
    assert.equal(replay.replayed, true);
    assert.deepEqual(replay.results.map((r) => r.signalId), first.results.map((r) => r.signalId));

    const { changes, cursor, pages } = await syncToEnd(bLog, '', 1);
    assert.ok(cursor);
    assert.ok(pages >= 2, 'one change per page: paging was exercised');
    const seen = new Map(changes.map((c) => [c.signal!.id, c]));
    const expected = [
      [first.results[0], pdqValue, 'SIGNAL_TYPE_PDQ'],
      [first.results[1], md5Value, 'SIGNAL_TYPE_MD5'],
    ] as const;
    for (const [result, value, type] of expected) {
      const change = seen.get(result.signalId);
      assert.ok(change, `B's sync holds ${type}`);
      const record = change.signal!;
      assert.equal(record.signal!.type, type);
      assert.equal(record.signal!.value, value);
      assert.equal(record.status, 'SIGNAL_STATUS_ACTIVE');
      assert.deepEqual(record.labels, [...LABELS].sort());
      const contribution = record.contributions[0];
      assert.equal(contribution.id, result.contributionId);
      assert.equal(contribution.provenance!.memberName, env('HASHHUB_A_NAME'));
      assert.equal(contribution.provenance!.sourceKind, 'SOURCE_KIND_UPLOAD');
      assert.equal(contribution.provenance!.caseReference, 'CASE-TS-1');
      assert.ok(contribution.provenance!.contributedAt);
    }
    // Each change once, and a sync from the last cursor has nothing new (no other writer runs meanwhile).
    assert.equal(new Set(changes.map((c) => c.cursor)).size, changes.length);
    const again = await syncToEnd(bLog, cursor);
    assert.deepEqual(again.changes, []);
    assert.equal(again.cursor, cursor);
  });

  it('subscribe_bLive_receivesAContributionAndResumesFromCursor', async () => {
    const subscription = b.subscribe('');
    const timer = setTimeout(() => subscription.close(), WAIT_MS);
    const events = subscription[Symbol.asyncIterator]();
    let resumeFrom: string;
    try {
      // First the catch-up from the start of the log, then caughtUp: live from here on.
      await waitFor(events, (e) => e.kind === 'caughtUp');
      const [result] = await contribute(pdq(hex(32), 80));
      const event = await waitFor(events, (e) => e.kind === 'change' && e.change.signal!.id === result.signalId);
      assert.ok(event.kind === 'change');
      assert.equal(event.change.kind, 'CHANGE_KIND_CREATED');
      assert.deepEqual(event.change.signal!.labels, [...LABELS].sort());
      assert.equal(subscription.cursor, event.change.cursor);
      resumeFrom = subscription.cursor;
    } finally {
      clearTimeout(timer);
      subscription.close();
      await events.return?.(undefined);
    }

    // Resume: a new subscription from the last cursor delivers what came after it, and nothing before.
    const [later] = await contribute(md5(hex(16)));
    const resumed = b.subscribe(resumeFrom);
    const resumeTimer = setTimeout(() => resumed.close(), WAIT_MS);
    try {
      for await (const event of resumed) {
        assert.equal(event.kind, 'change');
        assert.equal(event.kind === 'change' && event.change.signal!.id, later.signalId);
        break;
      }
    } finally {
      clearTimeout(resumeTimer);
      resumed.close();
    }
  });

  it('subscribe_connectionCut_reconnectsAndResumesWithoutLossOrDuplicates', async () => {
    const proxy = await cuttableProxy(env('HASHHUB_ADDRESS'));
    const client = new HubClient({
      address: proxy.address,
      tokenUrl: env('HASHHUB_TOKEN_URL'),
      clientId: env('HASHHUB_B_CLIENT_ID'),
      clientSecret: env('HASHHUB_B_CLIENT_SECRET'),
    });
    const { cursor } = await syncToEnd(client);
    const subscription = client.subscribe(cursor);
    const timer = setTimeout(() => subscription.close(), WAIT_MS);
    const events = subscription[Symbol.asyncIterator]();
    try {
      await waitFor(events, (e) => e.kind === 'caughtUp');
      const [before] = await contribute(md5(hex(16)));
      await waitFor(events, (e) => e.kind === 'change' && e.change.signal!.id === before.signalId);
      proxy.cut(); // the stream breaks; the subscription reconnects from its last cursor
      const [during] = await contribute(md5(hex(16)));
      const seen: string[] = [];
      await waitFor(events, (e) => {
        if (e.kind !== 'change') {
          return false;
        }
        seen.push(e.change.signal!.id);
        return e.change.signal!.id === during.signalId;
      });
      assert.ok(subscription.reconnects >= 1, 'the stream was reopened');
      assert.ok(!seen.includes(before.signalId), 'nothing delivered twice across the reconnect');
    } finally {
      clearTimeout(timer);
      subscription.close();
      await events.return?.(undefined);
      client.close();
      proxy.close();
    }
  });

  it('subscribe_hubKilledAndRestarted_reconnectsAndHoldsEveryChangeOnceInLogOrder', async () => {
    // B's token source runs on a clock the test moves, so that B's reconnect must fetch a new token while the hub,
    // and so its token endpoint, is down.
    let now = Date.now();
    const credentials = new ClientCredentials({
      tokenUrl: env('HASHHUB_TOKEN_URL'),
      clientId: env('HASHHUB_B_CLIENT_ID'),
      clientSecret: env('HASHHUB_B_CLIENT_SECRET'),
      clock: () => now,
    });
    const client = new HubClient({ address: env('HASHHUB_ADDRESS'), tokenUrl: '', clientId: '', clientSecret: '', credentials });
    const { cursor: start } = await syncToEnd(client);
    const subscription = client.subscribe(start);
    // The live sync: it applies each change as it comes (here: records cursor, signal and kind, in order) and keeps
    // pulling all along, so that it reconnects while the hub is down, as a member's would.
    const applied: [string, string, string][] = [];
    let last: SubscriptionEvent['kind'] | undefined;
    let ended = false;
    let failure: unknown;
    let wake = () => {};
    const pump = (async () => {
      try {
        for await (const event of subscription) {
          if (event.kind === 'change') {
            applied.push([event.change.cursor, event.change.signal!.id, event.change.kind]);
          }
          last = event.kind;
          wake();
        }
      } catch (e) {
        failure = e;
      } finally {
        ended = true;
        wake();
      }
    })();
    const until = async (condition: () => boolean, what: string) => {
      while (!condition()) {
        if (ended) {
          assert.fail(`the subscription ended (${String(failure ?? 'closed')}) before ${what}`);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    };
    const appliedIds = () => new Set(applied.map(([, signal]) => signal));
    // Bounded whatever happens: the subscription is closed (and the test fails waiting) after this.
    const timer = setTimeout(() => subscription.close(), RESTART_WAIT_MS * 2);
    const acked: string[] = [];
    let down = false;
    const contributeOne = async () => acked.push((await contribute(md5(hex(16))))[0].signalId);
    try {
      await until(() => last !== undefined, 'the catch-up');
      for (let i = 0; i < 3; i++) {
        await contributeOne();
      }
      await until(() => appliedIds().has(acked[0]), 'the first change');
      // Mid-way: the stream is live and delivering; two more commit, and the hub dies at once, before or while it
      // sends them.
      for (let i = 0; i < 2; i++) {
        await contributeOne();
      }
      const aFetches = a.credentials.fetches;
      now += 3_600_000; // B's token is due: its reconnect fetches a new one, first while the hub is down
      await hub('kill');
      down = true;
      await hub('start');
      down = false;
      for (let i = 0; i < 3; i++) {
        await contributeOne(); // A's channel reconnects by itself
      }
      // The signing keys are in the data folder: A's token from before the restart is still accepted.
      assert.equal(a.credentials.fetches, aFetches);
      // Every acknowledged change applied, then caught up: anything the stream still held (a duplicate) would have
      // come before this.
      await until(() => last === 'caughtUp' && acked.every((id) => appliedIds().has(id)), 'every acknowledged change');
    } finally {
      clearTimeout(timer);
      subscription.close();
      await pump;
      if (down) {
        await hub('start'); // for the tests after this one
      }
    }

    const log = await syncToEnd(client, start);
    client.close();
    // The log after the restart holds exactly what A was told was committed (no other writer runs meanwhile), and
    // the live sync applied exactly the log: each change once, in log order.
    assert.deepEqual(log.changes.map((c) => c.signal!.id), acked);
    assert.deepEqual(applied, log.changes.map((c) => [c.cursor, c.signal!.id, c.kind]));
    assert.equal(subscription.cursor, log.cursor); // where the next sync resumes: the end of the log
    assert.ok(subscription.reconnects >= 1, 'the stream was reopened');
    assert.ok(credentials.fetches >= 2, 'a new token was fetched after the restart');
  });

  it('match_pdqFewBitsAway_returnsSignalWithDistance', async () => {
    const value = hex(32);
    const [result] = await contribute(pdq(value, 95));
    const upload = flipBits(value, [0, 17, 100, 255]);
    const matches = await b.match([pdq(upload), md5(hex(16))]);
    assert.equal(matches.length, 1);
    const [match] = matches;
    assert.equal(match.signal!.id, result.signalId);
    assert.equal(match.distance, 4);
    assert.equal(match.queryIndex, 0);
    assert.deepEqual(match.signal!.labels, [...LABELS].sort());
    assert.ok(match.confidence > 0);
    // Within the threshold only: a radius of 3 misses it.
    assert.deepEqual(await b.match([pdq(upload)], 3), []);

    const report = await b.reportOutcomes([outcome(match.signal!.id, 'MATCH_OUTCOME_ACTIONED')], 'ts-outcome-' + randomUUID());
    assert.equal(report.recorded, 1);
  });

  it('retract_a_bSyncSeesTombstone', async () => {
    const [result] = await contribute(sha256(hex(32)));
    const { cursor } = await syncToEnd(b);
    const signal = await a.retract(result.contributionId, 'posted in error');
    assert.equal(signal.status, 'SIGNAL_STATUS_RETRACTED');

    const { changes } = await syncToEnd(b, cursor);
    const tombstones = changes.filter((c) => c.signal!.id === result.signalId);
    assert.equal(tombstones.length, 1);
    assert.equal(tombstones[0].kind, 'CHANGE_KIND_RETRACTED');
    assert.equal(tombstones[0].signal!.status, 'SIGNAL_STATUS_RETRACTED');
  });

  it('contribute_malformedHash_invalidArgumentNamesField', async () => {
    await assert.rejects(a.contribute([takedown(pdq('zz'.repeat(32), 90), LABELS)]), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.code, GrpcStatus.INVALID_ARGUMENT);
      assert.ok(e.fieldViolations.some((v) => v.field === 'items[0].signal.value'), e.message);
      return true;
    });
  });

  it('retract_otherMembersContribution_permissionDenied', async () => {
    const [result] = await contribute(md5(hex(16)));
    await assert.rejects(b.retract(result.contributionId), (e: unknown) => e instanceof HubError && e.code === GrpcStatus.PERMISSION_DENIED);
  });

  it('updateLabels_thenGetSignalByValue_showsNewLabels', async () => {
    const value = hex(16);
    const [result] = await contribute(md5(value));
    const contribution = await a.updateLabels(result.contributionId, ['behavior:glorification']);
    assert.deepEqual(contribution.labels, ['behavior:glorification']);
    const record = await b.getSignal({ signal: md5(value) });
    assert.equal(record.id, result.signalId);
    assert.deepEqual(record.labels, ['behavior:glorification']);
    assert.equal((await b.getSignal({ signalId: result.signalId })).signal!.value, value);
  });

  it('readme_snippet_typeChecksAndRunsAgainstHub', async () => {
    const packageRoot = path.resolve(__dirname, '..', '..');
    const readme = fs.readFileSync(path.join(packageRoot, 'README.md'), 'utf8');
    const block = /<!-- snippet -->\s*```ts\n([\s\S]*?)```/.exec(readme);
    assert.ok(block, 'README.md has no snippet block');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hashhub-readme-'));
    try {
      // Type-check it as a member's program would see the package: '@hashhub/client' is this SDK's declarations.
      const file = path.join(dir, 'snippet.ts');
      fs.writeFileSync(file, block[1]);
      const program = ts.createProgram([file], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        lib: ['lib.es2022.d.ts'],
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        types: ['node'],
        typeRoots: [path.join(packageRoot, 'node_modules', '@types')],
        baseUrl: packageRoot,
        paths: { '@hashhub/client': ['dist/src/index'] },
        skipLibCheck: true,
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      assert.deepEqual(diagnostics, []);

      const js = ts.transpileModule(block[1].replace("'@hashhub/client'", JSON.stringify(path.join(packageRoot, 'dist', 'src', 'index.js'))), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      fs.writeFileSync(path.join(dir, 'snippet.js'), js);
      const { stdout } = await promisify(execFile)(process.execPath, [path.join(dir, 'snippet.js')], {
        env: { ...process.env, HASHHUB_CLIENT_ID: env('HASHHUB_A_CLIENT_ID'), HASHHUB_CLIENT_SECRET: env('HASHHUB_A_CLIENT_SECRET') },
        timeout: WAIT_MS * 2,
      });
      assert.match(stdout, /match \S+ distance 4 labels \[ 'behavior:glorification', 'content_type:image' \]/);
      assert.match(stdout, /caught up at \S+/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HubClient bootstrap from the snapshot', () => {
  const contribute = async (client: HubClient, count: number) =>
    (await client.contribute(Array.from({ length: count }, () => takedown(md5(hex(16)), LABELS)))).results;

  const collect = async (pages: AsyncIterable<Page>) => {
    const all: Page[] = [];
    for await (const page of pages) {
      all.push(page);
    }
    return all;
  };

  it('sync_firstFromFreshSnapshot_holdsEachActiveSignalOnceWithoutTombstonesThenReadsLog', async () => {
    const hub = await freshHub();
    const client = hub.client();
    const replay = hub.client({ bootstrapFromSnapshot: false });
    try {
      const results = await contribute(client, 7);
      for (const result of results.slice(0, 2)) {
        await client.retract(result.contributionId);
      }
      await client.updateLabels(results[2].contributionId, ['behavior:glorification']);
      const active = results.slice(2).map((r) => r.signalId);

      // The first sync: this hub's first snapshot is made now, at the log's head.
      let pages = await collect(client.syncPages('', { pageSize: 2 }));
      const snapshot = pages.filter((p) => p.fromSnapshot);
      assert.equal(snapshot.length, 3); // 5 records, 2 a page, the last page with the cursor
      assert.ok(snapshot[0].reset);
      assert.ok(!pages.slice(1).some((p) => p.reset));
      assert.deepEqual(snapshot.slice(0, -1).map((p) => p.cursor), ['', '']); // no cursor until the last page
      assert.ok(snapshot[snapshot.length - 1].cursor);
      const records = snapshot.flatMap((p) => p.changes.map((c) => c.signal!));
      assert.deepEqual(records.map((r) => r.id).sort(), [...active].sort()); // each active signal once
      assert.ok(records.every((r) => r.status === 'SIGNAL_STATUS_ACTIVE'));
      // Then the log after the snapshot, which holds nothing newer: no tombstone of the two retracted before.
      assert.deepEqual(pages.filter((p) => !p.fromSnapshot).flatMap((p) => p.changes), []);
      let copy = new Copy();
      pages.forEach((p) => copy.apply(p));
      assert.deepEqual(copy.signals.get(results[2].signalId)!.labels, ['behavior:glorification']);

      // A later sync reads only the log after the cursor: the new signal and the tombstone.
      const [later] = await contribute(client, 1);
      await client.retract(results[3].contributionId);
      pages = await collect(client.syncPages(copy.cursor));
      assert.ok(!pages.some((p) => p.fromSnapshot || p.reset));
      assert.deepEqual(
        pages.flatMap((p) => p.changes.map((c) => [c.signal!.id, c.kind])),
        [
          [later.signalId, 'CHANGE_KIND_CREATED'],
          [results[3].signalId, 'CHANGE_KIND_RETRACTED'],
        ],
      );
      pages.forEach((p) => copy.apply(p));

      // The same copy as reading the whole log from an empty cursor.
      const full = new Copy();
      for (const page of await collect(replay.syncPages(''))) {
        assert.ok(!page.fromSnapshot);
        full.apply(page);
      }
      assert.deepEqual(copy.sorted(), full.sorted());

      // A live subscription from an empty cursor bootstraps the same way, then catches up from the log.
      const events: SubscriptionEvent[] = [];
      const live = client.subscribe('');
      for await (const event of live) {
        events.push(event);
        if (event.kind === 'caughtUp') {
          break;
        }
      }
      const snapshotEvents = events.flatMap((e) => (e.kind === 'snapshot' ? [e.page] : []));
      assert.ok(snapshotEvents.length > 0 && snapshotEvents[0].reset && snapshotEvents[snapshotEvents.length - 1].cursor);
      copy = new Copy();
      for (const event of events) {
        if (event.kind === 'snapshot') {
          copy.apply(event.page);
        } else if (event.kind === 'change') {
          copy.apply({ changes: [event.change], cursor: event.change.cursor, hasMore: true, reset: false, fromSnapshot: false });
        }
      }
      assert.deepEqual(copy.sorted(), full.sorted());
    } finally {
      client.close();
      replay.close();
      await hub.stop();
    }
  });

  it('sync_bootstrapCutOffHalfWay_storesNoCursorAndNextSyncStartsOver', async () => {
    const a = member('A');
    const replay = member('A', { bootstrapFromSnapshot: false });
    try {
      await contribute(a, 3);
      const copy = new Copy();
      const stored: string[] = [];
      // The application dies after applying (and storing) two pages of the snapshot.
      for await (const page of a.syncPages('', { pageSize: 1 })) {
        assert.ok(page.fromSnapshot);
        copy.apply(page);
        stored.push(page.cursor);
        if (stored.length === 2) {
          break;
        }
      }
      assert.deepEqual(stored, ['', '']); // no cursor saved: the next sync cannot skip the rest of the snapshot
      assert.equal(copy.signals.size, 2);
      copy.signals.set('stale-signal-id', [...copy.signals.values()][0]); // anything held before must go

      const pages = await collect(a.syncPages(copy.cursor, { pageSize: 1000 }));
      assert.ok(pages[0].fromSnapshot && pages[0].reset);
      pages.forEach((p) => copy.apply(p));
      const full = new Copy();
      (await collect(replay.syncPages(''))).forEach((p) => full.apply(p));
      assert.ok(!copy.signals.has('stale-signal-id'));
      assert.deepEqual(copy.sorted(), full.sorted());
      assert.deepEqual((await syncToEnd(a, copy.cursor)).changes, []);
    } finally {
      a.close();
      replay.close();
    }
  });

  it('sync_bootstrapFromSnapshotOff_replaysTheLogWithTombstones', async () => {
    const client = member('A', { bootstrapFromSnapshot: false });
    try {
      const [gone] = await contribute(client, 1);
      await client.retract(gone.contributionId);
      const pages = await collect(client.syncPages('', { pageSize: 500 }));
      assert.ok(!pages.some((p) => p.fromSnapshot || p.reset));
      assert.ok(pages.every((p) => p.cursor));
      const changes = pages.flatMap((p) => p.changes);
      // The log, not a snapshot: the signal's creation and then its tombstone, each change with its cursor.
      assert.deepEqual(
        changes.filter((c) => c.signal!.id === gone.signalId).map((c) => c.kind),
        ['CHANGE_KIND_CREATED', 'CHANGE_KIND_RETRACTED'],
      );
      assert.ok(changes.every((c) => c.cursor));
      for await (const event of client.subscribe('')) {
        assert.notEqual(event.kind, 'snapshot');
        if (event.kind === 'caughtUp') {
          break;
        }
      }
    } finally {
      client.close();
    }
  });
});

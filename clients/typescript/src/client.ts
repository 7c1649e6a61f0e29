import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

import { ClientCredentials } from './auth';
import { HubError, TokenError } from './errors';
import type { ProtoGrpcType as ContributionsProto } from './generated/contributions';
import type { ProtoGrpcType as MatchingProto } from './generated/matching';
import type { ProtoGrpcType as SnapshotsProto } from './generated/snapshots';
import type { ProtoGrpcType as SyncProto } from './generated/sync';
import type { ProtoGrpcType as TaxonomyProto } from './generated/taxonomy';
import type { ContributionsClient } from './generated/hashhub/v1/Contributions';
import type { ContributionInput } from './generated/hashhub/v1/ContributionInput';
import type { Contribution__Output } from './generated/hashhub/v1/Contribution';
import type { Change__Output } from './generated/hashhub/v1/Change';
import type { Label__Output } from './generated/hashhub/v1/Label';
import type { ListLabelsRequest } from './generated/hashhub/v1/ListLabelsRequest';
import type { ListLabelsResponse__Output } from './generated/hashhub/v1/ListLabelsResponse';
import type { MatchRequest } from './generated/hashhub/v1/MatchRequest';
import type { MatchResponse__Output } from './generated/hashhub/v1/MatchResponse';
import type { ReadChangesRequest } from './generated/hashhub/v1/ReadChangesRequest';
import type { ReadChangesResponse__Output } from './generated/hashhub/v1/ReadChangesResponse';
import type { RetractContributionRequest } from './generated/hashhub/v1/RetractContributionRequest';
import type { RetractContributionResponse__Output } from './generated/hashhub/v1/RetractContributionResponse';
import type { MatchingClient } from './generated/hashhub/v1/Matching';
import type { OutcomeReport } from './generated/hashhub/v1/OutcomeReport';
import type { ReportOutcomesResponse__Output } from './generated/hashhub/v1/ReportOutcomesResponse';
import type { Signal } from './generated/hashhub/v1/Signal';
import type { SignalMatch__Output } from './generated/hashhub/v1/SignalMatch';
import type { SignalRecord__Output } from './generated/hashhub/v1/SignalRecord';
import type { SignalType } from './generated/hashhub/v1/SignalType';
import type { SnapshotChunk__Output } from './generated/hashhub/v1/SnapshotChunk';
import type { SnapshotsClient } from './generated/hashhub/v1/Snapshots';
import type { SubmitContributionsResponse__Output } from './generated/hashhub/v1/SubmitContributionsResponse';
import type { SubscribeResponse__Output } from './generated/hashhub/v1/SubscribeResponse';
import type { SyncClient } from './generated/hashhub/v1/Sync';
import type { TaxonomyClient } from './generated/hashhub/v1/Taxonomy';

/** Options of {@link HubClient}. */
export interface HubClientOptions {
  /** The hub's gRPC endpoint: `127.0.0.1:5000`, `http://host:port` or `https://host:port` (TLS). */
  address: string;
  /** The hub's OAuth2 token endpoint, for example `http://127.0.0.1:5001/connect/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for; all the credential holds when omitted. */
  scope?: string;
  /** Deadline of each unary call, in milliseconds. Default 30,000. */
  timeoutMs?: number;
  /** Retries of a call that is safe to retry, on Unavailable and ResourceExhausted. Default 4. */
  retries?: number;
  /** A token source to use instead of one built from the options above. */
  credentials?: ClientCredentials;
  /**
   * A sync or subscription from an empty cursor starts from the hub's snapshot (`Snapshots/ReadSnapshot`: each live
   * signal once, no tombstones), then reads the log after it; false reads the whole log. Default true. Against a hub
   * without snapshots the client reads the log.
   */
  bootstrapFromSnapshot?: boolean;
}

/**
 * One page of the change log, or of the hub's snapshot. Store `cursor` with what you applied from `changes` and
 * resume from it.
 *
 * A page with `reset` starts a snapshot: drop every signal you hold before applying it (in the same transaction as
 * the page, so matching goes on with the old copy until then). Snapshot pages (`fromSnapshot`) carry each live signal
 * as a CREATED change with no cursor of its own, and an empty `cursor` except the last, which carries the snapshot's:
 * a bootstrap cut off half-way leaves an empty cursor stored, and the next sync starts over (its first page resets
 * again) rather than going on from a cursor that would skip the rest of the snapshot.
 */
export interface Page {
  changes: Change__Output[];
  cursor: string;
  hasMore: boolean;
  reset: boolean;
  fromSnapshot: boolean;
}

/**
 * What a live subscription delivers: a page of the hub's snapshot (from an empty cursor, before anything else; see
 * {@link Page}), a change in log order, or a sign that it is caught up (also a heartbeat).
 */
export type SubscriptionEvent =
  | { kind: 'snapshot'; page: Page }
  | { kind: 'change'; change: Change__Output }
  | { kind: 'caughtUp'; cursor: string };

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

type Proto = ContributionsProto & SyncProto & MatchingProto & TaxonomyProto & SnapshotsProto;

// Worth another try: the hub node is starting or restarting (Unavailable, also while its match index loads), or
// the member is over its rate limit (ResourceExhausted, with the hub's hint of when to come back).
const TRANSIENT = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED]);

// A broken snapshot stream is read again from its start: the connection broke (Unavailable, Internal), the records did
// not add up (DataLoss), or the member is over its snapshot rate limit (ResourceExhausted, with the hub's hint).
const SNAPSHOT_RETRY = new Set([grpc.status.UNAVAILABLE, grpc.status.INTERNAL, grpc.status.DATA_LOSS, grpc.status.RESOURCE_EXHAUSTED]);

// Records per snapshot page when the caller names no page size: the hub's default ReadChanges page.
const SNAPSHOT_PAGE_SIZE = 1000;

// The channel's own reconnect backoff, capped as the SDK's (5 s). Without a cap it grows to two minutes between
// connection attempts, and a channel in backoff answers UNAVAILABLE (from its last attempt while the hub was down)
// after the hub is back: the Python SDK's first calls after a hub restart failed so (grpc core); grpc-js has the
// same backoff, so the same cap.
const CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 5000 };

let proto: Proto | undefined;

/** Loads the contract once: the copy of protos/ that `npm run generate` wrote, without the HTTP rules. */
function loadContract(): Proto {
  if (proto) {
    return proto;
  }
  // dist/src/client.js or src/client.ts: the package root is the first parent holding generated/protos.
  let root = __dirname;
  while (!fs.existsSync(path.join(root, 'generated', 'protos', 'files.json'))) {
    const parent = path.dirname(root);
    if (parent === root) {
      throw new Error('generated/protos is missing: run `npm run generate` in clients/typescript');
    }
    root = parent;
  }
  const protos = path.join(root, 'generated', 'protos');
  const files = JSON.parse(fs.readFileSync(path.join(protos, 'files.json'), 'utf8')) as string[];
  // These options must stay those of `proto-loader-gen-types` in scripts/generate.js: the types describe them.
  const definition = protoLoader.loadSync(files, {
    includeDirs: [protos],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  proto = grpc.loadPackageDefinition(definition) as unknown as Proto;
  return proto;
}

function target(address: string): { host: string; tls: boolean } {
  if (address.startsWith('https://')) {
    return { host: address.slice('https://'.length).replace(/\/+$/, ''), tls: true };
  }
  if (address.startsWith('http://')) {
    return { host: address.slice('http://'.length).replace(/\/+$/, ''), tls: false };
  }
  return { host: address, tls: false };
}

/** Full jitter (exponential, capped), so that many members reconnecting after a hub restart spread out. */
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(5000, 200 * 2 ** attempt);
}

/**
 * A member's connection to the hub: one channel, a bearer token on every call (fetched and refreshed by
 * {@link ClientCredentials}), deadlines on unary calls, and retries with jittered backoff where a retry is safe
 * (reads, and writes that carry an idempotency key). Errors are thrown as {@link HubError}.
 */
export class HubClient {
  readonly credentials: ClientCredentials;
  /** @internal */
  readonly sync: SyncClient;
  private readonly contributions: ContributionsClient;
  private readonly matching: MatchingClient;
  private readonly taxonomy: TaxonomyClient;
  private readonly snapshots: SnapshotsClient;
  /** Whether a sync from an empty cursor starts from the snapshot; off for good once the hub answered UNIMPLEMENTED. */
  bootstrapFromSnapshot: boolean;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(options: HubClientOptions) {
    this.credentials =
      options.credentials ??
      new ClientCredentials({
        tokenUrl: options.tokenUrl,
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        scope: options.scope,
      });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 4;
    this.bootstrapFromSnapshot = options.bootstrapFromSnapshot ?? true;
    const contract = loadContract().hashhub.v1;
    const { host, tls } = target(options.address);
    // Call credentials would attach the token too, but grpc-js refuses them on a plaintext channel, and the hub is
    // often reached over plaintext on loopback or behind a TLS-terminating proxy: the token goes in each call's
    // metadata instead.
    const channelCredentials = tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    this.contributions = new contract.Contributions(host, channelCredentials, CHANNEL_OPTIONS);
    const shared = { channelOverride: this.contributions.getChannel() };
    this.sync = new contract.Sync(host, channelCredentials, shared);
    this.matching = new contract.Matching(host, channelCredentials, shared);
    this.taxonomy = new contract.Taxonomy(host, channelCredentials, shared);
    this.snapshots = new contract.Snapshots(host, channelCredentials, shared);
  }

  /** Closes the channel; calls in flight fail. */
  close(): void {
    this.contributions.close();
  }

  // Contributions

  /**
   * Submits a batch, all-or-nothing. The idempotency key (a new UUID when not given) makes retries safe:
   * resubmitting the same batch with the same key returns the first answer and changes nothing.
   */
  contribute(items: ContributionInput[], idempotencyKey: string = randomUUID()): Promise<SubmitContributionsResponse__Output> {
    return this.unary((r, m, o, cb) => this.contributions.SubmitContributions(r, m, o, cb), { idempotencyKey, items }, true);
  }

  /**
   * Retracts one of this member's contributions; resolves to the signal after it (RETRACTED when no active
   * contribution remains). Not retried: a retry after a lost answer would be refused as already done.
   */
  async retract(contributionId: string, reason = ''): Promise<SignalRecord__Output> {
    const response = await this.unary<RetractContributionRequest, RetractContributionResponse__Output>(
      (r, m, o, cb) => this.contributions.RetractContribution(r, m, o, cb),
      { contributionId, reason },
      false,
    );
    return response.signal!;
  }

  /** Replaces the labels of one of this member's active contributions. */
  updateLabels(contributionId: string, labels: string[]): Promise<Contribution__Output> {
    return this.unary((r, m, o, cb) => this.contributions.UpdateContributionLabels(r, m, o, cb), { contributionId, labels }, true);
  }

  /** Gets one signal with all its contributions, by id or by type and value. */
  getSignal(key: { signalId: string } | { signal: Signal }): Promise<SignalRecord__Output> {
    return this.unary((r, m, o, cb) => this.contributions.GetSignal(r, m, o, cb), key, true);
  }

  /** The label taxonomy, deprecated labels included. */
  async listLabels(): Promise<Label__Output[]> {
    return (await this.unary<ListLabelsRequest, ListLabelsResponse__Output>((r, m, o, cb) => this.taxonomy.ListLabels(r, m, o, cb), {}, true))
      .labels;
  }

  // Sync

  /** Reads one page of changes after `cursor` (empty: from the start of the log). */
  async readChanges(cursor = '', options: { pageSize?: number; signalTypes?: SignalType[] } = {}): Promise<Page> {
    const response = await this.unary<ReadChangesRequest, ReadChangesResponse__Output>(
      (r, m, o, cb) => this.sync.ReadChanges(r, m, o, cb),
      { cursor, pageSize: options.pageSize ?? 0, signalTypes: options.signalTypes ?? [] },
      true,
    );
    return { changes: response.changes, cursor: response.nextCursor, hasMore: response.hasMore, reset: false, fromSnapshot: false };
  }

  /**
   * Reads every change after `cursor`, page by page, until the log's end. Each page carries the cursor to store
   * with what was applied from it; the last page's cursor is where the next sync starts. From an empty cursor (a
   * first sync, or after the hub said "resync required") it first yields the hub's snapshot ({@link readSnapshot};
   * see {@link Page} for `reset`), then the log after it.
   */
  async *syncPages(cursor = '', options: { pageSize?: number; signalTypes?: SignalType[] } = {}): AsyncGenerator<Page, string> {
    if (cursor === '') {
      cursor = (yield* this.bootstrap(options)) ?? '';
    }
    for (;;) {
      const page = await this.readChanges(cursor, options);
      cursor = page.cursor;
      yield page;
      if (!page.hasMore) {
        return cursor;
      }
    }
  }

  /**
   * Reads the hub's snapshot: every live signal the member may see, once (a later record of a signal replaces an
   * earlier one), in pages of `pageSize` records as CREATED changes, the first with `reset`, the last with the cursor
   * to read the log from (the generator's return value too).
   *
   * The snapshot counts its records, and a stream that ends short or breaks is read again from its start (the next
   * page then has `reset` again), after a backoff, up to `retries` times; the token is renewed once on
   * UNAUTHENTICATED. A hub without snapshots throws a {@link HubError} with UNIMPLEMENTED.
   */
  async *readSnapshot(options: { pageSize?: number; signalTypes?: SignalType[] } = {}): AsyncGenerator<Page, string> {
    const size = options.pageSize && options.pageSize > 0 ? options.pageSize : SNAPSHOT_PAGE_SIZE;
    let refreshed = false;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return yield* this.snapshotPages(size, options.signalTypes ?? [], attempt > 0);
      } catch (e) {
        if (e instanceof TokenError) {
          if (!e.transient || attempt >= this.retries) {
            throw e;
          }
          await sleep(backoffMs(attempt));
          continue;
        }
        const error = HubError.from(e);
        if (error.code === grpc.status.UNAUTHENTICATED && !refreshed) {
          this.credentials.invalidate();
          refreshed = true;
          attempt -= 1;
          continue;
        }
        if (!SNAPSHOT_RETRY.has(error.code) || attempt >= this.retries) {
          throw error;
        }
        await sleep(error.retryAfter !== undefined ? error.retryAfter * 1000 : backoffMs(attempt));
      }
    }
  }

  private async *snapshotPages(size: number, signalTypes: SignalType[], waitForReady: boolean): AsyncGenerator<Page, string> {
    // No deadline: a snapshot of millions of signals takes longer than any unary call.
    const call = this.snapshots.ReadSnapshot({ signalTypes }, await this.metadata(waitForReady));
    try {
      let batch: Change__Output[] = [];
      let first = true;
      let records = 0;
      for await (const chunk of call as AsyncIterable<SnapshotChunk__Output>) {
        for (const record of chunk.signals) {
          // A snapshot record has no log position of its own: no cursor, no commit time.
          batch.push({ kind: 'CHANGE_KIND_CREATED', signal: record, cursor: '', committedAt: null });
          if (batch.length === size) {
            yield { changes: batch, cursor: '', hasMore: true, reset: first, fromSnapshot: true };
            batch = [];
            first = false;
          }
        }
        records += chunk.signals.length;
        if (chunk.cursor !== '') {
          if (Number(chunk.totalSignals) !== records) {
            throw new HubError(grpc.status.DATA_LOSS, `the snapshot said it held ${chunk.totalSignals} signals; ${records} arrived`);
          }
          yield { changes: batch, cursor: chunk.cursor, hasMore: true, reset: first, fromSnapshot: true };
          return chunk.cursor;
        }
      }
      throw new HubError(grpc.status.UNAVAILABLE, 'the snapshot ended before its last chunk');
    } finally {
      // Also when the consumer stops half-way: the stream must not stay open on the hub.
      call.cancel();
    }
  }

  /** @internal The snapshot's pages when snapshots are on; returns its cursor, or undefined to read the whole log. */
  async *bootstrap(options: { pageSize?: number; signalTypes?: SignalType[] }): AsyncGenerator<Page, string | undefined> {
    if (!this.bootstrapFromSnapshot) {
      return undefined;
    }
    try {
      return yield* this.readSnapshot(options);
    } catch (e) {
      if (!(e instanceof HubError) || e.code !== grpc.status.UNIMPLEMENTED) {
        throw e;
      }
      // A hub without snapshots: read its whole log, now and from now on.
      this.bootstrapFromSnapshot = false;
      return undefined;
    }
  }

  /**
   * Opens a live subscription: it catches up from `cursor`, then delivers each change as it commits. When the
   * stream breaks (the hub restarts) it reconnects and resumes from the last cursor it delivered; `close()` or
   * leaving the `for await` loop ends it. From an empty cursor (with snapshots on) it first delivers the hub's
   * snapshot as `{ kind: 'snapshot', page }` events (see {@link readSnapshot}), then subscribes from its cursor.
   */
  subscribe(cursor = '', options: { signalTypes?: SignalType[]; reconnect?: boolean } = {}): Subscription {
    return new Subscription(this, cursor, options.signalTypes ?? [], options.reconnect ?? true);
  }

  // Matching

  /**
   * Hub-side match of the hashes of one piece of content, computed locally (the content never leaves the
   * member). Resolves to the known signals within the threshold, closest first, with distance, labels,
   * contributions and confidence.
   */
  async match(signals: Signal[], maxDistance?: number): Promise<SignalMatch__Output[]> {
    const request: MatchRequest = maxDistance === undefined ? { signals } : { signals, maxDistance };
    return (await this.unary<MatchRequest, MatchResponse__Output>((r, m, o, cb) => this.matching.Match(r, m, o, cb), request, true)).matches;
  }

  /** Reports what this member did about matches (matched, actioned, false positive). */
  reportOutcomes(reports: OutcomeReport[], idempotencyKey: string = randomUUID()): Promise<ReportOutcomesResponse__Output> {
    return this.unary((r, m, o, cb) => this.matching.ReportOutcomes(r, m, o, cb), { idempotencyKey, reports }, true);
  }

  // Plumbing

  /**
   * @internal The metadata of one call: its bearer token, and whether the call waits for the channel to connect
   * (grpc-js takes wait-for-ready from the metadata's options) rather than failing at once while it cannot.
   */
  async metadata(waitForReady = false): Promise<grpc.Metadata> {
    const metadata = new grpc.Metadata({ waitForReady });
    metadata.set('authorization', `Bearer ${await this.credentials.getToken()}`);
    return metadata;
  }

  private async unary<Req, Res>(method: Unary<Req, Res>, request: Req, retry: boolean): Promise<Res> {
    let refreshed = false;
    for (let attempt = 0; ; ) {
      try {
        // A retry waits (within the deadline) for the channel to connect instead of failing at once with the error
        // of its last connection attempt: the hub may be back already.
        const metadata = await this.metadata(attempt > 0);
        return await new Promise<Res>((resolve, reject) => {
          method(request, metadata, { deadline: Date.now() + this.timeoutMs }, (error, response) =>
            error ? reject(error) : resolve(response as Res),
          );
        });
      } catch (e) {
        if (e instanceof TokenError) {
          // No token, so the call never left: another try is safe for any call, writes without a key too.
          if (!e.transient || attempt >= this.retries) {
            throw e;
          }
          await sleep(backoffMs(attempt));
          attempt += 1;
          continue;
        }
        const error = HubError.from(e);
        if (error.code === grpc.status.UNAUTHENTICATED && !refreshed) {
          // The token may have been revoked or the clocks disagree: one more try with a fresh one.
          this.credentials.invalidate();
          refreshed = true;
          continue;
        }
        if (!retry || !TRANSIENT.has(error.code) || attempt >= this.retries) {
          throw error;
        }
        await sleep(error.retryAfter !== undefined ? error.retryAfter * 1000 : backoffMs(attempt));
        attempt += 1;
      }
    }
  }
}

/** A live subscription; see {@link HubClient.subscribe}. Iterate it with `for await`. */
export class Subscription implements AsyncIterable<SubscriptionEvent> {
  /** Whether the catch-up is done and changes now arrive live. */
  caughtUp = false;
  /** Streams reopened after a break. */
  reconnects = 0;
  private current: string;
  private closed = false;
  private call?: grpc.ClientReadableStream<SubscribeResponse__Output>;
  private readonly wake = new AbortController();

  constructor(
    private readonly client: HubClient,
    cursor: string,
    private readonly signalTypes: SignalType[],
    private readonly reconnect: boolean,
  ) {
    this.current = cursor;
  }

  /** The cursor of the last event delivered: resume from it. */
  get cursor(): string {
    return this.current;
  }

  /** Ends the subscription; the `for await` loop over it ends. */
  close(): void {
    this.closed = true;
    this.wake.abort();
    this.call?.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SubscriptionEvent> {
    let attempt = 0;
    let refreshed = false;
    try {
      while (!this.closed) {
        let error: HubError | undefined;
        try {
          // A reconnect waits for the channel to connect (close() cancels the wait) rather than failing at once
          // while the hub is still down.
          if (this.current === '') {
            // Bootstrap first (the snapshot, read again from its start if it breaks; its first page resets), then
            // subscribe from where it ends. A hub without snapshots catches up from the log instead.
            for await (const page of this.client.bootstrap({ signalTypes: this.signalTypes })) {
              if (this.closed) {
                return;
              }
              if (page.cursor !== '') {
                this.current = page.cursor;
              }
              yield { kind: 'snapshot', page };
            }
          }
          const metadata = await this.client.metadata(attempt > 0);
          if (this.closed) {
            return;
          }
          const call = this.client.sync.Subscribe({ cursor: this.current, signalTypes: this.signalTypes }, metadata);
          this.call = call;
          for await (const response of call as AsyncIterable<SubscribeResponse__Output>) {
            attempt = 0;
            refreshed = false;
            if (response.event === 'change' && response.change) {
              this.current = response.change.cursor;
              yield { kind: 'change', change: response.change };
            } else if (response.caughtUp) {
              this.current = response.caughtUp.cursor;
              this.caughtUp = true;
              yield { kind: 'caughtUp', cursor: response.caughtUp.cursor };
            }
          }
          // The hub ended the stream (it is shutting down): resume later or on another node.
        } catch (e) {
          if (this.closed) {
            return;
          }
          if (e instanceof TokenError) {
            // A token was due while the hub (its token endpoint) was down or restarting: try again later, as for
            // the stream itself. Wrong credentials are no reason to keep trying.
            if (!this.reconnect || !e.transient) {
              throw e;
            }
          } else {
            error = HubError.from(e);
            if (error.code === grpc.status.UNAUTHENTICATED && !refreshed) {
              this.client.credentials.invalidate();
              refreshed = true;
              continue;
            }
            // DataLoss: a snapshot that did not add up, after the bootstrap's own retries.
            if (!this.reconnect || !(TRANSIENT.has(error.code) || error.code === grpc.status.INTERNAL || error.code === grpc.status.DATA_LOSS)) {
              throw error;
            }
          }
        }
        if (this.closed) {
          return;
        }
        if (!this.reconnect) {
          if (error) {
            throw error;
          }
          return;
        }
        const waitMs = error?.retryAfter !== undefined ? error.retryAfter * 1000 : backoffMs(attempt);
        await sleep(waitMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
        attempt = Math.min(attempt + 1, 10);
        this.reconnects += 1;
      }
    } finally {
      // Also when the consumer leaves its loop early: the stream must not stay open on the hub.
      this.call?.cancel();
    }
  }
}

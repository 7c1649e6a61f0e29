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
}

/** One page of the change log. Store `cursor` with what you applied from `changes` and resume from it. */
export interface Page {
  changes: Change__Output[];
  cursor: string;
  hasMore: boolean;
}

/** What a live subscription delivers: a change in log order, or a sign that it is caught up (also a heartbeat). */
export type SubscriptionEvent = { kind: 'change'; change: Change__Output } | { kind: 'caughtUp'; cursor: string };

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

type Proto = ContributionsProto & SyncProto & MatchingProto & TaxonomyProto;

// Worth another try: the hub node is starting or restarting (Unavailable, also while its match index loads), or
// the member is over its rate limit (ResourceExhausted, with the hub's hint of when to come back).
const TRANSIENT = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED]);

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
    return { changes: response.changes, cursor: response.nextCursor, hasMore: response.hasMore };
  }

  /**
   * Reads every change after `cursor`, page by page, until the log's end. Each page carries the cursor to store
   * with what was applied from it; the last page's cursor is where the next sync starts.
   */
  async *syncPages(cursor = '', options: { pageSize?: number; signalTypes?: SignalType[] } = {}): AsyncGenerator<Page, string> {
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
   * Opens a live subscription: it catches up from `cursor`, then delivers each change as it commits. When the
   * stream breaks (the hub restarts) it reconnects and resumes from the last cursor it delivered; `close()` or
   * leaving the `for await` loop ends it.
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
            if (!this.reconnect || !(TRANSIENT.has(error.code) || error.code === grpc.status.INTERNAL)) {
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

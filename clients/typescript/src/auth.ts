import { TokenError } from './errors';

/** Options of {@link ClientCredentials}. */
export interface ClientCredentialsOptions {
  /** The hub's OAuth2 token endpoint, for example `http://127.0.0.1:5001/connect/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for; all the credential holds when omitted. */
  scope?: string;
  /** Seconds before expiry at which a token is replaced (at most a fifth of its lifetime). Default 60. */
  refreshMarginSeconds?: number;
  /** Milliseconds a token request may take. Default 10,000. */
  timeoutMs?: number;
  /** Milliseconds since some origin; tests replace it. Default `Date.now`. */
  clock?: () => number;
}

/**
 * Trades a member's client id and secret for access tokens (OAuth2 client credentials, RFC 6749 section 4.4)
 * and replaces them before they expire, so a call never leaves with a token about to lapse on the way.
 * Concurrent callers share one request.
 */
export class ClientCredentials {
  /** How many tokens were fetched; tests and metrics read it. */
  fetches = 0;
  private token?: string;
  private refreshAt = 0;
  private pending?: Promise<string>;
  private readonly clock: () => number;

  constructor(private readonly options: ClientCredentialsOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** A valid access token: the held one, or a new one when none is held or the held one is due. */
  async getToken(): Promise<string> {
    if (this.token !== undefined && this.clock() < this.refreshAt) {
      return this.token;
    }
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Drops the held token, for example after the hub answered Unauthenticated. */
  invalidate(): void {
    this.token = undefined;
  }

  private async fetch(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.options.clientId,
      client_secret: this.options.clientSecret,
    });
    if (this.options.scope) {
      form.set('scope', this.options.scope);
    }
    const started = this.clock();
    let response: Response;
    try {
      response = await fetch(this.options.tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (e) {
      throw new TokenError('unreachable', `${this.options.tokenUrl}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      // RFC 6749 section 5.2: the error and its description come as JSON in the body.
      throw new TokenError(String(body.error ?? `http_${response.status}`), String(body.error_description ?? ''));
    }
    if (typeof body.access_token !== 'string' || !body.access_token) {
      throw new TokenError('invalid_response', 'the token endpoint answered without an access_token');
    }
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : 300) * 1000;
    const marginMs = Math.min((this.options.refreshMarginSeconds ?? 60) * 1000, lifetimeMs / 5);
    // Counted from when the request left: the hub's clock started the lifetime no earlier than that.
    this.refreshAt = started + lifetimeMs - marginMs;
    this.token = body.access_token;
    this.fetches += 1;
    return this.token;
  }
}

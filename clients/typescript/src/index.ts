/**
 * HashHub member SDK for Node.js: token acquisition, contribute, paged and live sync, hub-side match, retract
 * and outcome reports, over the hub's gRPC contract (protos/hashhub/v1).
 */
export { ClientCredentials, type ClientCredentialsOptions } from './auth';
export { HubClient, Subscription, type HubClientOptions, type Page, type SubscriptionEvent } from './client';
export { HubError, TokenError, decodeFieldViolations, type FieldViolation } from './errors';
export { md5, outcome, pdq, sha256, takedown, toDate, url, type TakedownOptions } from './signals';
export { status as GrpcStatus } from '@grpc/grpc-js';

export type { Change__Output as Change } from './generated/hashhub/v1/Change';
export type { ChangeKind__Output as ChangeKind } from './generated/hashhub/v1/ChangeKind';
export type { Contribution__Output as Contribution } from './generated/hashhub/v1/Contribution';
export type { ContributionInput } from './generated/hashhub/v1/ContributionInput';
export type { Label__Output as Label } from './generated/hashhub/v1/Label';
export type { MatchOutcome__Output as MatchOutcome } from './generated/hashhub/v1/MatchOutcome';
export type { OutcomeReport } from './generated/hashhub/v1/OutcomeReport';
export type { Provenance__Output as Provenance } from './generated/hashhub/v1/Provenance';
export type { Signal } from './generated/hashhub/v1/Signal';
export type { SignalMatch__Output as SignalMatch } from './generated/hashhub/v1/SignalMatch';
export type { SignalRecord__Output as SignalRecord } from './generated/hashhub/v1/SignalRecord';
export type { SignalStatus__Output as SignalStatus } from './generated/hashhub/v1/SignalStatus';
export type { SignalType__Output as SignalType } from './generated/hashhub/v1/SignalType';
export type { SourceKind__Output as SourceKind } from './generated/hashhub/v1/SourceKind';
export type { SubmitContributionsResponse__Output as SubmitContributionsResponse } from './generated/hashhub/v1/SubmitContributionsResponse';

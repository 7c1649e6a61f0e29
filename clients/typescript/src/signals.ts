import type { ContributionInput } from './generated/hashhub/v1/ContributionInput';
import type { MatchOutcome } from './generated/hashhub/v1/MatchOutcome';
import type { OutcomeReport } from './generated/hashhub/v1/OutcomeReport';
import type { Signal } from './generated/hashhub/v1/Signal';
import type { SourceKind } from './generated/hashhub/v1/SourceKind';
import type { Timestamp__Output } from './generated/google/protobuf/Timestamp';

/** A PDQ hash (64 hex digits). Contributions need the quality (0-100) the hasher computed; matching does not. */
export function pdq(value: string, quality?: number): Signal {
  return quality === undefined ? { type: 'SIGNAL_TYPE_PDQ', value } : { type: 'SIGNAL_TYPE_PDQ', value, quality };
}

export function md5(value: string): Signal {
  return { type: 'SIGNAL_TYPE_MD5', value };
}

export function sha256(value: string): Signal {
  return { type: 'SIGNAL_TYPE_SHA256', value };
}

export function url(value: string): Signal {
  return { type: 'SIGNAL_TYPE_URL', value };
}

/** Provenance of a takedown; the member and the time are set by the hub. */
export interface TakedownOptions {
  sourceKind?: SourceKind;
  incidentId?: string;
  caseReference?: string;
  note?: string;
}

/** One item of a contribution batch: the signal, its labels from the taxonomy and its provenance. */
export function takedown(signal: Signal, labels: string[], options: TakedownOptions = {}): ContributionInput {
  return {
    signal,
    labels,
    sourceKind: options.sourceKind ?? 'SOURCE_KIND_UPLOAD',
    incidentId: options.incidentId ?? '',
    caseReference: options.caseReference ?? '',
    note: options.note ?? '',
  };
}

/** One outcome report: what this member did about a match. */
export function outcome(signalId: string, kind: MatchOutcome, count = 1, observedAt?: Date): OutcomeReport {
  const report: OutcomeReport = { signalId, outcome: kind, count };
  if (observedAt) {
    const ms = observedAt.getTime();
    report.observedAt = { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
  }
  return report;
}

/** A protobuf timestamp as a Date (millisecond precision). */
export function toDate(timestamp: Timestamp__Output | null | undefined): Date | undefined {
  return timestamp ? new Date(Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000)) : undefined;
}

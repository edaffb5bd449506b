import { Injectable } from '@nestjs/common';
import type { MeshAttempt, MeshAttemptEnd, MeshClientPlugin } from '@datapunk/mesh-client';

/** One attempt as the journal keeps it. */
export interface JournalEntry {
  readonly method: string;
  readonly attempt: number;
  readonly code: string;
  readonly details: string;
  readonly ms: number;
}

/** A demo plugin: keeps every attempt's outcome, for the tour to show what the mesh did. */
@Injectable()
export class AttemptJournal implements MeshClientPlugin {
  readonly name = 'attempt-journal';
  readonly entries: JournalEntry[] = [];

  afterAttempt(attempt: MeshAttempt, end: MeshAttemptEnd): void {
    this.entries.push({ method: attempt.call.method.method, attempt: attempt.attempt, code: end.codeName, details: end.details, ms: end.durationMs });
  }
}

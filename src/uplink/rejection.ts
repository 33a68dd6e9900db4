/**
 * What a refusal of the MES (a 400 or 422, docs/mes-api.md) is about, from its status and
 * body. The reference names no error codes ("the problem found will be reported on the
 * Response Body"), so the body's wording is read here, and only here; the uploader switches
 * on the kind. The body may be plain text (the sandbox) or JSON around the text: the
 * wording is looked for in either.
 */
export type RejectionKind =
  /** A count or waste total not above the one the MES has: re-sent after a crash, or the MES is ahead. */
  | 'not-greater'
  /** A waste code the MES does not know for this machine. */
  | 'unknown-waste'
  /** A parameter code the MES does not know for this machine. */
  | 'unknown-parameter'
  /** A downtime type not assigned to this machine. */
  | 'unknown-downtime-type'
  /** A machine code the MES does not know. */
  | 'unknown-machine'
  /** Any other refusal of the request as it was sent. */
  | 'invalid';

/** Wordings of "not above the total I have" (docs/mes-api.md#where-the-reference-is-silent). */
const NOT_GREATER = /not greater|greater than|must be (higher|incremental)|incremental|lower than|less than/i;
const NOT_FOUND = /not (found|known|assigned)|does not exist|doesn't exist|unknown|no such/i;

/**
 * In order: a "not greater" for a waste quantity names the waste and is still "not
 * greater"; "waste W9 not found for machine M1" names the machine and is about the waste.
 * A status other than 400/422 is no refusal of the item (mes-client.ts): `invalid`.
 */
export function rejectionKind(status: number, body: string): RejectionKind {
  if (status !== 400 && status !== 422) return 'invalid';
  if (NOT_GREATER.test(body)) return 'not-greater';
  if (!NOT_FOUND.test(body)) return 'invalid';
  if (/\bwaste\b/i.test(body)) return 'unknown-waste';
  if (/\bparameter\b/i.test(body)) return 'unknown-parameter';
  if (/\bdowntime[ _-]?type\b/i.test(body)) return 'unknown-downtime-type';
  if (/\bmachine\b/i.test(body)) return 'unknown-machine';
  return 'invalid';
}

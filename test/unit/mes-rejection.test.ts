/**
 * What a MES refusal is about. The reference gives no error format ("the problem found will
 * be reported on the Response Body"): the fixtures are the sandbox's own texts
 * (src/sim/mes-sandbox.ts) and the same problems as a JSON API would wrap them.
 */
import { describe, expect, it } from 'vitest';
import { rejectionKind, type RejectionKind } from '../../src/uplink/rejection.js';

const fixtures: [status: number, body: string, kind: RejectionKind][] = [
  // A re-sent total, or the MES ahead: the sandbox's wording, then others the MES may use.
  [400, 'count 700 is not greater than the current counter 705', 'not-greater'],
  [400, 'waste W1 quantity 5 is not greater than the current quantity 9', 'not-greater'],
  [400, '{"error":"Count must be incremental (always greater than the previous value sent)"}', 'not-greater'],
  [422, '{"errors":{"count":["must be greater than 705"]}}', 'not-greater'],
  [400, '{"message":"The quantity sent (700) is lower than the current counter (705)"}', 'not-greater'],
  [400, '{"short-message":"Counter error","message":"Counter must be higher than the last value"}', 'not-greater'],
  // Codes the MES does not know.
  [400, 'waste W9 not found for machine PRESS01', 'unknown-waste'],
  [400, '{"error":"Waste code W9 does not exist"}', 'unknown-waste'],
  [400, 'parameter speed not found for machine PRESS01', 'unknown-parameter'],
  [400, 'downtime type Lunch is not assigned to machine PRESS01', 'unknown-downtime-type'],
  [400, '{"errors":["downtime-type Lunch unknown"]}', 'unknown-downtime-type'],
  [400, 'machine PRESS99 not found', 'unknown-machine'],
  [422, '{"error":"Machine not found"}', 'unknown-machine'],
  // Anything else wrong with the request.
  [400, 'Invalid JSON', 'invalid'],
  [400, 'count must be a non-negative integer', 'invalid'],
  [400, 'waste W1: quantity must be a non-negative integer', 'invalid'],
  [400, 'waste W1 is listed twice', 'invalid'],
  [400, 'each waste needs a code', 'invalid'],
  [400, 'parameters must be a non-empty list', 'invalid'],
  [400, 'running must be 0 or 1', 'invalid'],
  [400, 'malformed machine code in the path', 'invalid'],
  // An empty body: the client puts the status in its place.
  [400, 'HTTP 400', 'invalid'],
  // Not a refusal of the item at all (a proxy's 404 page).
  [404, 'machine PRESS01 not found', 'invalid'],
];

describe('rejectionKind', () => {
  it.each(fixtures)('%i %s → %s', (status, body, kind) => {
    expect(rejectionKind(status, body)).toBe(kind);
  });
});

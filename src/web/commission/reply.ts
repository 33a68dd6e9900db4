/** What the status server needs of commissioning before its routes load (they load with the first request to them). */
import type { ServerResponse } from 'node:http';
import { sendJson } from '../http-util.js';

export const COMMISSION_PREFIX = '/api/commission/';

/** Errors of the commissioning routes: `{error: {code, message, ...extra}}`. */
export function sendCommissionError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, { error: { code, message, ...extra } });
}

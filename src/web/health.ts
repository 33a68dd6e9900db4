/**
 * GET /healthz rules. Unhealthy means "a person must act", not "something is imperfect":
 * one dead PLC of several, dead letters or a short 429 pause keep the gateway healthy (they
 * are on the page and in /metrics). Each rule gives one human-readable reason.
 */
import { faultLabel, type GatewayStatus } from '../core/status.js';

/** How long the MES may be unreachable before it counts (covers a router reboot or an MES deploy). */
const MES_UNREACHABLE_MS = 60_000;
/** Devices get this long after start to connect before "none connected" counts. */
const DEVICE_GRACE_MS = 60_000;
/** A pending item this old means delivery is stuck even if the MES answers. */
const OUTBOX_STUCK_MS = 15 * 60_000;
/**
 * A 429 pause longer than this holds back every machine's data long enough for someone to
 * ask the MES (or whoever shares the company's limit) why; a minute's pause is routine.
 */
const LONG_PAUSE_MS = 5 * 60_000;

/** Reasons for the fallback share that do not mend themselves, and what a person must do. */
const REMEDY: Record<string, string> = {
  SFG_BUDGET_AUTH: 'fix the password in prodsmart.sharedBudget.redis',
  SFG_BUDGET_TLS: "give the gateway the CA of Redis's certificate with NODE_EXTRA_CA_CERTS",
};

/**
 * Why a gateway that needs no one now is still not as it should be (200 `degraded`): on its
 * fallback share; or the gateways' fallback shares add up to more than the company figure, so
 * that Redis gone for all would exceed it (docs/rate-budget.md#choosing-the-figures).
 */
export function healthDegraded(s: GatewayStatus): string[] {
  const shared = s.budget.shared;
  const degraded = shared?.state === 'fallback' && fallbackProblem(s) === undefined ? [fallbackText(s)] : [];
  const sum = shared?.fallbackSharesPerMinute;
  if (shared && sum !== undefined && sum > shared.companyPerMinute) {
    degraded.push(
      `the fallback shares (prodsmart.requestsPerMinute) of the gateways on ${shared.key} add up to ${sum}/min, more than the company's ${shared.companyPerMinute}/min: with Redis down for all they would exceed it; lower them`,
    );
  }
  return degraded;
}

function fallbackText(s: GatewayStatus): string {
  const shared = s.budget.shared!;
  return `on the fallback share of ${shared.fallbackPerMinute}/min for ${Math.round((s.now - shared.since) / 1000)} s: company budget on ${shared.redis} unavailable (${shared.reason})`;
}

/**
 * On the fallback share, a person must act when the reason does not mend itself (password,
 * certificate) or once it trickles or stopped: the other gateways no longer keep its share
 * free (docs/rate-budget.md#one-gateway-cut-off).
 */
function fallbackProblem(s: GatewayStatus): string | undefined {
  const shared = s.budget.shared;
  if (shared?.state !== 'fallback') return undefined;
  const remedy = REMEDY[shared.reason ?? ''];
  const step = shared.fallbackStep ?? 'share';
  if (step === 'share') return remedy && `${fallbackText(s)}; ${remedy}`;
  const what =
    step === 'trickle'
      ? `sending 1 request per minute instead of its fallback share of ${shared.fallbackPerMinute}/min`
      : 'sending stopped (the outbox keeps everything)';
  const away = s.now - (shared.answeredAt ?? shared.since);
  const awayText = away >= 2 * 3_600_000 ? `${Math.round(away / 3_600_000)} h` : `${Math.round(away / 60_000)} min`;
  return (
    `${what}: the company budget on ${shared.redis} has not answered for ${awayText} (${shared.reason}) and the other gateways no longer keep its share free; ` +
    `${remedy ?? 'reconnect this gateway to Redis'}, or remove prodsmart.sharedBudget and re-divide the shares (with Redis down for every gateway, every gateway is on this)`
  );
}

export function healthProblems(s: GatewayStatus): string[] {
  const problems: string[] = [];

  // First: while the disk takes no writes, what else looks wrong (a stuck outbox) follows from it.
  if (s.storage.state !== 'ok') problems.push(`${faultLabel(s.storage.state)}: ${s.storage.path}${s.storage.lastError ? ` (${s.storage.lastError})` : ''}`);

  if (s.mes.authProblem) problems.push(`MES refused the credentials, sending stopped: ${s.mes.authProblem}`);

  const downFor = s.now - (s.mes.lastOkAt ?? s.startedAt);
  if (s.mes.reachable === false && downFor > MES_UNREACHABLE_MS) {
    problems.push(`MES unreachable for ${Math.round(downFor / 1000)} s${s.mes.lastError ? `: ${s.mes.lastError}` : ''}`);
  }

  const pause = s.mes.rateLimit;
  if (pause && pause.until > s.now && pause.until - pause.since > LONG_PAUSE_MS) {
    const cut = pause.askedMs > pause.until - pause.since ? ` (it asked for ${Math.round(pause.askedMs / 1000)} s, cut to ${pause.capMs / 60_000} min)` : '';
    problems.push(`sending paused by the MES (429) until ${new Date(pause.until).toISOString()}${cut}`);
  }

  const connected = s.devices.some((d) => d.state === 'connected');
  if (s.devices.length > 0 && !connected && s.now - s.startedAt > DEVICE_GRACE_MS) {
    const list = s.devices.map((d) => `${d.id} (${d.state}${d.lastError ? `: ${d.lastError}` : ''})`);
    problems.push(`no device connected: ${list.join(', ')}`);
  }

  const fallback = fallbackProblem(s);
  if (fallback) problems.push(fallback);

  if (s.config.errors.length > 0) {
    problems.push(`configuration reload failed, the previous configuration keeps running: ${s.config.errors.join('; ')}`);
  }

  const oldest = s.outbox.oldestPendingAt;
  if (s.outbox.pending > 0 && oldest !== undefined && s.now - oldest > OUTBOX_STUCK_MS) {
    problems.push(`outbox stuck: the oldest of ${s.outbox.pending} pending items has waited ${Math.round((s.now - oldest) / 60_000)} min`);
  }
  return problems;
}

/**
 * undici's keep-alive Agent and its `request`, loaded without undici's index: the index also
 * loads fetch, WebSocket, EventSource, the caches, the mock agents and the proxy agents (110
 * modules; these two pull in 45), which the gateway never uses and which stay in its memory
 * (bench/footprint: ~2 MB of heap, 2–4 MB of RSS). dist/ also leaves out the Agent's HTTP/2
 * client and node:http2 with it (scripts/build.js): an Agent made here must say `allowH2: false`.
 */
import type { Agent, Dispatcher } from 'undici';

export interface UndiciRequest {
  Agent: typeof Agent;
  /** As undici's top-level `request(url, { dispatcher, ... })`, on `dispatcher`. */
  request(dispatcher: Dispatcher, url: string, opts: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>): Promise<Dispatcher.ResponseData>;
}

export async function loadUndiciRequest(): Promise<UndiciRequest> {
  // Both files are CommonJS: their exports object is the default export (in dist/'s bundle a
  // lazily imported CommonJS module has no named exports, scripts/build.js).
  const [{ default: AgentClass }, { default: request }] = await Promise.all([
    import('undici/lib/dispatcher/agent.js'),
    import('undici/lib/api/api-request.js'),
  ]);
  return {
    Agent: AgentClass,
    request(dispatcher, url, opts) {
      // What undici's index does with a URL before it calls the dispatcher's `request`.
      const { origin, pathname, search } = new URL(url);
      return request.call(dispatcher, { ...opts, origin, path: pathname + search });
    },
  };
}

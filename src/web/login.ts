/**
 * The login form used when web.token is set: POST /login with the token starts a session,
 * POST /logout ends it. Wrong tokens are charged to the client (login-throttle.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Auth } from './auth.js';
import { clientAddress, viaHttps } from './client.js';
import { readBody, redirect, sendText } from './http-util.js';
import type { LoginThrottle } from './login-throttle.js';

const HTML = 'text/html; charset=utf-8';

export async function handleLogin(req: IncomingMessage, res: ServerResponse, auth: Auth, throttle: LoginThrottle): Promise<void> {
  if (req.method !== 'POST') return sendText(res, 200, page(''), HTML);
  const client = clientAddress(req);
  const form = new URLSearchParams(await readBody(req, 4096));
  const lockedMs = throttle.lockedFor(client);
  if (lockedMs > 0) {
    const seconds = retryAfterSeconds(lockedMs);
    res.setHeader('retry-after', String(seconds));
    return sendText(res, 429, page(`Too many wrong tokens from this address. Try again in ${seconds} s.`), HTML);
  }
  if (auth.isToken(form.get('token') ?? '')) {
    throttle.succeeded(client);
    return redirect(res, '/', { 'set-cookie': auth.startSession(viaHttps(req)) });
  }
  throttle.failed(client);
  sendText(res, 401, page('That token is not right.'), HTML);
}

export function handleLogout(req: IncomingMessage, res: ServerResponse, auth: Auth): void {
  redirect(res, '/login', { 'set-cookie': auth.endSession(req, viaHttps(req)) });
}

/** Retry-After in whole seconds, never 0 while still locked. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function page(message: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shopfloor gateway — log in</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
</head>
<body class="login">
<form method="post" action="/login" class="card login-form">
  <h1>Shopfloor gateway</h1>
  <label for="token">Access token (web.token in gateway.yaml)</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  ${message ? `<p class="error" role="alert">${message}</p>` : ''}
  <button type="submit">Log in</button>
</form>
</body>
</html>
`;
}

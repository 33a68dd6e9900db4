/** The login form used when web.token is set: POST /login with the token sets the session cookie. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Auth } from './auth.js';
import { readBody, redirect, sendText } from './http-util.js';

const HTML = 'text/html; charset=utf-8';

export async function handleLogin(req: IncomingMessage, res: ServerResponse, auth: Auth, log: Logger): Promise<void> {
  if (req.method !== 'POST') return sendText(res, 200, page(''), HTML);
  const form = new URLSearchParams(await readBody(req, 4096));
  if (auth.isToken(form.get('token') ?? '')) return redirect(res, '/', { 'set-cookie': auth.sessionCookie() });
  log.warn({ remote: req.socket.remoteAddress }, 'status page login refused: wrong token');
  sendText(res, 401, page('That token is not right.'), HTML);
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

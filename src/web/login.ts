/**
 * The login form used when web.token is set: POST /login with the token starts a session,
 * POST /logout ends it. Wrong tokens are charged to the client (login-throttle.ts).
 *
 * The form is written in English from page/lang/en.login.json, each text marked with its
 * data-i18n key (and params), and loads the page's i18n.js, which puts it in the browser's
 * language: one set of dictionaries for the server and the page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Auth } from './auth.js';
import { clientAddress, viaHttps } from './client.js';
import { readBody, redirect, sendText } from './http-util.js';
import type { LoginThrottle } from './login-throttle.js';
import type { StaticFiles } from './static.js';

const HTML = 'text/html; charset=utf-8';

/** The English login texts: key → text with {name} placeholders (the login area has no plural forms). */
export type LoginTexts = Record<string, string>;

/** The English texts of the login form, from the page's dictionaries served beside it. */
export function loginTexts(files: StaticFiles): LoginTexts {
  const read = (path: string): LoginTexts => JSON.parse(files.get(path)?.body.toString('utf8') ?? '{}');
  return { ...read('/lang/en.common.json'), ...read('/lang/en.login.json') };
}

interface Message {
  key: string;
  params?: Record<string, string | number>;
}

export async function handleLogin(req: IncomingMessage, res: ServerResponse, auth: Auth, throttle: LoginThrottle, texts: LoginTexts): Promise<void> {
  const page = (message?: Message) => loginPage(texts, message);
  if (req.method !== 'POST') return sendText(res, 200, page(), HTML);
  const client = clientAddress(req);
  const form = new URLSearchParams(await readBody(req, 4096));
  const lockedMs = throttle.lockedFor(client);
  if (lockedMs > 0) {
    const seconds = retryAfterSeconds(lockedMs);
    res.setHeader('retry-after', String(seconds));
    return sendText(res, 429, page({ key: 'login.locked', params: { seconds } }), HTML);
  }
  if (auth.isToken(form.get('token') ?? '')) {
    throttle.succeeded(client);
    return redirect(res, '/', { 'set-cookie': auth.startSession(viaHttps(req)) });
  }
  throttle.failed(client);
  sendText(res, 401, page({ key: 'login.wrong' }), HTML);
}

export function handleLogout(req: IncomingMessage, res: ServerResponse, auth: Auth): void {
  redirect(res, '/login', { 'set-cookie': auth.endSession(req, viaHttps(req)) });
}

/** Retry-After in whole seconds, never 0 while still locked. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

// Our own dictionary texts, but a translator's quote or ampersand must not break the form.
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `<tag attrs>` holding the English text of the message, marked with its key for i18n.js. */
function element(tag: string, attrs: string, texts: LoginTexts, { key, params }: Message): string {
  const filled = (texts[key] ?? key).replace(/\{(\w+)\}/g, (whole, name: string) => String(params?.[name] ?? whole));
  const paramsAttr = params ? ` data-i18n-params="${escapeHtml(JSON.stringify(params))}"` : '';
  return `<${tag}${attrs} data-i18n="${key}"${paramsAttr}>${escapeHtml(filled)}</${tag}>`;
}

function loginPage(texts: LoginTexts, message?: Message): string {
  const el = (tag: string, attrs: string, key: string) => element(tag, attrs, texts, { key });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${el('title', '', 'login.title')}
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
<script type="module" src="/login.js"></script>
</head>
<body class="login">
<form method="post" action="/login" class="card login-form">
  <h1>Shopfloor gateway</h1>
  ${el('label', ' for="token"', 'login.token')}
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  ${message ? element('p', ' class="error" role="alert"', texts, message) : ''}
  ${el('button', ' type="submit"', 'login.submit')}
  <select class="language" data-i18n-switcher data-i18n-attrs="aria-label:common.language" aria-label="${escapeHtml(texts['common.language'] ?? 'Language')}"></select>
</form>
</body>
</html>
`;
}

// The commissioning page's words: fixed text as elements the i18n framework translates again
// when the language changes (data-i18n), and a route's error in the technician's words.
import { h, setText } from './dom.js';
import { t } from './i18n.js';

/** A span showing `key`; a language switch re-translates it in place (i18n.js translate()). */
export const L = (key, params) => h('span', { 'data-i18n': key, 'data-i18n-params': params && JSON.stringify(params) }, t(key, params));

/** `placeholder` (or another attribute) from `key`, kept translated like L. */
export const attr = (name, key) => ({ [name]: t(key), 'data-i18n-attrs': `${name}:${key}` });

const KNOWN = new Set([
  'SFG_COMMISSION_OFF',
  'SFG_COMMISSION_TOKEN',
  'SFG_COMMISSION_SESSION',
  'SFG_COMMISSION_ORIGIN',
  'SFG_COMMISSION_CSRF',
  'SFG_COMMISSION_INVALID',
  'SFG_COMMISSION_CONFLICT',
  'SFG_COMMISSION_NOT_FOUND',
  'SFG_COMMISSION_UNAVAILABLE',
  'NETWORK',
]);

/** A message to show with say(): a key of the dictionary and its params. */
export const msg = (key, params) => ({ key, params });

/**
 * Shows `m` in `el`: a msg() stays a key on the element, so a language switch translates it
 * again; a plain string (text from outside, such as a route's message) is shown as it is.
 */
export function say(el, m) {
  if (m !== null && typeof m === 'object') {
    el.dataset.i18n = m.key;
    if (m.params) el.dataset.i18nParams = JSON.stringify(m.params);
    else delete el.dataset.i18nParams;
    setText(el, t(m.key, m.params));
    return;
  }
  delete el.dataset.i18n;
  delete el.dataset.i18nParams;
  setText(el, m ?? '');
}

/** A route's error for say(): known codes have their own sentence; any other is the route's message with its code. */
export function errorText(err) {
  if (KNOWN.has(err.code)) return msg(`commission.error.${err.code}`);
  return `${err.message} (${err.code ?? 'error'})`;
}

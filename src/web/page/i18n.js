// The page's languages: dictionaries in lang/<lang>.<area>.json, t(key, params), locale
// formatting and the language switcher. No build step: each page loads the areas it shows.
//
// A dictionary is a flat JSON object, keys start with their area ("status.mes.reachable").
// A value is a string with {name} placeholders, or, for a count, an object of plural forms
// chosen by Intl.PluralRules ({ "one": "{count} machine", "other": "{count} machines" };
// Polish needs one/few/many/other, Chinese only other) and selected by params.count.
// Static HTML says data-i18n="key" (text), data-i18n-attrs="title:key,aria-label:key" and
// data-i18n-params='{"seconds":5}'. What is outside data (machine codes, protocol names, MES
// answers, YAML keys, event names) never goes through t().

/** Endonyms: each language is named in itself, so they are not in any dictionary. */
export const LANGUAGES = {
  en: { name: 'English', locale: 'en' },
  pl: { name: 'Polski', locale: 'pl' },
  zh: { name: '中文', locale: 'zh-CN' },
};
const FALLBACK = 'en';
const STORAGE_KEY = 'sfg.lang';

let current = FALLBACK;
let areas = ['common'];
/** key → value of the chosen language, and of English for the fallback. */
let chosen = {};
let english = {};
const missing = new Set();
const listeners = new Set();

/** The language: the one picked on the page earlier, else the browser's first we have, else English. */
function detect() {
  const stored = readStored();
  if (stored in LANGUAGES) return stored;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const primary = String(tag).toLowerCase().split('-')[0];
    if (primary in LANGUAGES) return primary;
  }
  return FALLBACK;
}

// localStorage throws where storage is disabled; the page then just forgets the choice.
function readStored() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

async function load(lang) {
  const parts = await Promise.all(
    areas.map(async (area) => {
      const res = await fetch(`/lang/${lang}.${area}.json`);
      if (!res.ok) throw new Error(`lang/${lang}.${area}.json: HTTP ${res.status}`);
      return res.json();
    }),
  );
  return Object.assign({}, ...parts);
}

/**
 * Loads the dictionaries of `pageAreas` (plus `common`) in the detected language and English,
 * translates the static HTML and binds every `select[data-i18n-switcher]`. Await before rendering.
 */
export async function initI18n(pageAreas) {
  areas = ['common', ...pageAreas];
  english = await load(FALLBACK);
  await use(detect());
  for (const select of document.querySelectorAll('select[data-i18n-switcher]')) bindSwitcher(select);
}

async function use(lang) {
  chosen = lang === FALLBACK ? english : await load(lang);
  current = lang;
  missing.clear();
  document.documentElement.lang = LANGUAGES[lang].locale;
  document.documentElement.removeAttribute('data-i18n-missing');
  translate(document);
}

/** Switches, remembers the choice and tells the listeners (who re-render their dynamic text). */
export async function setLanguage(lang) {
  if (!(lang in LANGUAGES) || lang === current) return;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // storage disabled: the choice lasts until the page is left
  }
  await use(lang);
  for (const select of document.querySelectorAll('select[data-i18n-switcher]')) select.value = lang;
  for (const listener of listeners) listener(lang);
}

export const onLanguageChange = (listener) => listeners.add(listener);
export const language = () => current;
export const locale = () => LANGUAGES[current].locale;

function bindSwitcher(select) {
  select.replaceChildren(...Object.entries(LANGUAGES).map(([code, { name }]) => new Option(name, code, false, code === current)));
  select.addEventListener('change', () => setLanguage(select.value));
}

/** A key missing from the chosen language: said once on the console and marked on <html>. */
function reportMissing(key) {
  if (missing.has(key)) return;
  missing.add(key);
  console.warn(`i18n: "${key}" is missing in ${current}${key in english ? ', shown in English' : ''}`);
  document.documentElement.setAttribute('data-i18n-missing', [...missing].join(' '));
}

function lookup(key) {
  if (key in chosen) return chosen[key];
  reportMissing(key);
  return english[key] ?? key;
}

/** The text of `key` in the chosen language, {name} replaced by params (numbers formatted). */
export function t(key, params = {}) {
  let value = lookup(key);
  if (typeof value === 'object' && value !== null) {
    const form = new Intl.PluralRules(locale()).select(Number(params.count));
    value = value[form] ?? value.other;
  }
  return String(value).replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in params)) return whole;
    const v = params[name];
    return typeof v === 'number' ? number(v) : String(v);
  });
}

/** Whether the chosen language marks `el` as holding a missing key (for its data-i18n-missing). */
function mark(el, key) {
  if (key in chosen) return;
  el.setAttribute('data-i18n-missing', key);
}

/** Translates data-i18n / data-i18n-attrs under `root` (and root itself); call after building elements. */
export function translate(root) {
  const els = root.querySelectorAll ? [...root.querySelectorAll('[data-i18n], [data-i18n-attrs]')] : [];
  if (root.matches?.('[data-i18n], [data-i18n-attrs]')) els.unshift(root);
  for (const el of els) {
    el.removeAttribute('data-i18n-missing');
    const params = el.dataset.i18nParams ? JSON.parse(el.dataset.i18nParams) : {};
    const key = el.dataset.i18n;
    if (key) {
      const text = t(key, params);
      if (el.textContent !== text) el.textContent = text;
      mark(el, key);
    }
    for (const pair of (el.dataset.i18nAttrs ?? '').split(',').filter(Boolean)) {
      const [attr, attrKey] = pair.split(':').map((p) => p.trim());
      el.setAttribute(attr, t(attrKey, params));
      mark(el, attrKey);
    }
  }
  return root;
}

/** A number in the chosen locale: "12 840" and "2,5" in Polish; integers as such, else up to 3 decimals. */
export function number(v, options = { maximumFractionDigits: 3 }) {
  if (typeof v !== 'number') return String(v);
  return new Intl.NumberFormat(locale(), options).format(v);
}

/** Hours and minutes of the day, 24-hour clock. */
export const clock = (at) => new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);

/** Date and time, for a tooltip. */
export const stamp = (at) => new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'medium' }).format(at);

// Unit words from the dictionaries, not Intl's: its short English hour is "hr", the page's "h".
const unit = (count, u) => t(`common.unit.${u}`, { count });

/** "4 s", "12 min", "3 h 5 min", "2 d 4 h", in the chosen language's unit words. */
export function duration(ms) {
  const sec = Math.max(0, Math.round(ms / 1000));
  if (sec < 60) return unit(sec, 'second');
  const min = Math.floor(sec / 60);
  if (min < 60) return unit(min, 'minute');
  const hours = Math.floor(min / 60);
  if (hours < 48) return min % 60 ? t('common.duration.pair', { a: unit(hours, 'hour'), b: unit(min % 60, 'minute') }) : unit(hours, 'hour');
  return t('common.duration.pair', { a: unit(Math.floor(hours / 24), 'day'), b: unit(hours % 24, 'hour') });
}

/** "5 s ago"; a dash where there is no time. */
export const ago = (at, now) => (at === undefined || at === null ? '—' : t('common.ago', { duration: duration(now - at) }));

/** The page's dictionaries (src/web/page/lang/<lang>.<area>.json): complete, consistent, with every plural form a language needs. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../src/web/page/lang/', import.meta.url);
type Value = string | Record<string, string>;
type Dictionary = Record<string, Value>;

const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
const read = (name: string): Dictionary => JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
const areas = [...new Set(names.map((n) => n.split('.')[1]))];
const languages = [...new Set(names.map((n) => n.split('.')[0]))];
const others = languages.filter((l) => l !== 'en');
const placeholders = (v: Value) => new Set((typeof v === 'string' ? [v] : Object.values(v)).flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1])));

describe('page dictionaries', () => {
  it('are named <lang>.<area>.json, each area in every language', () => {
    for (const name of names) expect(name).toMatch(/^[a-z]{2}\.[a-z]+\.json$/);
    expect(languages.sort()).toEqual(['en', 'pl', 'zh']);
    expect(areas).toEqual(expect.arrayContaining(['common', 'status', 'login', 'commission']));
    for (const area of areas) expect(names.filter((n) => n.endsWith(`.${area}.json`)).sort()).toEqual(languages.map((l) => `${l}.${area}.json`).sort());
  });

  it.each(areas)('%s: every key of en is in pl and zh, and nothing else; keys start with their area', (area) => {
    const en = read(`en.${area}.json`);
    for (const key of Object.keys(en)) expect(key.startsWith(`${area}.`), key).toBe(true);
    for (const lang of others) expect(Object.keys(read(`${lang}.${area}.json`)).sort(), `${lang}.${area}.json`).toEqual(Object.keys(en).sort());
  });

  it.each(areas)('%s: a translation fills the same placeholders as the English text', (area) => {
    const en = read(`en.${area}.json`);
    for (const lang of others) {
      for (const [key, value] of Object.entries(read(`${lang}.${area}.json`))) {
        expect([...placeholders(value)].sort(), `${lang} ${key}`).toEqual([...placeholders(en[key])].sort());
      }
    }
  });

  it.each(areas)('%s: a count has exactly the plural forms of each language (Intl.PluralRules)', (area) => {
    const en = read(`en.${area}.json`);
    for (const lang of languages) {
      const forms = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
      for (const [key, value] of Object.entries(read(`${lang}.${area}.json`))) {
        expect(typeof value, `${lang} ${key}`).toBe(typeof en[key]);
        if (typeof value === 'object') expect(Object.keys(value).sort(), `${lang} ${key}`).toEqual([...forms].sort());
      }
    }
  });

  it('says 1 maszyna, 2 maszyny, 5 maszyn, 22 maszyny, 12 maszyn', () => {
    const forms = read('pl.status.json')['status.machines.count'] as Record<string, string>;
    const rules = new Intl.PluralRules('pl');
    const text = (n: number) => forms[rules.select(n)].replace('{count}', String(n));
    expect([1, 2, 5, 22, 12].map(text)).toEqual(['1 maszyna', '2 maszyny', '5 maszyn', '22 maszyny', '12 maszyn']);
  });
});

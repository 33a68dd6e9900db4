/** prodsmart.sharedBudget: the company budget on Redis (docs/configuration.md). */
import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configError, configFixture, problems, validDevice } from '../helpers/config-fixture.js';

/** gateway.yaml with `shared` (lines indented by two, under prodsmart) after requestsPerMinute. */
const gatewayWith = (shared: string) => (dir: string) => ({
  'gateway.yaml': [
    'prodsmart:',
    '  auth: { apiKey: "${KEY}", apiSecret: "${SECRET}" }',
    '  requestsPerMinute: 30',
    `${shared}devices: ${dir}/devices`,
    '',
  ].join('\n'),
  'devices/press.yaml': validDevice,
});
const env = { KEY: 'k', SECRET: 's', REDIS_PASSWORD: 'Hunter2Redis' };

describe('prodsmart.sharedBudget', () => {
  it('loads redis, key and the company figure, with the password from ${ENV}', () => {
    const f = configFixture(gatewayWith(''));
    expect(loadConfig(f.gatewayFile, { env }).gateway.prodsmart.sharedBudget).toBeUndefined();
    const g = configFixture(gatewayWith('  sharedBudget:\n    redis: redis://:${REDIS_PASSWORD}@10.0.0.5:6379\n    key: acme\n    requestsPerMinute: 115\n'));
    const loaded = loadConfig(g.gatewayFile, { env });
    expect(loaded.gateway.prodsmart.sharedBudget).toEqual({ redis: 'redis://:Hunter2Redis@10.0.0.5:6379', key: 'acme', requestsPerMinute: 115 });
    expect(loaded.gateway.prodsmart.requestsPerMinute).toBe(30);
    expect(loaded.warnings).toEqual([]);
  });

  it('takes rediss:// for TLS and refuses any other scheme, a bad key and a company figure past 120, each by its path', () => {
    const ok = configFixture(gatewayWith('  sharedBudget: { redis: "rediss://redis.plant.local:6380", key: acme, requestsPerMinute: 120 }\n'));
    expect(loadConfig(ok.gatewayFile, { env }).gateway.prodsmart.sharedBudget?.redis).toBe('rediss://redis.plant.local:6380');
    const bad = configFixture(gatewayWith('  sharedBudget: { redis: "http://10.0.0.5:6379", key: "acme corp", requestsPerMinute: 121 }\n'));
    expect(problems(bad, env).map((p) => [p.path, p.message])).toEqual([
      ['prodsmart.sharedBudget.redis', 'expected a redis:// or rediss:// URL, got "http://10.0.0.5:6379"'],
      ['prodsmart.sharedBudget.key', 'expected a name of 1 to 64 letters, digits, "_", "." or "-" (one budget per company), got "acme corp"'],
      ['prodsmart.sharedBudget.requestsPerMinute', 'expected 120 or less, got 121'],
    ]);
    const missing = configFixture(gatewayWith('  sharedBudget: { redis: "redis://10.0.0.5" }\n'));
    expect(problems(missing, env).map((p) => p.path)).toEqual(['prodsmart.sharedBudget.key', 'prodsmart.sharedBudget.requestsPerMinute']);
  });

  it('wants the fallback share written out and no larger than the company figure: with Redis gone every gateway sends it at once', () => {
    const shared = '  sharedBudget: { redis: "redis://10.0.0.5", key: acme, requestsPerMinute: 60 }\n';
    const unsaid = configFixture((dir) => ({
      'gateway.yaml': ['prodsmart:', '  auth: { apiKey: "${KEY}", apiSecret: "${SECRET}" }', `${shared}devices: ${dir}/devices`, ''].join('\n'),
      'devices/press.yaml': validDevice,
    }));
    const message = configError(unsaid, env).message;
    expect(message).toContain('prodsmart.requestsPerMinute');
    expect(message).toContain('must add up to at most 60');
    const larger = configFixture((dir) => ({
      'gateway.yaml': [
        'prodsmart:',
        '  auth: { apiKey: "${KEY}", apiSecret: "${SECRET}" }',
        '  requestsPerMinute: 61',
        `${shared}devices: ${dir}/devices`,
        '',
      ].join('\n'),
      'devices/press.yaml': validDevice,
    }));
    expect(problems(larger, env).map((p) => [p.path, p.line, p.message])).toEqual([
      ['prodsmart.requestsPerMinute', 3, "at most the company's 60 (sharedBudget.requestsPerMinute): this fallback share is part of it"],
    ]);
    // Without sharedBudget the gateway is the company's only one: 100 when left out.
    const alone = configFixture((dir) => ({
      'gateway.yaml': ['prodsmart:', '  auth: { apiKey: "${KEY}", apiSecret: "${SECRET}" }', `devices: ${dir}/devices`, ''].join('\n'),
      'devices/press.yaml': validDevice,
    }));
    expect(loadConfig(alone.gatewayFile, { env }).gateway.prodsmart.requestsPerMinute).toBe(100);
  });

  it('never echoes the password of a Redis URL it refuses', () => {
    const f = configFixture(gatewayWith('  sharedBudget: { redis: "redis://:Hunter2Redis@10.0.0.5:6379 x", key: acme, requestsPerMinute: 115 }\n'));
    const message = configError(f, env).message;
    expect(message).toContain('prodsmart.sharedBudget.redis');
    expect(message).not.toContain('Hunter2Redis');
  });

  it('warns about a Redis password written in clear in a file others can read, without showing it', () => {
    const f = configFixture(gatewayWith('  sharedBudget: { redis: "redis://:Hunter2Redis@10.0.0.5:6379", key: acme, requestsPerMinute: 115 }\n'));
    chmodSync(f.gatewayFile, 0o644);
    const warnings = loadConfig(f.gatewayFile, { env }).warnings;
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('holds a secret in clear (prodsmart.sharedBudget.redis)')]);
    expect(JSON.stringify(warnings)).not.toContain('Hunter2Redis');
    const viaEnv = configFixture(gatewayWith('  sharedBudget: { redis: "redis://:${REDIS_PASSWORD}@10.0.0.5:6379", key: acme, requestsPerMinute: 115 }\n'));
    chmodSync(viaEnv.gatewayFile, 0o644);
    expect(loadConfig(viaEnv.gatewayFile, { env }).warnings).toEqual([]);
  });
});

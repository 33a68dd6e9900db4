import { describe, expect, it } from 'vitest';
import { MASK, maskSecrets, unmaskSecrets } from '../../src/web/commission/mask.js';

const device = `device: broker-1
protocol: mqtt
connection:
  url: mqtt://127.0.0.1:1883
  username: line   # the line's account
  password: s3cret-Pa55
machines:
  - code: M1
    count: { topic: line/count }
`;

describe('secrets in commissioning YAML', () => {
  it('masks a secret written in clear and keeps everything else as written', () => {
    const masked = maskSecrets(device);
    expect(masked).not.toContain('s3cret-Pa55');
    expect(masked).toBe(device.replace('s3cret-Pa55', JSON.stringify(MASK)));
  });

  it('leaves an ${ENV} reference: it names no secret', () => {
    const text = device.replace('s3cret-Pa55', '${MQTT_PASSWORD}');
    expect(maskSecrets(text)).toBe(text);
  });

  it('masks the default of an ${ENV} reference, and a save that keeps it masked keeps the default', () => {
    const text = device.replace('s3cret-Pa55', '${MQTT_PASSWORD:-fallback-Pa55}');
    const shown = maskSecrets(text);
    expect(shown).not.toContain('fallback-Pa55');
    expect(shown).toContain(`password: ${JSON.stringify(`\${MQTT_PASSWORD:-${MASK}}`)}`);
    expect(unmaskSecrets(shown, text)).toEqual({ text, missing: [] });
  });

  it('masks a file the YAML parser refuses, line by line', () => {
    const broken = `${device}  - code: [oops\n`;
    const masked = maskSecrets(broken);
    expect(masked).not.toContain('s3cret-Pa55');
    expect(masked).toContain(`password: ${JSON.stringify(MASK)}`);
  });

  it('puts the saved secret back where the page left the mask, and keeps a secret the page typed', () => {
    const edited = maskSecrets(device).replace('line/count', 'line/good');
    expect(unmaskSecrets(edited, device)).toEqual({ text: device.replace('line/count', 'line/good'), missing: [] });
    const retyped = edited.replace(JSON.stringify(MASK), 'new-pass');
    expect(unmaskSecrets(retyped, device).text).toContain('password: new-pass');
  });

  it('names a mask that has no saved secret to stand for', () => {
    expect(unmaskSecrets(maskSecrets(device), undefined).missing).toEqual(['connection.password']);
  });
});

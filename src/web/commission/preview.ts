/**
 * What saving an edited device file would do, without doing it: its problems (the checks of
 * `validate`), the diff against the file on disk, and the MES bodies its mapping would send.
 */
import { createTwoFilesPatch } from 'diff';
import { checkDeviceText, type LoadedDevice } from '../../config/load.js';
import type { DeviceConfig } from '../../config/schema.js';
import type { DeviceFiles } from './device-files.js';
import { maskSecrets, unmaskSecrets } from './mask.js';

/** A request the gateway would send to the MES; shown, never sent. */
export interface MesBodyPreview {
  endpoint: 'counter' | 'parameters' | 'startstop';
  machine: string;
  /** Below the MES's base URL: `/api/machines/<code>/<endpoint>`. */
  path: string;
  body: unknown;
  /** What the example stands for ("a stop with reason 3"). */
  note: string;
}

/**
 * The bodies a valid device's mapping would send, with example values, built by the
 * uplink's own body builders: the gateway passes it in (web may not import src/uplink).
 */
export type MesBodyPreviewer = (device: DeviceConfig) => MesBodyPreview[];

export interface PreviewProblem {
  line: number;
  column: number;
  path: string;
  message: string;
  code: string;
}

export interface Preview {
  problems: PreviewProblem[];
  /** Unified diff, secrets masked on both sides; '' when nothing changed. */
  diff: string;
  mesBodies: MesBodyPreview[];
}

/** The edited text with its secrets back, its problems, and the device when it has none; what both preview and save need. */
export function checkEdit(
  files: DeviceFiles,
  others: readonly LoadedDevice[],
  file: string,
  yaml: string,
): { text: string; problems: PreviewProblem[]; device?: DeviceConfig } {
  const { text, missing } = unmaskSecrets(yaml, files.read(file));
  const checked = checkDeviceText(files.path(file), text, others);
  const problems: PreviewProblem[] = checked.problems.map(({ line, column, path, message, code }) => ({ line, column, path, message, code }));
  for (const path of missing) {
    problems.push({ line: 0, column: 0, path, message: 'a masked secret with none saved to keep: type it, or write it as ${ENV}', code: 'SFG_CONFIG_SCHEMA' });
  }
  return { text, problems, ...(problems.length === 0 && checked.config ? { device: checked.config } : {}) };
}

export function preview(files: DeviceFiles, others: readonly LoadedDevice[], previewer: MesBodyPreviewer, file: string, yaml: string): Preview {
  const { text, problems, device } = checkEdit(files, others, file, yaml);
  const before = maskSecrets(files.read(file) ?? '');
  const after = maskSecrets(text);
  const diff = before === after ? '' : createTwoFilesPatch(files.read(file) === undefined ? '/dev/null' : `a/${file}`, `b/${file}`, before, after);
  return { problems, diff, mesBodies: device ? previewer(device) : [] };
}

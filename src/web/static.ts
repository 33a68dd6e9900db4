/**
 * The page's files (src/web/page/ and its dictionaries in page/lang/), read once at start. Only
 * files found there are served, by exact name, so no request path ever reaches the file system.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/** Folders of the page served besides its top level (one level deep, no more). */
const SUBDIRS = ['lang'];

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

export type StaticFiles = Map<string, StaticFile>;

/** Files of `dir` and its SUBDIRS keyed by URL path (`/app.js`, `/lang/pl.status.json`). */
export async function loadStatic(dir: URL): Promise<StaticFiles> {
  const files: StaticFiles = new Map();
  for (const prefix of ['', ...SUBDIRS.map((d) => `${d}/`)]) {
    for (const name of await readdir(new URL(prefix, dir))) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      const body = await readFile(new URL(prefix + name, dir));
      files.set(`/${prefix}${name}`, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url')}"` });
    }
  }
  return files;
}

/** Answers from memory; `no-cache` + ETag so a tablet revalidates and gets a new page after an upgrade. */
export function serveStatic(req: IncomingMessage, res: ServerResponse, file: StaticFile): void {
  const headers = { 'content-type': file.type, 'cache-control': 'no-cache', etag: file.etag };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': file.body.length }).end(file.body);
}

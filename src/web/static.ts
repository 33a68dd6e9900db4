/**
 * The page's files (src/web/page/ and its dictionaries in page/lang/). Their names are listed
 * at start and only those are served, by exact name, so no request path ever reaches the file
 * system. Each file is read and hashed at its first request, not on the way to listening
 * (bench/startup), then answered from memory.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
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

class StaticFile {
  #body?: Buffer;
  #etag?: string;
  constructor(
    private readonly url: URL,
    readonly type: string,
  ) {}

  get body(): Buffer {
    this.#body ??= readFileSync(this.url);
    return this.#body;
  }

  get etag(): string {
    this.#etag ??= `"${createHash('sha1').update(this.body).digest('base64url')}"`;
    return this.#etag;
  }
}

export type StaticFiles = Map<string, StaticFile>;

/** Files of `dir` and its SUBDIRS keyed by URL path (`/app.js`, `/lang/pl.status.json`). */
export function loadStatic(dir: URL): StaticFiles {
  const files: StaticFiles = new Map();
  for (const prefix of ['', ...SUBDIRS.map((d) => `${d}/`)]) {
    for (const name of readdirSync(new URL(prefix, dir))) {
      const type = TYPES[extname(name)];
      if (type) files.set(`/${prefix}${name}`, new StaticFile(new URL(prefix + name, dir), type));
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

/**
 * The base of the gateway's own errors, in undici's style: `code` is a stable string that
 * callers switch on (the message is for people and may be reworded), `cause` the error
 * underneath. Each area declares its codes as a union and a subclass that narrows `code`
 * (`ConfigError`, `StorageOpenError`, `OpcuaConnectError`, ...). Codes start with `SFG_`.
 */
export class GatewayError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The stable code of any error: ours, undici's (`UND_ERR_*`), Node's (`ECONNREFUSED`), SQLite's; else undefined. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}
